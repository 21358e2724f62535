import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import { Hono } from "hono";
import { sqlProviders } from "../../helpers/db.ts";
import { BatchMigrationEngine } from "../../../shared/batch/engine.ts";
import { OriginalBatchMigration } from "../../../shared/batch/original-migration.ts";
import {
  createBatchApp,
  MIGRATE_BATCH_POLICY,
  toMigratorHandler,
} from "../../../shared/batch/routes.ts";
import { SupabaseAuthSource } from "../../../shared/batch/supabase-source.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { defaultRoutingConfig, staticRoutingSource } from "../../../shared/flags/resolve.ts";
import { MemoryComparisonSink } from "../../../shared/migrator/comparison-store.ts";
import { createMigrator } from "../../../shared/migrator/migrator.ts";
import { createAuthApi } from "../../../local/standin/auth/app.ts";
import { createStandinKeys } from "../../../local/standin/keys.ts";
import {
  AUTH_SCHEMA_SQL,
  countRows,
  dropKindsOnlyTheEngineCarries,
  resetTables,
  seedAuthUsers,
} from "./helpers.ts";

const keys = await createStandinKeys();
const CRON_SECRET = "cron-secret-0123456789abcdef";
const BASE = "http://functions.local/migrate-batch";

function apps(db: SqlClient) {
  const source = new SupabaseAuthSource(db);
  const engine = new BatchMigrationEngine({ db, source, options: { batchSize: 30 } });
  const standin = new Hono().route("/auth/v1", createAuthApi({ sql: db, keys }));
  const supabase = createClient("http://standin.local", keys.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: { fetch: async (input, init) => await standin.fetch(new Request(input, init)) },
  });
  const original = new OriginalBatchMigration({
    db,
    admin: supabase.auth.admin,
    source,
    options: engine.options,
  });
  const auth = { serviceRoleKeys: [keys.serviceRoleKey], cronSecret: CRON_SECRET };
  return {
    engine,
    abstracted: createBatchApp({ operations: engine, engine, auth }),
    original: createBatchApp({ operations: original, engine, auth }),
  };
}

const asService = { authorization: `Bearer ${keys.serviceRoleKey}` };

