/**
 * The Auth API contract (./contract.ts) through supabase-js over real HTTP:
 * - on the dev server (in-memory PGlite, 20 seeded legacy users), as developers and e2e tests use it;
 * - on PostgreSQL 15 (TEST_DATABASE_URL): createAuthApi on its own database served by Deno.serve.
 */
import { Hono } from "hono";
import { createAuthApi } from "../../../../local/standin/auth/app.ts";
import { AUTH_SCHEMA_URL } from "../../../../local/standin/database.ts";
import { startDevServer } from "../../../../local/standin/dev-server.ts";
import { createStandinKeys } from "../../../../local/standin/keys.ts";
import { DEFAULT_SEED, seededRandom } from "../../../../local/standin/seed.ts";
import {
  generateLegacyUsers,
  insertLegacyDataset,
} from "../../../../local/standin/seed-legacy-users.ts";
import { freshPostgres, TEST_DATABASE_URL } from "../../../helpers/db.ts";
import { runAuthContract } from "./contract.ts";

// A replayed refresh token is theft at once (no 10 s grace), so reuse detection is testable.
const auth = { refreshTokenReuseIntervalSeconds: 0 };

Deno.test("Auth API contract on the dev server (PGlite)", async (t) => {
  const server = await startDevServer({
    port: 0,
    dataDir: null,
    seedUsers: 20,
    cron: false,
    functionRegistry: null,
    auth,
    log: () => {},
  });
  try {
    await runAuthContract(t, { url: server.url, keys: server.keys, sql: server.sql });
  } finally {
    await server.close();
  }
});

Deno.test({
  name: "Auth API contract on PostgreSQL 15",
  ignore: !TEST_DATABASE_URL,
  async fn(t) {
    const db = await freshPostgres();
    const abort = new AbortController();
    try {
      await db.exec(await Deno.readTextFile(AUTH_SCHEMA_URL));
      await db.transaction((tx) =>
        insertLegacyDataset(tx, generateLegacyUsers(20, seededRandom(DEFAULT_SEED)))
      );
      const keys = await createStandinKeys();
      let url = "";
      const app = new Hono();
      const server = Deno.serve(
        { port: 0, hostname: "127.0.0.1", signal: abort.signal, onListen: () => {} },
        (request, info) => app.fetch(request, info),
      );
      url = `http://127.0.0.1:${server.addr.port}`;
      app.route("/auth/v1", createAuthApi({ sql: db, keys, issuer: `${url}/auth/v1`, ...auth }));
      try {
        await runAuthContract(t, { url, keys, sql: db });
      } finally {
        abort.abort();
        await server.finished;
      }
    } finally {
      await db.close();
    }
  },
});
