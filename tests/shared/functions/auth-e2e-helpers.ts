/**
 * Shared pieces of the signup/login end-to-end tests: a dev server per MIGRATION_MODE (real
 * HTTP, the real Auth stand-in, real Better Auth, one in-memory PGlite), rollout switching through
 * runtime_flags, the response contract, and reads of both user stores and the bookkeeping tables.
 *
 * The stand-in runs the hosted profile with "Confirm email" on, as a new supabase.com project:
 * a signup answers without a session and a confirmation mail lands in `auth.mailbox`. A story
 * that needs a signed-in user goes through the real flow — signUpConfirmed(): signup, click the
 * mail's link (GET /auth/v1/verify), log in — never an admin shortcut.
 */
import assert from "node:assert/strict";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { RuntimeFlagsStore } from "../../../shared/flags/store.ts";
import { type DevServer, startDevServer } from "../../../local/standin/dev-server.ts";
import type { FunctionRegistry } from "../../../local/standin/functions-gateway.ts";
import { Mailbox } from "../../../local/standin/auth/confirmation.ts";
import type { RateLimitSettings, StandinProfile } from "../../../local/standin/profile.ts";

/** Meets the default policy (8+ characters) with room to spare; never a real secret. */
export const GOOD_PASSWORD = "Correct-Horse-42";
/** Seeded by the dev server's legacy-users seeder as user 1 (bcrypt, cost 10). */
export const DEMO = { email: "demo@example.com", password: "password123" } as const;

export type Mode = "supabase_only" | "dual_write" | "better_auth_only";

/** One mode × primary combination of the migration guide, as dev-server environment. */
export interface ModeSetup {
  readonly label: string;
  readonly mode: Mode;
  readonly betterAuthPrimary: boolean;
  /** Which systems a signup through the abstracted path must write. */
  readonly writes: { readonly supabase: boolean; readonly betterAuth: boolean };
  readonly env: Readonly<Record<string, string>>;
}

export const MODE_SETUPS: readonly ModeSetup[] = [
  {
    label: "supabase_only",
    mode: "supabase_only",
    betterAuthPrimary: false,
    writes: { supabase: true, betterAuth: false },
    env: { MIGRATION_MODE: "supabase_only" },
  },
  {
    label: "dual_write, Supabase primary",
    mode: "dual_write",
    betterAuthPrimary: false,
    writes: { supabase: true, betterAuth: true },
    env: { MIGRATION_MODE: "dual_write", USE_BETTER_AUTH: "false" },
  },
  {
    label: "dual_write, USE_BETTER_AUTH=true",
    mode: "dual_write",
    betterAuthPrimary: true,
    writes: { supabase: true, betterAuth: true },
    env: { MIGRATION_MODE: "dual_write", USE_BETTER_AUTH: "true", MIGRATION_VALIDATION: "true" },
  },
  {
    label: "better_auth_only",
    mode: "better_auth_only",
    betterAuthPrimary: true,
    writes: { supabase: false, betterAuth: true },
    env: { MIGRATION_MODE: "better_auth_only" },
  },
];

export interface AuthServer {
  readonly server: DevServer;
  readonly url: string;
  /** supabase-js with the anon key, as a mobile or web client holds it. */
  readonly client: SupabaseClient;
  readonly flags: RuntimeFlagsStore;
  /** The confirmation mails the Auth stand-in sent (local/standin/auth/confirmation.ts). */
  readonly mailbox: Mailbox;
  close(): Promise<void>;
}

export interface AuthServerOptions {
  /** Persist the database here (to restart in another mode on the same data); default memory. */
  readonly dataDir?: string;
  readonly functionRegistry?: FunctionRegistry;
  /** The stand-in's defaults (local/standin/profile.ts); default `hosted`, as in production. */
  readonly profile?: StandinProfile;
  /**
   * The project's "Confirm email" setting. Default on, the hosted default: signups answer
   * without a session until the address is confirmed (signUpConfirmed does it as a user would).
   */
  readonly confirmEmail?: boolean;
  /** Auth's per-IP limits; default GoTrue's (local/standin/profile.ts). */
  readonly rateLimits?: RateLimitSettings;
}