function post(path: string, body: unknown, headers: Record<string, string> = asService) {
  return new Request(`${BASE}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

for (const provider of sqlProviders()) {
  Deno.test(`migrate-batch routes on ${provider.name}`, async (t) => {
    const db = await provider.open();
    await db.exec(AUTH_SCHEMA_SQL);
    const { abstracted, original, engine } = apps(db);
    try {
      await resetTables(db);
      await seedAuthUsers(db, 90, { invalid: true });
      const seeded = 90 - await dropKindsOnlyTheEngineCarries(db);

      await t.step("no service-role key or cron secret: 401 and nothing runs", async () => {
        const anon = { authorization: `Bearer ${keys.anonKey}` };
        const requests = [
          post("/", {}, {}),
          post("/", {}, anon),
          post("/rollback", { migration_id: "x", confirm: true }, anon),
          post("/verify", { migration_id: "x" }, { authorization: "Bearer nope" }),
          post("/validate", {}, { "x-cron-secret": "wrong" }),
          new Request(`${BASE}/status`),
        ];
        for (const request of requests) {
          const response = await abstracted.fetch(request);
          assert.equal(response.status, 401, request.url);
          const body = await response.json();
          assert.equal(body.error.code, "unauthorized");
        }
        const { rows } = await db.query<{ n: number }>(
          "SELECT count(*) AS n FROM migration_states",
        );
        assert.equal(rows[0]!.n, 0);
      });

      await t.step("bad input: 4xx naming the field, never 500", async () => {
        const wrongType = await abstracted.fetch(post("/", { batch_size: "big" }));
        assert.equal(wrongType.status, 400);
        const body = await wrongType.json();
        assert.equal(body.error.code, "validation_failed");
        assert.equal(body.error.details[0].path, "batch_size");
        const unknown = await abstracted.fetch(post("/", { batchSize: 5 }));
        assert.equal((await unknown.json()).error.details[0].path, "batchSize");
        const refused = await abstracted.fetch(post("/rollback", { migration_id: "x" }));
        assert.equal(refused.status, 400);
        assert.equal((await refused.json()).error.details[0].path, "confirm");
        const notJson = await abstracted.fetch(
          new Request(`${BASE}/verify`, { method: "POST", headers: asService, body: "x" }),
        );
        assert.equal(notJson.status, 415);
        const missing = await abstracted.fetch(post("/verify", { migration_id: "nope" }));
        assert.equal(missing.status, 404);
      });

      await t.step(
        "plan: both implementations plan the same batch, compared by the migrator",
        async () => {
          const comparisons = new MemoryComparisonSink();
          const migrator = createMigrator({
            policy: MIGRATE_BATCH_POLICY,
            original: toMigratorHandler(original),
            abstracted: toMigratorHandler(abstracted),
            routing: staticRoutingSource(defaultRoutingConfig({
              rolloutPercentage: 100,
              enableComparison: true,
            })),
            comparisons,
            storeMatches: true,
          });
          const response = await migrator.fetch(post("/plan", { batch_size: 60 }));
          assert.equal(response.status, 200);
          const plan = await response.json();
          assert.equal(plan.plan.users.length, 60);
          await migrator.flush();
          assert.equal(comparisons.comparisons.length, 1);
          assert.equal(comparisons.comparisons[0]!.matched, true);
          assert.equal((await countRows(db)).users, 0, "planning writes nothing");
        },
      );

      await t.step("cron (secret) runs the migration; status, verify, rollback", async () => {
        const run = await abstracted.fetch(
          post("/", undefined, { authorization: `Bearer ${CRON_SECRET}` }),
        );
        assert.equal(run.status, 200);
        const result = await run.json();
        assert.equal(result.done, true);
        assert.equal(result.processed, seeded);
        for (
          const key of ["migration_id", "processed", "migrated", "skipped", "errors", "remaining"]
        ) {
          assert.ok(key in result, key);
        }
        const status = await (await abstracted.fetch(
          new Request(`${BASE}/status`, { headers: { "x-cron-secret": CRON_SECRET } }),
        )).json();
        assert.equal(status.migrations[0].progress_percent, 100);
        assert.equal(status.totals.betterAuthMigrated, result.migrated);
        const verify = await (await abstracted.fetch(
          post("/verify", { migration_id: result.migration_id }),
        )).json();
        assert.equal(verify.equal, true);
        const validate = await abstracted.fetch(post("/validate", {}));
        assert.equal(validate.status, 200);
        const coverage = (await validate.json()).coverage;
        assert.equal(coverage.email.source, coverage.email.carried + coverage.email.dropped);
        assert.ok(coverage.email.dropped_because.already_migrated > 0);
        const rollback = await (await abstracted.fetch(
          post("/rollback", { migration_id: result.migration_id, confirm: true }),
        )).json();
        assert.equal(rollback.removed, result.migrated);
        assert.equal((await countRows(db)).users, 0);
      });

      await t.step("plan mode (a shadow of a run) writes nothing", async () => {
        const gate = { claimCommit: () => false, requestId: "r1" };
        const response = await abstracted.fetch(post("/", {}), {
          handler: { ...gate, mode: "plan" },
        });
        assert.equal(response.status, 200);
        assert.ok((await response.json()).plan);
        assert.equal((await countRows(db)).users, 0);
        // A live attempt that may no longer commit is refused without writing.
        const refused = await abstracted.fetch(post("/", {}), {
          handler: { ...gate, mode: "live" },
        });
        assert.equal(refused.status, 503);
        assert.equal((await countRows(db)).users, 0);
      });

      await t.step("the original's run migrates the same users through supabase-js", async () => {
        const run = await (await original.fetch(post("/", {}))).json();
        assert.equal(run.done, true);
        assert.equal(run.processed, seeded);
        const engineRun = await engine.run({ migration_id: "after-original" });
        assert.equal(engineRun.migrated, 0, "everything was migrated by the original");
      });
    } finally {
      await db.close();
    }
  });
}
