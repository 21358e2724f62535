/**
 * Real auth stacks for the auth tests: one migrated database (PGlite or PostgreSQL 15) holding
 * Supabase's auth schema, Better Auth's tables and the tracking tables; the Supabase Auth
 * stand-in served over HTTP on it; Better Auth on it; and broken backends that fail for real
 * (a closed port, a server that never answers, a database that is gone).
 */
import { Hono } from "hono";
import {
  type AccessTokenSigning,
  type AccessTokenVerifierConfig,
  DEFAULT_BETTER_AUTH_ISSUER,
} from "../../../shared/auth/access-tokens.ts";
import { createBetterAuth } from "../../../shared/auth/better-auth.ts";
import { BetterAuthService } from "../../../shared/auth/better-auth-service.ts";
import { DivergenceRepository } from "../../../shared/auth/divergences.ts";
import {
  DualWriteAuthService,
  type DualWriteSettings,
} from "../../../shared/auth/dual-write-auth-service.ts";
import type { AuthEvent } from "../../../shared/auth/events.ts";
import { MigrationStatusRepository } from "../../../shared/auth/migration-status.ts";
import { DEFAULT_PASSWORD_POLICY } from "../../../shared/auth/password-policy.ts";
import { LoginRateLimiter, type RateLimitSettings } from "../../../shared/auth/rate-limiter.ts";
import { SignupClaims } from "../../../shared/auth/signup-claims.ts";
import { SupabaseAuthService } from "../../../shared/auth/supabase-auth-service.ts";
import { UserSync } from "../../../shared/auth/user-sync.ts";
import { SystemOfRecord } from "../../../shared/identity/system-of-record.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import type { CompletionSource } from "../../../shared/sync/completion.ts";
import { openPostgres } from "../../../shared/db/postgres-client.ts";
import { createAuthApi } from "../../../local/standin/auth/app.ts";
import { AUTH_SCHEMA_URL } from "../../../local/standin/database.ts";
import { createStandinKeys, type StandinKeys } from "../../../local/standin/keys.ts";
import { freshPglite, freshPostgres } from "../../helpers/db.ts";

export const BETTER_AUTH_SECRET = "test-better-auth-secret-with-at-least-32-chars";
export const TOKEN_SECRET = "test-access-token-secret-0123456789abcdef";

export type Provider = "pglite" | "postgres";

export interface Backend {
  readonly url: string;
  close(): Promise<void>;
}

/** The Supabase Auth stand-in over HTTP on `db`. */
export function serveStandin(db: SqlClient, keys: StandinKeys): Backend {
  const abort = new AbortController();
  const app = new Hono();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: abort.signal, onListen: () => {} },
    (request, info) => app.fetch(request, info),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  app.route("/auth/v1", createAuthApi({ sql: db, keys, issuer: `${url}/auth/v1` }));
  return {
    url,
    close: async () => {
      abort.abort();
      await server.finished;
    },
  };
}

/** An address nothing listens on: every request fails at once (connection refused). */
export function closedPort(): Backend {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return { url: `http://127.0.0.1:${port}`, close: () => Promise.resolve() };
}

/** A server that accepts requests and never answers (until closed): every request times out. */
export function hangingServer(): Backend {
  const abort = new AbortController();
  const release = new Promise<Response>((resolve) =>
    abort.signal.addEventListener("abort", () => resolve(new Response(null, { status: 503 })))
  );
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: abort.signal, onListen: () => {} },
    () => release,
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: async () => {
      abort.abort();
      await server.finished;
    },
  };
}

/** A TCP port that accepts connections and never says a word: a database that hangs. */
export function blackHoleTcp(): Backend & { port: number } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const conn of listener) connections.push(conn);
    } catch { /* closed */ }
  })();
  const { port } = listener.addr as Deno.NetAddr;
  return {
    port,
    url: `postgres://nobody@127.0.0.1:${port}/none`,
    close: () => {
      listener.close();
      for (const conn of connections) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      return Promise.resolve();
    },
  };
}

export async function openDatabase(provider: Provider): Promise<SqlClient> {
  const db = provider === "pglite" ? await freshPglite() : await freshPostgres();
  await db.exec(await Deno.readTextFile(AUTH_SCHEMA_URL));
  return db;
}

export function tokenSigning(): AccessTokenSigning {
  return { secret: TOKEN_SECRET, issuer: DEFAULT_BETTER_AUTH_ISSUER, ttlSeconds: 3600 };
}

export function verifierConfig(keys: StandinKeys): AccessTokenVerifierConfig {
  return {
    betterAuth: { secret: TOKEN_SECRET, issuer: DEFAULT_BETTER_AUTH_ISSUER },
    supabase: { jwtSecret: keys.jwtSecret },
  };
}

export function betterAuthOn(
  db: SqlClient,
  keys: StandinKeys,
  events?: (e: AuthEvent) => void,
  completion?: CompletionSource,
) {
  const auth = createBetterAuth({
    db,
    secret: BETTER_AUTH_SECRET,
    passwordPolicy: DEFAULT_PASSWORD_POLICY,
  });
  return new BetterAuthService({
    auth,
    db,
    signing: tokenSigning(),
    tokens: verifierConfig(keys),
    passwordPolicy: DEFAULT_PASSWORD_POLICY,
    events,
    completion,
  });
}