/**
 * A dev server whose runtime flags are read on every request (FLAGS_CACHE_TTL_MS=0), so a
 * rollout change applies to the very next request. One legacy user is seeded (demo@example.com).
 */
export async function startAuthServer(
  env: Readonly<Record<string, string>>,
  options: AuthServerOptions = {},
): Promise<AuthServer> {
  const mailbox = new Mailbox();
  const server = await startDevServer({
    port: 0,
    dataDir: options.dataDir ?? null,
    seedUsers: 1,
    cron: false,
    log: () => {},
    functionRegistry: options.functionRegistry,
    profile: options.profile ?? "hosted",
    auth: {
      autoconfirm: !(options.confirmEmail ?? true),
      rateLimits: options.rateLimits,
      mailbox,
    },
    env: {
      LOG_LEVEL: Deno.env.get("AUTH_E2E_LOG_LEVEL") ?? "error",
      FLAGS_CACHE_TTL_MS: "0",
      ...env,
    },
  });
  const client = createClient(server.url, server.keys.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
  return {
    server,
    url: server.url,
    client,
    flags: new RuntimeFlagsStore(server.sql),
    mailbox,
    close: () => server.close(),
  };
}

/**
 * Serves signups through the original path at rollout 0 % (`supabase_only`: the signup stage set
 * directly) or gives the stage back to the env seed (null). From dual_write on, the stage pins
 * every signup to the abstracted path (shared/cutover/stages.ts), so a test of the original
 * signup needs this.
 */
export async function setSignupStage(auth: AuthServer, stage: "supabase_only" | null) {
  await auth.server.sql.query(`DELETE FROM migration_stages WHERE function_name = 'signup'`);
  if (stage) {
    await auth.server.sql.query(
      `INSERT INTO migration_stages (function_name, stage) VALUES ('signup', $1)`,
      [stage],
    );
  }
}

/**
 * The user opens the newest confirmation mail sent to `email` and clicks its link: GET
 * /auth/v1/verify, 303 to the site with a session in the fragment (supabase/auth verify.go).
 */
export async function clickConfirmationLink(auth: AuthServer, email: string): Promise<void> {
  const mail = auth.mailbox.latest(email);
  assert.ok(mail, `a confirmation mail to ${email}`);
  const response = await fetch(mail.link, { redirect: "manual" });
  await response.body?.cancel();
  assert.equal(response.status, 303, "the link redirects");
  const fragment = new URLSearchParams(new URL(response.headers.get("location")!).hash.slice(1));
  assert.ok(fragment.get("access_token"), `confirmed: ${fragment.get("error_description")}`);
}

/** Runs the sync appliers once (migrate-batch admin/sync/apply): changes reach the other side. */
export async function applySync(auth: AuthServer): Promise<void> {
  const response = await fetch(`${auth.url}/functions/v1/migrate-batch/admin/sync/apply`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${auth.server.keys.serviceRoleKey}`,
      "Content-Type": "application/json",
    },
    body: JSON.stringify({}),
  });
  assert.equal(response.status, 200, await response.text());
}

export interface NewUser {
  readonly email: string;
  readonly password?: string;
  readonly metadata?: Record<string, unknown>;
}

/**
 * A signed-in user made the way a user makes one on hosted Supabase: the signup function
 * (answering without a session), the confirmation link, the sync appliers (the confirmation
 * reaches Better Auth), then the login function. Returns the signup answer and the login's.
 */
export async function signUpConfirmed(
  auth: AuthServer,
  user: NewUser,
): Promise<{ signup: AwaitingConfirmation; login: AuthSuccess }> {
  const password = user.password ?? GOOD_PASSWORD;
  const signup = await callFunction(auth, "signup", {
    email: user.email,
    password,
    ...(user.metadata ? { metadata: user.metadata } : {}),
  });
  assert.equal(signup.status, 200, JSON.stringify(signup.body));
  const pending = assertAwaitingConfirmation(signup.body, user);
  await clickConfirmationLink(auth, user.email);
  await applySync(auth);
  const login = await callFunction(auth, "login", { email: user.email, password });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  return {
    signup: pending,
    login: assertAuthContract(login.body, { email: user.email, metadata: user.metadata }),
  };
}

/** Routes signup and login (and optionally others) to the abstracted path for `percentage` %. */
export async function setRollout(
  auth: AuthServer,
  percentage: number,
  functions: readonly string[] = ["signup", "login"],
): Promise<void> {
  for (const name of functions) {
    const stored = await auth.flags.upsert(name, { rolloutPercentage: percentage }, {
      updatedBy: "e2e test",
    });
    assert.ok(stored.ok, `rollout of ${name} stored`);
  }
}

/**
 * Declares the migration complete through the sync admin route (shared/sync/routes.ts): from
 * then on Better Auth re-hashes bcrypt to scrypt on login and hashes new passwords with scrypt.
 */
export async function declareMigrationComplete(auth: AuthServer): Promise<void> {
  const response = await fetch(`${auth.url}/functions/v1/migrate-batch/admin/sync/complete`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${auth.server.keys.serviceRoleKey}`,
      "Content-Type": "application/json",
    },
    body: JSON.stringify({ confirm: true }),
  });
  assert.equal(response.status, 200, await response.text());
}

