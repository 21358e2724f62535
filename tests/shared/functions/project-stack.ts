/**
 * One Supabase project on a database of the test's choosing (PGlite or PostgreSQL 15), hosted
 * profile unless asked otherwise: the Auth and REST stand-ins, the functions deployed under
 * `/<name>/functions/v1` with the dev server's wiring (each deployment its own container and
 * env), and the demo table public.notes. The dev server itself runs on PGlite only; this is its wiring on either database,
 * for the stories that must pass on both (notes-rls.test.ts, login/cutover-rls.test.ts).
 */
import { Hono } from "hono";
import { loadConfig } from "../../../shared/config/env.ts";
import type { Container } from "../../../shared/di/container.ts";
import { createAppContainer } from "../../../shared/di/app-container.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { createAuthApi } from "../../../local/standin/auth/app.ts";
import { devServerEnv } from "../../../local/standin/dev-server.ts";
import {
  FunctionsGateway,
  loadFunctionRegistry,
} from "../../../local/standin/functions-gateway.ts";
import { createStandinKeys, type StandinKeys } from "../../../local/standin/keys.ts";
import { createRestApi } from "../../../local/standin/rest/rest-api.ts";
import type { StandinProfile } from "../../../local/standin/profile.ts";
import { createNotesTable } from "../../../local/standin/seed-notes.ts";
import { openDatabase, type Provider } from "../auth/harness.ts";

export interface ProjectStack {
  readonly url: string;
  readonly keys: StandinKeys;
  readonly db: SqlClient;
  /** Deploys the functions under `/<name>/functions/v1` with the dev server's env plus `env`. */
  deploy(name: string, env: Record<string, string | undefined>): Promise<Container>;
  close(): Promise<void>;
}

function stripPrefix(request: Request, prefix: string): Request {
  const url = new URL(request.url);
  url.pathname = url.pathname.slice(prefix.length) || "/";
  return new Request(url, request);
}

export async function startProjectStack(
  provider: Provider,
  { profile = "hosted" }: { readonly profile?: StandinProfile } = {},
): Promise<ProjectStack> {
  const db = await openDatabase(provider);
  await createNotesTable(db);
  const keys = await createStandinKeys();
  const app = new Hono();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    (request, info) => app.fetch(request, info),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  const containers: Container[] = [];
  const auth = createAuthApi({
    sql: db,
    keys,
    issuer: `${url}/auth/v1`,
    profile,
    // Confirmation has its own stories (tests/shared/functions/signup); these are about tokens.
    autoconfirm: true,
    rateLimits: null,
    onUnexpectedError: () => {},
  });
  const rest = createRestApi({
    sql: db,
    jwtSecret: keys.jwtSecret,
    keys,
    basePath: "",
    profile,
  });
  app.all("/auth/v1/*", (c) => auth.fetch(stripPrefix(c.req.raw, "/auth/v1"), c.env));
  app.all("/rest/v1/*", (c) => rest.fetch(stripPrefix(c.req.raw, "/rest/v1"), c.env));
  return {
    url,
    keys,
    db,
    async deploy(name, extra) {
      const env = devServerEnv(url, keys, null, {
        FLAGS_CACHE_TTL_MS: "0",
        LOG_LEVEL: "silent",
        ...extra,
      }, profile) as Record<string, string | undefined>;
      for (const [key, value] of Object.entries(extra)) if (value === undefined) delete env[key];
      const container = createAppContainer(loadConfig(env), { sql: db });
      containers.push(container);
      const registry = await loadFunctionRegistry();
      const functions = new FunctionsGateway({ registry, container, log: () => {} });
      app.all(
        `/${name}/functions/v1/*`,
        (c) => functions.handle(stripPrefix(c.req.raw, `/${name}`)),
      );
      return container;
    },
    async close() {
      for (const container of containers) await container.dispose();
      await server.shutdown();
      await db.close();
    },
  };
}
