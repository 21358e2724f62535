/**
 * The Edge Runtime conformance harness: a Supabase-shaped stack on PostgreSQL 15 and function
 * workers run under worker.ts (the user-worker surface) with the environment Supabase sets.
 *
 * The stack is the realistic shape of a hosted project: ONE PostgreSQL database holding Supabase's
 * auth schema (the stand-in's local/standin/auth-schema.sql, as GoTrue owns it on the platform),
 * every migration, and the functions' tables; the Auth (GoTrue) and REST (PostgREST) stand-ins
 * run in this process on a postgres.js SqlClient over that same database, as GoTrue, PostgREST and
 * the functions share one database on Supabase. Auth runs the stand-in's hosted profile ("Confirm
 * email" on, GoTrue's rate limits): its confirmation mails land in `mailbox`.
 */
import { Hono } from "hono";
import { createAuthApi } from "../../../local/standin/auth/app.ts";
import { Mailbox } from "../../../local/standin/auth/confirmation.ts";
import { createStandinKeys, type StandinKeys } from "../../../local/standin/keys.ts";
import { createRestApi } from "../../../local/standin/rest/rest-api.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { freshPostgres } from "../../helpers/db.ts";
import { baseEnv, pump, REPO_ROOT } from "../server-process.ts";

const AUTH_SCHEMA = new URL("../../../local/standin/auth-schema.sql", import.meta.url);
const WORKER = new URL("./worker.ts", import.meta.url);

/** A secret for Better Auth in the workers; never a real one. */
export const HARNESS_BETTER_AUTH_SECRET = "edge-harness-better-auth-secret-0123456789abcdef";

export interface EdgeStack {
  /** The project URL (SUPABASE_URL): Auth under /auth/v1, REST under /rest/v1. */
  readonly url: string;
  readonly keys: StandinKeys;
  /** The project database (what SUPABASE_DB_URL points at), opened by the test. */
  readonly sql: SqlClient;
  readonly dbUrl: string;
  /** The confirmation mails Auth sent (the user clicks their links). */
  readonly mailbox: Mailbox;
  close(): Promise<void>;
}

/** A fresh migrated PostgreSQL database with Supabase's auth schema, and Auth/REST over it. */
export async function startEdgeStack(): Promise<EdgeStack> {
  const db = await freshPostgres();
  try {
    await db.exec(await Deno.readTextFile(AUTH_SCHEMA));
  } catch (error) {
    await db.close();
    throw error;
  }
  const keys = await createStandinKeys();
  const mailbox = new Mailbox();
  const app = new Hono();
  let url = "";
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (request) => {
    const path = new URL(request.url).pathname;
    if (path.startsWith("/auth/v1")) return auth.fetch(request);
    return app.fetch(request);
  });
  url = `http://127.0.0.1:${server.addr.port}`;
  const auth = new Hono().route(
    "/auth/v1",
    createAuthApi({
      sql: db,
      keys,
      issuer: `${url}/auth/v1`,
      profile: "hosted",
      mailbox,
      onUnexpectedError: () => {},
    }),
  );
  app.route("/", createRestApi({ sql: db, jwtSecret: keys.jwtSecret }));
  return {
    url,
    keys,
    sql: db,
    dbUrl: db.url,
    mailbox,
    close: async () => {
      await server.shutdown();
      await db.close();
    },
  };
}

/** The environment Supabase gives a deployed function, plus the project's own secrets. */
export function functionEnv(
  stack: EdgeStack,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    SUPABASE_URL: stack.url,
    SUPABASE_DB_URL: stack.dbUrl,
    SUPABASE_ANON_KEY: stack.keys.anonKey,
    SUPABASE_SERVICE_ROLE_KEY: stack.keys.serviceRoleKey,
    BETTER_AUTH_SECRET: HARNESS_BETTER_AUTH_SECRET,
    LOG_LEVEL: "info",
    ...extra,
  };
}

/** What the hosted platform lets a user worker do (see worker.ts). */
export const EDGE_PERMISSIONS = [
  "--deny-run",
  "--allow-write=/tmp",
  "--allow-read",
  "--allow-net",
  "--allow-env",
  "--allow-sys",
] as const;