let emailCounter = 0;
/** A fresh address per call (lower case, as the functions store it). */
export function uniqueEmail(tag: string): string {
  emailCounter += 1;
  return `${tag}-${emailCounter}-${crypto.randomUUID().slice(0, 8)}@example.com`;
}

export interface CallResult {
  readonly status: number;
  readonly headers: Headers;
  // deno-lint-ignore no-explicit-any
  readonly body: any;
}

export interface RawBody {
  readonly raw: string | Uint8Array<ArrayBuffer>;
  readonly contentType?: string;
}

let clientCounter = 0;
/**
 * A distinct client address (TEST-NET-2/3, RFC 5737) per call: on Supabase the gateway puts each
 * caller's own IP in X-Forwarded-For, and Auth's per-IP limits (hosted profile) must see those,
 * not the function's one address.
 */
export function nextClientIp(): string {
  clientCounter += 1;
  return `${clientCounter % 2 ? "198.51.100" : "203.0.113"}.${(clientCounter >> 1) % 254 + 1}`;
}

/**
 * POSTs to `/functions/v1/<name>` with the anon key, as supabase-js does, and reads JSON. Each
 * call comes from its own client address unless `headers` names one.
 */
export async function callFunction(
  auth: AuthServer,
  name: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<CallResult> {
  const raw = isRawBody(body) ? body : null;
  const response = await fetch(`${auth.url}/functions/v1/${name}`, {
    method: "POST",
    headers: {
      apikey: auth.server.keys.anonKey,
      Authorization: `Bearer ${auth.server.keys.anonKey}`,
      "Content-Type": raw?.contentType ?? "application/json",
      "X-Forwarded-For": nextClientIp(),
      ...headers,
    },
    body: raw ? raw.raw : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Left as text: the assertion that follows will show it.
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

function isRawBody(body: unknown): body is RawBody {
  return body !== null && typeof body === "object" && "raw" in body;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** `x-request-id` is always there; `x-migration-path` names the path that answered. */
export function assertMigrationHeaders(
  headers: Headers,
  path: "original" | "abstracted" | "none",
): void {
  assert.match(headers.get("x-request-id") ?? "", UUID, "x-request-id");
  assert.equal(headers.get("x-migration-path"), path, "x-migration-path");
}

export interface AuthSuccess {
  readonly user: {
    readonly id: string;
    readonly email: string;
    readonly user_metadata: Record<string, unknown>;
    readonly created_at: string;
  };
  readonly session: {
    readonly access_token: string;
    readonly refresh_token: string;
    readonly token_type: string;
    readonly expires_in: number;
    readonly expires_at: number;
  };
}

/**
 * The one response contract of signup and login, whichever path and backend answered: exactly
 * these keys, a session, the metadata the client sent.
 */
export function assertAuthContract(
  body: unknown,
  expected: { email: string; metadata?: Record<string, unknown> },
): AuthSuccess {
  const result = body as AuthSuccess;
  assert.deepEqual(Object.keys(result).sort(), ["session", "user"], JSON.stringify(body));
  assert.deepEqual(Object.keys(result.user).sort(), ["created_at", "email", "id", "user_metadata"]);
  assert.match(result.user.id, UUID);
  assert.equal(result.user.email, expected.email);
  assert.equal(typeof result.user.user_metadata, "object");
  for (const [key, value] of Object.entries(expected.metadata ?? {})) {
    assert.deepEqual(result.user.user_metadata[key], value, `user_metadata.${key}`);
  }
  assert.ok(!Number.isNaN(Date.parse(result.user.created_at)), "created_at is a date");
  assert.notEqual(result.session, null, "a session");
  assert.deepEqual(Object.keys(result.session).sort(), [
    "access_token",
    "expires_at",
    "expires_in",
    "refresh_token",
    "token_type",
  ]);
  assert.equal(result.session.token_type, "bearer");
  assert.equal(result.session.access_token.split(".").length, 3, "access token is a JWT");
  assert.ok(result.session.refresh_token.length > 0, "refresh token");
  assert.ok(Number.isInteger(result.session.expires_in) && result.session.expires_in > 0);
  const now = Math.floor(Date.now() / 1000);
  assert.ok(
    Math.abs(result.session.expires_at - (now + result.session.expires_in)) < 120,
    "expires_at = now + expires_in",
  );
  return result;
}

export interface AwaitingConfirmation {
  readonly user: AuthSuccess["user"];
  readonly session: null;
}

/**
 * A signup with "Confirm email" on: the contract's keys, the user the client sent, `session:
 * null` — the same shape whether the address was new or already registered (no enumeration).
 */
export function assertAwaitingConfirmation(
  body: unknown,
  expected: { email: string; metadata?: Record<string, unknown> },
): AwaitingConfirmation {
  const result = body as AwaitingConfirmation;
  assert.deepEqual(Object.keys(result).sort(), ["session", "user"], JSON.stringify(body));
  assert.deepEqual(Object.keys(result.user).sort(), ["created_at", "email", "id", "user_metadata"]);
  assert.match(result.user.id, UUID);
  assert.equal(result.user.email, expected.email);
  for (const [key, value] of Object.entries(expected.metadata ?? {})) {
    assert.deepEqual(result.user.user_metadata[key], value, `user_metadata.${key}`);
  }
  assert.ok(!Number.isNaN(Date.parse(result.user.created_at)), "created_at is a date");
  assert.equal(result.session, null, "no session before the email is confirmed");
  return result;
}

/** The error body of the contract: `{ error: { code, message, details? } }`. */
export function assertErrorCode(result: CallResult, status: number, code: string): void {
  assert.equal(result.status, status, JSON.stringify(result.body));
  assert.equal(result.body?.error?.code, code, JSON.stringify(result.body));
  assert.equal(typeof result.body.error.message, "string");
}

/** The field names a 4xx names, from `details: [{ path }]`. */
export function errorPaths(result: CallResult): string[] {
  const details = result.body?.error?.details;
  return Array.isArray(details) ? details.map((detail: { path: string }) => detail.path) : [];
}

export interface StoredIds {
  readonly supabase: string[];
  readonly betterAuth: string[];
}

/** The ids stored for `email` in auth.users (Supabase) and "user" (Better Auth). */
export async function idsByEmail(auth: AuthServer, email: string): Promise<StoredIds> {
  const supabase = await auth.server.sql.query<{ id: string }>(
    "SELECT id::text AS id FROM auth.users WHERE lower(email) = lower($1)",
    [email],
  );
  const betterAuth = await auth.server.sql.query<{ id: string }>(
    `SELECT id::text AS id FROM "user" WHERE lower(email) = lower($1)`,
    [email],
  );
  return {
    supabase: supabase.rows.map((row) => row.id),
    betterAuth: betterAuth.rows.map((row) => row.id),
  };
}

/** Asserts the user is stored exactly where `where` says, under `id` in every system. */
export async function assertStoredIn(
  auth: AuthServer,
  email: string,
  id: string,
  where: { supabase: boolean; betterAuth: boolean },
): Promise<void> {
  const ids = await idsByEmail(auth, email);
  assert.deepEqual(ids.supabase, where.supabase ? [id] : [], `auth.users for ${email}`);
  assert.deepEqual(ids.betterAuth, where.betterAuth ? [id] : [], `Better Auth "user" for ${email}`);
}

export interface StatusRow {
  readonly supabase_migrated: boolean;
  readonly better_auth_migrated: boolean;
  readonly data_validated: boolean;
  readonly supabase_migrated_at: Date | null;
  readonly better_auth_migrated_at: Date | null;
  readonly validated_at: Date | null;
  readonly email: string;
}

export async function migrationStatus(auth: AuthServer, userId: string): Promise<StatusRow | null> {
  const { rows } = await auth.server.sql.query<StatusRow>(
    `SELECT email, supabase_migrated, better_auth_migrated, data_validated,
            supabase_migrated_at, better_auth_migrated_at, validated_at
       FROM user_migration_status WHERE user_id = $1::uuid`,
    [userId],
  );
  return rows[0] ?? null;
}

/** user_migration_status agrees with where the user is stored (flags and their timestamps). */
export async function assertStatusMatches(
  auth: AuthServer,
  userId: string,
  where: { supabase: boolean; betterAuth: boolean },
): Promise<StatusRow> {
  const status = await migrationStatus(auth, userId);
  assert.ok(status, `user_migration_status row for ${userId}`);
  assert.equal(status.supabase_migrated, where.supabase, "supabase_migrated");
  assert.equal(status.better_auth_migrated, where.betterAuth, "better_auth_migrated");
  assert.equal(status.supabase_migrated_at !== null, where.supabase, "supabase_migrated_at");
  assert.equal(
    status.better_auth_migrated_at !== null,
    where.betterAuth,
    "better_auth_migrated_at",
  );
  return status;
}

export async function migratedVia(auth: AuthServer, userId: string): Promise<string[]> {
  const { rows } = await auth.server.sql.query<{ migrated_via: string }>(
    "SELECT migrated_via FROM migrated_users WHERE new_auth_id = $1::uuid",
    [userId],
  );
  return rows.map((row) => row.migrated_via);
}

/** Every table a signup or login may write; compared before/after a refused request. */
const WRITTEN_TABLES = [
  "auth.users",
  "auth.identities",
  "auth.sessions",
  "auth.refresh_tokens",
  `"user"`,
  "account",
  "session",
  "user_migration_status",
  "migrated_users",
  "auth_divergences",
  "auth_signup_claims",
  "auth_rate_limits",
] as const;

export async function rowCounts(auth: AuthServer): Promise<Record<string, number>> {
  const { rows } = await auth.server.sql.query<Record<string, number>>(
    `SELECT ${
      WRITTEN_TABLES.map((table, i) => `(SELECT count(*) FROM ${table})::int AS t${i}`).join(", ")
    }`,
  );
  const row = rows[0]!;
  return Object.fromEntries(WRITTEN_TABLES.map((table, i) => [table, Number(row[`t${i}`])]));
}

/** GET /functions/v1/coordinator/agents with a user's access token. */
export async function callCoordinator(auth: AuthServer, accessToken: string): Promise<number> {
  const response = await fetch(`${auth.url}/functions/v1/coordinator/agents`, {
    headers: { apikey: auth.server.keys.anonKey, Authorization: `Bearer ${accessToken}` },
  });
  await response.body?.cancel();
  return response.status;
}

/** The issuer a token names (which system signed it), read without verifying. */
export function tokenIssuer(accessToken: string): string {
  const payload = accessToken.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/");
  return (JSON.parse(atob(payload)) as { iss: string }).iss;
}
