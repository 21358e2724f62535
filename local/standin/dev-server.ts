/**
 * The local Supabase-shaped stack in one process (`deno task dev`): every function at
 * /functions/v1/<name>, the Auth API at /auth/v1, the REST API at /rest/v1, all on one embedded
 * PGlite, plus a local cron calling migrate-batch. Tests start the same server on port 0 with an
 * in-memory database.
 *
 * Start-up: listen first (requests wait until ready), open the database (migrations and the auth
 * schema applied), seed demo data on first start, build the DI container on the shared PGlite
 * with config derived from the stand-in — never from mutating Deno.env — then mount everything.
 */
import { Hono } from "hono";
import { loadConfig, type RawEnv } from "../../shared/config/env.ts";
import type { Container } from "../../shared/di/container.ts";
import { createAppContainer } from "../../shared/di/app-container.ts";
import { redactString } from "../../shared/observability/redact.ts";
import { type AuthApiOptions, createAuthApi } from "./auth/app.ts";
import { formatBanner } from "./banner.ts";
import type { StandinProfile } from "./profile.ts";
import { createRestApi } from "./rest/rest-api.ts";
import { evaluationRequestTask } from "./rollout-cron.ts";
import { LocalCron, migrateBatchTask } from "./cron.ts";
import {
  DEFAULT_CACHE_DIR,
  DEFAULT_DATA_DIR,
  openStandinDatabase,
  type StandinDatabase,
} from "./database.ts";
import {
  type FunctionRegistry,
  FunctionsGateway,
  loadFunctionRegistry,
} from "./functions-gateway.ts";
import {
  createStandinKeys,
  DEFAULT_LOCAL_JWT_SECRET,
  importSigningKey,
  type StandinKeys,
} from "./keys.ts";
import { formatRequestLine, RequestLog } from "./request-log.ts";
import { runSeeders, type Seeder, type SeedReport } from "./seed.ts";
import { DEFAULT_SEEDERS } from "./seeders.ts";

/** `supabase start`'s API port. */
export const DEFAULT_PORT = 54321;
export const DEFAULT_CRON_INTERVAL_MS = 10_000;
export const DEFAULT_SEED_USERS = 1_000;
/** Only for the local stack (≥ 32 characters as env.ts requires). */
export const DEV_BETTER_AUTH_SECRET = "local-dev-better-auth-secret-never-use-in-production";
/**
 * The ES256 key the local functions sign Better Auth-path access tokens with on the `hosted`
 * profile (ACCESS_TOKEN_SIGNING_JWK), imported into the stand-in project's signing keys as
 * README's key set-up imports yours into a real project. Local only, like the JWT secret.
 */
export const DEV_ACCESS_TOKEN_SIGNING_JWK: JsonWebKey & { kid: string } = {
  kty: "EC",
  crv: "P-256",
  x: "jSGrZR4pN1-NqOTNAkNRzOO0j7uIc6IiprLpufX6Zs4",
  y: "uJTBb6jYzpdEqNiCrj_lJS3qSL0QbUu6ISuMEOMW6xY",
  d: "TloirjzplymkbeYUdXumet-4Dg-xNh-2RcRpysieUDE",
  kid: "edge-migrator-dev-es256-1",
  alg: "ES256",
};

