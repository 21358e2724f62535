import assert from "node:assert/strict";
import { freshPglite } from "../../helpers/db.ts";
import { buildBatchHandlers, registerBatch } from "../../../shared/batch/register.ts";
import { BatchEngineToken } from "../../../shared/batch/tokens.ts";
import { loadConfig } from "../../../shared/config/env.ts";
import { Container } from "../../../shared/di/container.ts";
import { ConfigToken, SqlToken } from "../../../shared/di/tokens.ts";
import type { HandlerContext } from "../../../shared/migrator/types.ts";
import { AUTH_SCHEMA_SQL, seedAuthUsers } from "./helpers.ts";

const SERVICE_KEY = "service-role-key-for-the-register-test";
const CRON_SECRET = "cron-secret-for-the-register-test";

const live: HandlerContext = {
  requestId: "r",
  path: "/migrate-batch",
  mode: "live",
  signal: new AbortController().signal,
  claimCommit: () => true,
  canary: false,
};

Deno.test("registerBatch wires the engine and both migrator handlers from the container", async () => {
  const db = await freshPglite();
  const container = new Container();
  try {
    await db.exec(AUTH_SCHEMA_SQL);
    await seedAuthUsers(db, 30);
    container.value(
      ConfigToken,
      loadConfig({ SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY, CRON_SECRET: CRON_SECRET }),
    );
    container.value(SqlToken, db);
    registerBatch(container, { sql: SqlToken, options: { batchSize: 10 } });
    const handlers = await buildBatchHandlers(container);
    assert.equal(handlers.original, null, "no supabase-js client registered");

    const denied = await handlers.abstracted(
      new Request("http://x/migrate-batch/status"),
      live,
    );
    assert.equal(denied.status, 401);
    const run = await handlers.abstracted(
      new Request("http://x/migrate-batch", {
        method: "POST",
        headers: { authorization: `Bearer ${CRON_SECRET}` },
      }),
      live,
    );
    assert.equal(run.status, 200);
    assert.equal((await run.json()).processed, 30);
    const engine = await container.get(BatchEngineToken);
    assert.equal(engine.options.batchSize, 10);
  } finally {
    await container.dispose();
    await db.close();
  }
});