export function supabaseAt(
  url: string,
  keys: StandinKeys,
  db?: SqlClient,
  requestTimeoutMs = 3000,
) {
  return new SupabaseAuthService({
    url,
    anonKey: keys.anonKey,
    serviceKey: keys.serviceRoleKey,
    sql: db,
    passwordPolicy: DEFAULT_PASSWORD_POLICY,
    tokens: verifierConfig(keys),
    requestTimeoutMs,
  });
}

/** Better Auth over a PostgreSQL that never answers: every call hangs (for timeouts). */
export function hangingBetterAuth(keys: StandinKeys, hole: { port: number }) {
  const db = openPostgres({
    url: `postgres://nobody@127.0.0.1:${hole.port}/none`,
    max: 2,
    connectTimeoutSeconds: 2,
  });
  return { service: betterAuthOn(db, keys), db };
}

/** Better Auth over a PostgreSQL port that refuses connections: every call fails at once. */
export function downBetterAuth(keys: StandinKeys) {
  const port = new URL(closedPort().url).port;
  const db = openPostgres({ url: `postgres://nobody@127.0.0.1:${port}/none`, max: 1 });
  return { service: betterAuthOn(db, keys), db };
}

export interface Stack {
  readonly db: SqlClient;
  readonly keys: StandinKeys;
  readonly standin: Backend;
  readonly supabase: SupabaseAuthService;
  readonly betterAuth: BetterAuthService;
  readonly status: MigrationStatusRepository;
  readonly divergences: DivergenceRepository;
  readonly events: AuthEvent[];
  /** A DualWriteAuthService over this stack; backends may be swapped for broken ones. */
  service(
    settings: Partial<DualWriteSettings>,
    override?: {
      supabase?: SupabaseAuthService;
      betterAuth?: BetterAuthService;
      rateLimits?: RateLimitSettings;
    },
  ): DualWriteAuthService;
  sync(): UserSync;
  close(): Promise<void>;
}

export const BASE_SETTINGS: DualWriteSettings = {
  mode: "dual_write",
  useBetterAuth: false,
  validation: true,
  fallbackTimeoutMs: 2000,
  canary: {
    enabled: false,
    percentage: 0,
    selection: "user_id_hash",
    whitelist: [],
    emailDomains: [],
  },
  passwordPolicy: DEFAULT_PASSWORD_POLICY,
  failureFloorMs: 0,
};

export async function openStack(
  provider: Provider,
  options: { requestTimeoutMs?: number } = {},
): Promise<Stack> {
  const db = await openDatabase(provider);
  const keys = await createStandinKeys();
  const standin = serveStandin(db, keys);
  const events: AuthEvent[] = [];
  const sink = (event: AuthEvent) => events.push(event);
  const supabase = supabaseAt(standin.url, keys, db, options.requestTimeoutMs);
  const betterAuth = betterAuthOn(db, keys, sink);
  const status = new MigrationStatusRepository(db);
  const divergences = new DivergenceRepository(db);
  const services: DualWriteAuthService[] = [];
  return {
    db,
    keys,
    standin,
    supabase,
    betterAuth,
    status,
    divergences,
    events,
    service(settings, override = {}) {
      const merged = { ...BASE_SETTINGS, ...settings };
      const service = new DualWriteAuthService(merged, {
        supabase: override.supabase ?? supabase,
        betterAuth: override.betterAuth ?? betterAuth,
        status,
        divergences,
        rateLimiter: new LoginRateLimiter(db, override.rateLimits),
        claims: new SignupClaims(db),
        tokens: verifierConfig(keys),
        events: sink,
        identity: new SystemOfRecord({
          mode: merged.mode,
          useBetterAuth: merged.useBetterAuth,
          supabase: true,
          betterAuth: true,
        }, { db }),
      });
      services.push(service);
      return service;
    },
    sync() {
      return new UserSync({ supabase, betterAuth, status, divergences, mode: "dual_write" });
    },
    async close() {
      await Promise.all(services.map((service) => service.drain()));
      await standin.close();
      await db.close();
    },
  };
}

/** Rows in each system for an email (to prove "written only where it should"). */
export async function presence(db: SqlClient, email: string) {
  const supabase = await db.query<{ id: string }>(
    `SELECT id::text AS id FROM auth.users WHERE lower(email) = lower($1)`,
    [email],
  );
  const betterAuth = await db.query<{ id: string }>(
    `SELECT id::text AS id FROM "user" WHERE email = lower($1)`,
    [email],
  );
  return {
    supabase: supabase.rows.map((row) => row.id),
    betterAuth: betterAuth.rows.map((row) => row.id),
  };
}

let counter = 0;
/** A unique email per call (tests share one database per file). */
export function email(label = "user"): string {
  return `${label}.${Date.now().toString(36)}.${++counter}@example.com`;
}

export const PASSWORD = "correct-horse-battery";