export interface EdgeWorker {
  readonly name: string;
  /** Base URL of the function as the platform routes it: `<origin>/<name>`. */
  readonly url: string;
  /** Every stdout/stderr line so far. */
  readonly output: string[];
  readonly pid: number;
  /** Milliseconds from spawn until the worker's listener was up (the entrypoint then finished). */
  readonly listeningAfterMs: number;
  /** Sends the platform's end (SIGTERM → drain) and waits for the process to end by itself. */
  drain(boundMs?: number): Promise<{ code: number; exitedByItself: boolean }>;
  /** SIGKILL (cleanup after a failure). */
  kill(): void;
}

/**
 * Spawns `functions/<name>/index.ts` under worker.ts with `env` (nothing else of ours leaks in)
 * and resolves once its listener is up.
 */
export async function startEdgeWorker(
  name: string,
  env: Record<string, string>,
  options: { entry?: string; bootBoundMs?: number } = {},
): Promise<EdgeWorker> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...EDGE_PERMISSIONS,
      "--config",
      `${REPO_ROOT}deno.json`,
      WORKER.pathname,
      options.entry ?? `functions/${name}/index.ts`,
    ],
    cwd: REPO_ROOT,
    env: { ...baseEnv(), ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output: string[] = [];
  let listeningAfterMs = NaN;
  let port = 0;
  let onBooted: () => void = () => {};
  const booted = new Promise<void>((resolve) => (onBooted = resolve));
  const onLine = (line: string) => {
    if (!line.startsWith("edge-harness: ")) return;
    if (line.includes('"event":"listening"')) {
      listeningAfterMs = performance.now() - started;
      // The worker binds a port the OS picks (worker.ts) and says which.
      port = JSON.parse(line.slice("edge-harness: ".length)).port;
    }
    // The entrypoint's top-level await finished: start-up did not throw after listening.
    if (line.includes('"event":"booted"')) onBooted();
  };
  const pumps = Promise.all([
    pump(child.stdout, output, onLine),
    pump(child.stderr, output, onLine),
  ]);
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    booted.then(() => ({ ms: listeningAfterMs })),
    child.status.then((status) => ({ exited: status.code })),
    new Promise<{ timedOut: true }>((resolve) => {
      timer = setTimeout(() => resolve({ timedOut: true }), options.bootBoundMs ?? 60_000);
    }),
  ]);
  clearTimeout(timer);
  if (!("ms" in outcome)) {
    kill();
    await child.status;
    await pumps;
    throw new Error(`${name} did not boot (${JSON.stringify(outcome)}):\n${output.join("\n")}`);
  }
  let drained: Promise<{ code: number; exitedByItself: boolean }> | undefined;
  return {
    name,
    url: `http://127.0.0.1:${port}/${name}`,
    output,
    pid: child.pid,
    listeningAfterMs: outcome.ms,
    kill,
    drain: (boundMs = 20_000) =>
      drained ??= (async () => {
        try {
          child.kill("SIGTERM");
        } catch { /* exited already */ }
        let exitedByItself = true;
        const killer = setTimeout(() => {
          exitedByItself = false;
          kill();
        }, boundMs);
        try {
          const status = await child.status;
          await pumps;
          return { code: status.code, exitedByItself };
        } finally {
          clearTimeout(killer);
        }
      })(),
  };
}

/** The JSON log records a worker printed (one per line on stdout). */
export function logRecords(worker: EdgeWorker): Array<Record<string, unknown>> {
  return worker.output.filter((line) => line.startsWith("{")).map((line) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      return {};
    }
  });
}

export interface CallResult {
  readonly status: number;
  /** The JSON body, or `{ text }` when it is not JSON. */
  readonly body: Record<string, unknown>;
}

/** One request to a worker's function (`<worker.url><path>`): JSON body, optional bearer token. */
export async function callFunction(
  worker: EdgeWorker,
  path: string,
  init: { method?: string; body?: unknown; token?: string } = {},
): Promise<CallResult> {
  const response = await fetch(`${worker.url}${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: {
      "Content-Type": "application/json",
      ...(init.token && { Authorization: `Bearer ${init.token}` }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    return { status: response.status, body: { text } };
  }
}
