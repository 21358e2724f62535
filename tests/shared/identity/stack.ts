/**
 * One local stack per database for the login-rule matrix: the Supabase Auth stand-in at /auth/v1
 * (switchable to "down": every Auth request answers 503, as a GoTrue outage does) and the real
 * function apps of every MIGRATION_MODE × USE_BETTER_AUTH setup, each at /m<i>/functions/v1/*,
 * all on ONE database (PGlite or PostgreSQL 15) — the dev server's wiring (devServerEnv, the app
 * container over the shared SqlClient, the functions gateway), so one process serves the whole
 * matrix and routing is changed through runtime_flags (FLAGS_CACHE_TTL_MS=0).
 * Auth runs the hosted profile ("Confirm email" on; mails land in `mailbox`) without GoTrue's
 * per-IP limits: every request of the matrix comes from this one process, and those limits have
 * their own tests (tests/local/standin/auth/hosted-profile.test.ts, login rate-limit e2e).
 */
import { Hono } from "hono";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { loadConfig } from "../../../shared/config/env.ts";
import { createAppContainer } from "../../../shared/di/app-container.ts";
import { registerAuth } from "../../../shared/auth/register.ts";
import type { Container } from "../../../shared/di/container.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { RuntimeFlagsStore } from "../../../shared/flags/store.ts";
import { createAuthApi } from "../../../local/standin/auth/app.ts";
import { Mailbox } from "../../../local/standin/auth/confirmation.ts";
import { devServerEnv } from "../../../local/standin/dev-server.ts";
import {
  FunctionsGateway,
  loadFunctionRegistry,
} from "../../../local/standin/functions-gateway.ts";
import { createStandinKeys, type StandinKeys } from "../../../local/standin/keys.ts";
import { openDatabase, type Provider } from "../auth/harness.ts";

export interface ModeApp {
  readonly label: string;
  readonly mode: "supabase_only" | "dual_write" | "better_auth_only";
  readonly useBetterAuth: boolean;
  /** supabase-js pointed at this setup (functions.invoke reaches its functions). */
  readonly client: SupabaseClient;
}

export interface IdentityStack {
  readonly db: SqlClient;
  readonly keys: StandinKeys;
  readonly url: string;
  /** supabase-js with the service-role key: the Supabase dashboard / admin API. */
  readonly admin: SupabaseClient;
  /** supabase-js with the anon key, straight to Auth: what a user's app calls. */
  readonly anon: SupabaseClient;
  /** The confirmation mails Auth sent. */
  readonly mailbox: Mailbox;
  readonly flags: RuntimeFlagsStore;
  readonly apps: readonly ModeApp[];
  setAuthDown(down: boolean): void;
  close(): Promise<void>;
}

export const SETUPS = [
  { label: "supabase_only", mode: "supabase_only", useBetterAuth: false },
  { label: "dual_write", mode: "dual_write", useBetterAuth: false },
  { label: "dual_write+USE_BETTER_AUTH", mode: "dual_write", useBetterAuth: true },
  { label: "better_auth_only", mode: "better_auth_only", useBetterAuth: false },
] as const;

function stripPrefix(request: Request, prefix: string): Request {
  const url = new URL(request.url);
  url.pathname = url.pathname.slice(prefix.length) || "/";
  return new Request(url, request);
}

export async function startIdentityStack(provider: Provider): Promise<IdentityStack> {
  const db = await openDatabase(provider);
  const keys = await createStandinKeys();
  const abort = new AbortController();
  const app = new Hono();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: abort.signal, onListen: () => {} },
    (request, info) => app.fetch(request, info),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  let authDown = false;
  const mailbox = new Mailbox();
  const auth = createAuthApi({
    sql: db,
    keys,
    issuer: `${url}/auth/v1`,
    profile: "hosted",
    rateLimits: null,
    mailbox,
  });
  app.all("/auth/v1/*", (c) => {
    if (authDown) return c.json({ code: 503, error_code: "unexpected_failure", msg: "down" }, 503);
    return auth.fetch(stripPrefix(c.req.raw, "/auth/v1"), c.env);
  });
  const registry = await loadFunctionRegistry();
  const containers: Container[] = [];
  const options = { auth: { persistSession: false, autoRefreshToken: false } };
  const apps: ModeApp[] = [];
  for (const [i, setup] of SETUPS.entries()) {
    const config = loadConfig(
      devServerEnv(url, keys, null, {
        MIGRATION_MODE: setup.mode,
        USE_BETTER_AUTH: String(setup.useBetterAuth),
        FLAGS_CACHE_TTL_MS: "0",
        MIGRATION_FALLBACK_TIMEOUT: "4000",
        // The matrix takes Supabase down on purpose, again and again: a breaker opened by those
        // 5xx would route later steps to the original. The breaker has its own tests.
        MIGRATION_BREAKER_ENABLED: "false",
        LOG_LEVEL: "silent",
      }) as Record<string, string | undefined>,
    );
    const container = createAppContainer(config, { sql: db });
    // As the app container registers auth, with failed logins unpadded: the matrix makes many
    // deliberate failures and the constant-time floor has its own test.
    registerAuth(container, { supabaseJwtSecret: keys.jwtSecret, failureFloorMs: 0 });
    containers.push(container);
    const functions = new FunctionsGateway({ registry, container, log: () => {} });
    const prefix = `/m${i}`;
    app.all(`${prefix}/functions/v1/*`, (c) => functions.handle(stripPrefix(c.req.raw, prefix)));
    apps.push({ ...setup, client: createClient(`${url}${prefix}`, keys.anonKey, options) });
  }
  return {
    db,
    keys,
    url,
    admin: createClient(url, keys.serviceRoleKey, options),
    anon: createClient(url, keys.anonKey, options),
    mailbox,
    flags: new RuntimeFlagsStore(db),
    apps,
    setAuthDown: (down) => {
      authDown = down;
    },
    async close() {
      for (const container of containers) await container.dispose();
      abort.abort();
      await server.finished;
      await db.close();
    },
  };
}