export interface DevServerOptions {
  /** Default 54321; 0 picks a free port (tests). */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly hostname?: string;
  /** PGlite data directory (default .data/pglite in the repo); null = in memory. */
  readonly dataDir?: string | null;
  /** Base-snapshot cache (default .data/cache in the repo); null disables it. */
  readonly cacheDir?: string | null;
  /** Legacy Supabase users seeded on first start (default 1,000; 0 = none). */
  readonly seedUsers?: number;
  /** Seeders to run on first start (default DEFAULT_SEEDERS); [] disables seeding. */
  readonly seeders?: readonly Seeder[];
  /**
   * Local cron calling migrate-batch: interval in ms (default 10 s) and the body it posts
   * (default `{}`, as the pg_cron job), or false to switch it off.
   */
  readonly cron?: {
    readonly intervalMs?: number;
    readonly body?: Readonly<Record<string, unknown>>;
  } | false;
  readonly jwtSecret?: string;
  /**
   * Environment for loadConfig (scripts/dev.ts passes Deno.env.toObject()). The stand-in sets
   * SUPABASE_URL, the keys and the database itself; MIGRATION_MODE defaults to dual_write and
   * BETTER_AUTH_SECRET to a local development value.
   */
  readonly env?: Record<string, string | undefined>;
  /** Overrides shared/functions/registry.ts (tests); null serves every function as 501. */
  readonly functionRegistry?: FunctionRegistry | null;
  /**
   * Which Supabase the Auth and REST stand-ins imitate (local/standin/profile.ts): `hosted`
   * (supabase.com defaults, used by the end-to-end tests) or `lenient` (default, the demo).
   */
  readonly profile?: StandinProfile;
  /** Extra Auth API settings (token lifetimes, reuse interval...). */
  readonly auth?: Omit<AuthApiOptions, "sql" | "keys" | "issuer">;
  /** Where status lines and the banner go (default console.log). */
  readonly log?: (line: string) => void;
  /** Print one line per request. */
  readonly logRequests?: boolean;
}

export interface DevServer {
  readonly url: string;
  readonly port: number;
  readonly keys: StandinKeys;
  readonly sql: StandinDatabase;
  readonly container: Container;
  readonly functions: FunctionsGateway;
  readonly cron: LocalCron | null;
  readonly requests: RequestLog;
  readonly seedReport: SeedReport;
  /** How the database started: reopened, from the snapshot cache, or a fresh initdb. */
  readonly databaseOrigin: "existing" | "snapshot" | "initdb";
  readonly banner: string;
  /** Stops the cron, drains requests, disposes the container and closes PGlite. */
  close(): Promise<void>;
}

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

/** The shared/config environment of the local stack (see DevServerOptions.env). */
export function devServerEnv(
  url: string,
  keys: StandinKeys,
  dataDir: string | null,
  env: Record<string, string | undefined> = {},
  profile: StandinProfile = "lenient",
): RawEnv {
  const hosted = profile === "hosted";
  return {
    // Better Auth-path tokens as the stand-in's project accepts them: ES256 with a key imported
    // into its signing keys (hosted), HS256 with the legacy JWT secret (lenient, a legacy-key
    // project). A developer's own ACCESS_TOKEN_SIGNING(_JWK) wins.
    ...(hosted
      ? { ACCESS_TOKEN_SIGNING_JWK: JSON.stringify(DEV_ACCESS_TOKEN_SIGNING_JWK) }
      : { ACCESS_TOKEN_SIGNING: "hs256-project" }),
    ...env,
    MIGRATION_MODE: env.MIGRATION_MODE || "dual_write",
    BETTER_AUTH_SECRET: env.BETTER_AUTH_SECRET || DEV_BETTER_AUTH_SECRET,
    // Owned by the stand-in: a developer's real project settings must not leak in.
    SUPABASE_URL: url,
    SUPABASE_ANON_KEY: keys.anonKey,
    SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey,
    // Lets the functions verify stand-in access tokens locally, as PROJECT_JWT_SECRET does in prod.
    PROJECT_JWT_SECRET: keys.jwtSecret,
    // The platform sets the new keys beside the legacy ones on a project that has them; the
    // legacy keys still win in loadConfig (shared/config/env.ts).
    SUPABASE_PUBLISHABLE_KEYS: hosted
      ? JSON.stringify({ default: keys.publishableKey })
      : undefined,
    SUPABASE_SECRET_KEYS: hosted ? JSON.stringify({ default: keys.secretKey }) : undefined,
    SUPABASE_DB_URL: undefined,
    DATABASE_URL: undefined,
    DATABASE_PROVIDER: "pglite",
    PGLITE_DATA_DIR: dataDir ?? undefined,
  } as RawEnv;
}

