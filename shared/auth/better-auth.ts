/**
 * The Better Auth instance, configured over the shared database and our schema
 * (migrations/20261123000300_better_auth_schema.sql).
 *
 * Decisions that matter for the migration:
 * - generateId is a FUNCTION (random UUID), not "uuid". With "uuid" Better Auth leaves ids to the
 *   database and only keeps an id passed to it when it matches a v1–v5 UUID pattern; with a
 *   function it keeps whatever id the caller set. So a user created here for an existing
 *   Supabase user keeps the Supabase id (tests/shared/auth/better-auth.test.ts checks it).
 * - Passwords: verify accepts Supabase's bcrypt and Better Auth's scrypt; new hashes are bcrypt
 *   until the migration is declared complete, then scrypt (passwords.ts, call scope).
 *   A successful bcrypt verification is noted in the call scope so the caller can re-hash.
 * - The call scope (AsyncLocalStorage) carries what one server-API call needs to tell the hooks
 *   (the id to create the user under) and to learn from them (the session created, the legacy
 *   hash verified), without another database round trip.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { betterAuth } from "better-auth";
import type { SqlClient } from "../db/sql-client.ts";
import { redactSecrets, redactString } from "../observability/redact.ts";
import { kyselyFor } from "./better-auth-database.ts";
import { betterAuthPlugins, type BetterAuthPluginSetup } from "./better-auth-plugins.ts";
import type { PasswordPolicy } from "./password-policy.ts";
import { hashPassword, isLegacyHash, type NewPasswordFormat, verifyPassword } from "./passwords.ts";

export interface CapturedSession {
  readonly id: string;
  readonly token: string;
  readonly userId: string;
  readonly expiresAt: Date;
}

/** What one server-API call shares with Better Auth's hooks. */
export interface BetterAuthCallScope {
  /** The id the user being created must get. */
  userId?: string;
  /** Set by the session.create hook. */
  session?: CapturedSession;
  /** Set when a bcrypt hash verified in this call: the caller re-hashes it to scrypt. */
  verifiedLegacyHash?: string;
  /**
   * How a password set in this call is hashed (passwords.ts). Unset: bcrypt, which Supabase can
   * import, so a caller that does not know whether the migration is complete loses nothing.
   */
  newPasswordFormat?: NewPasswordFormat;
}

const callScope = new AsyncLocalStorage<BetterAuthCallScope>();

/** Runs `fn` with a fresh call scope and returns both. */
export async function inCallScope<T>(
  initial: BetterAuthCallScope,
  fn: () => Promise<T>,
): Promise<{ value: T; scope: BetterAuthCallScope }> {
  const scope: BetterAuthCallScope = { ...initial };
  const value = await callScope.run(scope, fn);
  return { value, scope };
}

export interface BetterAuthSetup {
  readonly db: SqlClient;
  /** BETTER_AUTH_SECRET (≥ 32 characters). */
  readonly secret: string;
  /** BETTER_AUTH_URL; only used for links Better Auth would build (none in our flows). */
  readonly baseURL?: string;
  readonly passwordPolicy: PasswordPolicy;
  /** Lifetime of a Better Auth session = of our refresh token. Default 7 days. */
  readonly sessionTtlSeconds?: number;
  /** Default: JSON lines on stderr. */
  readonly log?: BetterAuthLogSink;
  /** Admin, anonymous, phone-number and two-factor plugins (better-auth-plugins.ts). */
  readonly plugins?: BetterAuthPluginSetup;
}

const SEVEN_DAYS_S = 7 * 24 * 3600;
const EMAIL_IN_TEXT = /[^\s@()<>"',;:]+@[^\s@()<>"',;:]+/g;

/** Where Better Auth's own log lines go (the project logger fits). */
export interface BetterAuthLogSink {
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

const consoleLogSink: BetterAuthLogSink = {
  warn: (message, fields) =>
    console.warn(JSON.stringify({ level: "warn", msg: message, ...fields })),
  error: (message, fields) =>
    console.error(JSON.stringify({ level: "error", msg: message, ...fields })),
};

/**
 * Better Auth's log lines, with secrets and email addresses removed. A unique violation while
 * creating a user is a lost signup race, which the service answers with user_already_exists:
 * a warning, not an error.
 */
function betterAuthLogger(sink: BetterAuthLogSink) {
  const scrub = (text: string) => redactString(text).replace(EMAIL_IN_TEXT, "[email]");
  return (level: string, message: string, ...args: unknown[]) => {
    const safeArgs = JSON.parse(
      scrub(JSON.stringify(redactSecrets(args, { extraKeys: ["email"] }))),
    );
    const lostRace = /duplicate key value/.test(JSON.stringify(safeArgs));
    const fields = { source: "better-auth", args: safeArgs };
    if (level === "error" && !lostRace) sink.error(scrub(message), fields);
    else sink.warn(scrub(message), fields);
  };
}

export function createBetterAuth(setup: BetterAuthSetup) {
  return betterAuth({
    secret: setup.secret,
    baseURL: setup.baseURL ?? "http://localhost",
    database: { db: kyselyFor(setup.db), type: "postgres", transaction: true },
    telemetry: { enabled: false },
    plugins: betterAuthPlugins(setup.plugins),
    // Our rate limiter is database-backed (rate-limiter.ts); Better Auth's only guards its HTTP
    // handler, which we do not mount.
    rateLimit: { enabled: false },
    logger: { level: "error", log: betterAuthLogger(setup.log ?? consoleLogSink) },
    emailAndPassword: {
      enabled: true,
      autoSignIn: true,
      requireEmailVerification: false,
      minPasswordLength: setup.passwordPolicy.minLength,
      maxPasswordLength: setup.passwordPolicy.maxBytes,
      password: {
        hash: (password) => hashPassword(password, callScope.getStore()?.newPasswordFormat),
        verify: async ({ hash, password }) => {
          const valid = await verifyPassword(hash, password);
          const scope = callScope.getStore();
          if (valid && scope && isLegacyHash(hash)) scope.verifiedLegacyHash = hash;
          return valid;
        },
      },
    },
    session: {
      expiresIn: setup.sessionTtlSeconds ?? SEVEN_DAYS_S,
      cookieCache: { enabled: false },
    },
    user: {
      additionalFields: {
        userMetadata: { type: "json", required: false, defaultValue: {}, input: true },
        appMetadata: { type: "json", required: false, defaultValue: {}, input: false },
      },
    },
    advanced: {
      database: { generateId: () => crypto.randomUUID() },
    },
    databaseHooks: {
      user: {
        create: {
          before: (user) => {
            const id = callScope.getStore()?.userId;
            return Promise.resolve(id ? { data: { ...user, id } } : undefined);
          },
        },
      },
      session: {
        create: {
          after: (session) => {
            const scope = callScope.getStore();
            if (scope) {
              scope.session = {
                id: String(session.id),
                token: session.token,
                userId: String(session.userId),
                expiresAt: new Date(session.expiresAt),
              };
            }
            return Promise.resolve();
          },
        },
      },
    },
  });
}

export type BetterAuthInstance = ReturnType<typeof createBetterAuth>;