/**
 * Methods Supabase's gateway refuses before any route: nginx, under Kong, answers TRACE with 405
 * in `ngx_http_process_request_header` (nginx src/http/ngx_http_request.c: "client sent TRACE
 * method" → NGX_HTTP_NOT_ALLOWED), and Kong renders 405 as `{"message":"Method not allowed"}`
 * (Kong kong/error_handlers.lua, BODIES[405]). CONNECT and TRACK never reach a route either; all
 * three are also "forbidden methods" for the Fetch `Request` constructor, so forwarding them
 * would throw instead of answering.
 */
const GATEWAY_REFUSED_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

function refusedByGateway(request: Request): Response | null {
  if (!GATEWAY_REFUSED_METHODS.has(request.method.toUpperCase())) return null;
  return jsonResponse(405, { message: "Method not allowed" });
}

/** Kong strips the service prefix, so PostgREST sees `/table`; we do the same. */
function stripPrefix(request: Request, prefix: string): Request {
  const url = new URL(request.url);
  url.pathname = url.pathname.slice(prefix.length) || "/";
  return new Request(url, request);
}

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const log = options.log ?? ((line: string) => console.log(line));
  const dataDir = options.dataDir === undefined ? DEFAULT_DATA_DIR : options.dataDir;
  const keys = await createStandinKeys(options.jwtSecret ?? DEFAULT_LOCAL_JWT_SECRET);
  const requests = new RequestLog();

  let markReady!: (app: Hono) => void;
  let markFailed!: (error: unknown) => void;
  const ready = new Promise<Hono>((resolve, reject) => {
    markReady = resolve;
    markFailed = reject;
  });
  ready.catch(() => {}); // surfaced through startDevServer's own rejection

  // Listen first: a client polling the port during start-up waits instead of being refused.
  const server = Deno.serve({
    port: options.port ?? DEFAULT_PORT,
    hostname: options.hostname ?? "127.0.0.1",
    onListen: () => {},
  }, async (request, info) => {
    const started = performance.now();
    let response: Response;
    try {
      response = refusedByGateway(request) ?? await (await ready).fetch(request, info);
    } catch (error) {
      log(
        `request failed: ${redactString(error instanceof Error ? error.message : String(error))}`,
      );
      response = jsonResponse(500, {
        error: { code: "internal_error", message: "dev server error" },
      });
    }
    const entry = {
      at: new Date(),
      method: request.method,
      path: new URL(request.url).pathname,
      status: response.status,
      durationMs: performance.now() - started,
    };
    requests.record(entry);
    if (options.logRequests) log(formatRequestLine(entry));
    return response;
  });
  const port = server.addr.port;
  const host = !options.hostname || options.hostname === "0.0.0.0" ? "127.0.0.1" : options.hostname;
  const url = `http://${host}:${port}`;

  let sql: StandinDatabase | null = null;
  let container: Container | null = null;
  try {
    // Validate the environment before touching the database: a bad variable fails fast.
    const config = loadConfig(
      devServerEnv(url, keys, dataDir, options.env, options.profile) as Record<
        string,
        string | undefined
      >,
    );
    // The import step of README's key set-up, done for the local project: the functions' ES256
    // key becomes one of its trusted signing keys (hosted profile).
    if (options.profile === "hosted" && config.env.ACCESS_TOKEN_SIGNING_JWK) {
      importSigningKey(keys, JSON.parse(config.env.ACCESS_TOKEN_SIGNING_JWK));
    }
    const opened = await openStandinDatabase({
      dataDir,
      cacheDir: options.cacheDir === undefined ? DEFAULT_CACHE_DIR : options.cacheDir,
    });
    sql = opened.db;
    const seedUsers = options.seedUsers ?? DEFAULT_SEED_USERS;
    const seedReport = await runSeeders(sql, options.seeders ?? DEFAULT_SEEDERS, {
      userCount: seedUsers,
      log,
    });

    container = createAppContainer(config, { sql });
    const registry = options.functionRegistry !== undefined
      ? options.functionRegistry
      : await loadFunctionRegistry();
    const functions = new FunctionsGateway({ registry, container, log });
    // Served at the root and given paths with /rest/v1 stripped, as PostgREST is behind Kong.
    const rest = createRestApi({
      sql,
      jwtSecret: keys.jwtSecret,
      keys,
      basePath: "",
      profile: options.profile,
    });

    const app = new Hono();
    app.route(
      "/auth/v1",
      createAuthApi({
        profile: options.profile,
        ...options.auth,
        sql,
        keys,
        issuer: `${url}/auth/v1`,
      }),
    );
    app.all(
      "/rest/v1/*",
      (c) => rest.fetch(stripPrefix(c.req.raw, "/rest/v1"), c.env),
    );
    app.all("/functions/v1/*", (c) => functions.handle(c.req.raw, c.env));
    app.get("/", (c) =>
      c.json({
        name: "edge-migrator local stack",
        auth: `${url}/auth/v1`,
        rest: `${url}/rest/v1`,
        functions: functions.names.map((name) => `${url}/functions/v1/${name}`),
      }));
    app.notFound((c) => c.json({ message: "no Route matched with those values" }, 404));
    markReady(app);

    // Build implemented functions now so the first real request does not pay for it.
    for (const name of functions.names.filter((n) => functions.isImplemented(n))) {
      functions.app(name).catch(() => {}); // the gateway reports a failed build per request
    }

    const cronInterval = options.cron === false
      ? null
      : options.cron?.intervalMs ?? DEFAULT_CRON_INTERVAL_MS;
    const cron = cronInterval === null ? null : new LocalCron({
      name: "local cron → migrate-batch",
      intervalMs: cronInterval,
      task: migrateBatchTask(url, keys.serviceRoleKey, options.cron ? options.cron.body : {}),
      log,
    });
    // Rollout evaluation on the same schedule, as the pg_cron job does in production.
    const rolloutCron = cronInterval === null ? null : new LocalCron({
      name: "local cron → rollout evaluation",
      intervalMs: cronInterval,
      task: evaluationRequestTask(url, keys.serviceRoleKey),
      log,
    });
    cron?.start();
    rolloutCron?.start();

    const seeded = seedReport.seeded.map((s) => s.name);
    const banner = formatBanner({
      url,
      keys,
      profile: options.profile ?? "lenient",
      functions: functions.names.map((name) => ({
        name,
        implemented: functions.isImplemented(name),
      })),
      database: `${dataDir ?? "in memory"} (${
        opened.origin === "initdb"
          ? "new cluster"
          : opened.origin === "snapshot"
          ? "new, from cached snapshot"
          : "reopened"
      })`,
      seeding: seeded.length > 0
        ? `seeded ${
          seeded.join(", ")
        } (${seedUsers} legacy users; demo login demo@example.com / password123)`
        : seedReport.skipped.length > 0
        ? `already seeded (${seedReport.skipped.join(", ")})`
        : "off",
      cron: cron ? `POST /functions/v1/migrate-batch every ${cronInterval! / 1000} s` : "off",
      restAvailable: rest !== null,
    });
    log(banner);

    let closing: Promise<void> | null = null;
    const db = sql;
    const appContainer = container;
    return {
      url,
      port,
      keys,
      sql: db,
      container: appContainer,
      functions,
      cron,
      requests,
      seedReport,
      databaseOrigin: opened.origin,
      banner,
      close() {
        closing ??= (async () => {
          await cron?.stop();
          await rolloutCron?.stop();
          await server.shutdown();
          await appContainer.dispose();
          await db.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    markFailed(error);
    await server.shutdown();
    await container?.dispose().catch(() => {});
    await sql?.close().catch(() => {});
    throw error;
  }
}
