/**
 * The CPU budget of one batch run (hosted Edge Functions are ended past ~2 s of CPU per
 * request): a run stops before a batch that would not fit, always after at least one batch, and
 * the next call continues where it stopped. CPU time comes from an injected clock here, so each
 * batch "costs" a known amount; the default clock is the process's real CPU time.
 */
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import { Hono } from "hono";
import { BatchMigrationEngine } from "../../../shared/batch/engine.ts";
import { OriginalBatchMigration } from "../../../shared/batch/original-migration.ts";
import { createAuthApi } from "../../../local/standin/auth/app.ts";
import { createStandinKeys } from "../../../local/standin/keys.ts";
import { SupabaseAuthSource } from "../../../shared/batch/supabase-source.ts";
import { BatchEngineToken } from "../../../shared/batch/tokens.ts";
import { loadConfig } from "../../../shared/config/env.ts";
import { createAppContainer } from "../../../shared/di/app-container.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { freshPglite } from "../../helpers/db.ts";
import { AUTH_SCHEMA_SQL, resetTables, seedAuthUsers } from "./helpers.ts";

/** A CPU clock that advances `stepMs` every time it is read. */
function steppingClock(stepMs: number): () => number {
  let now = 0;
  return () => (now += stepMs);
}

function engineFor(db: SqlClient, cpuBudgetMs: number | undefined, cpuClock?: () => number) {
  return new BatchMigrationEngine({
    db,
    source: new SupabaseAuthSource(db),
    options: { batchSize: 10, retryBaseDelayMs: 1, retryMaxDelayMs: 5, cpuBudgetMs },
    cpuClock,
  });
}

/** The per-user original over supabase-js admin against the Auth stand-in, in-process. */
async function originalFor(db: SqlClient, cpuBudgetMs: number | undefined) {
  const keys = await createStandinKeys();
  const auth = new Hono().route("/auth/v1", createAuthApi({ sql: db, keys }));
  const client = createClient("http://standin.local", keys.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: { fetch: async (input, init) => await auth.fetch(new Request(input, init)) },
  });
  return new OriginalBatchMigration({
    db,
    admin: client.auth.admin,
    source: new SupabaseAuthSource(db),
    options: {
      batchSize: 10,
      budgetMs: 60_000,
      cpuBudgetMs,
      deletedUsers: "reject",
      bannedUsers: "reject",
      duplicateEmails: "reject_later",
    },
  });
}

Deno.test("batch engine CPU budget", async (t) => {
  const db = await freshPglite();
  await db.exec(AUTH_SCHEMA_SQL);
  try {
    await t.step(
      "stops before a batch that would not fit, and the next call continues",
      async () => {
        await resetTables(db);
        await seedAuthUsers(db, 60);
        // Every batch reads the clock twice (20 ms) and each check once: ~3 batches fit in 100 ms.
        const first = await engineFor(db, 100, steppingClock(10)).run({ migration_id: "cpu" });
        assert.equal(first.stopped_because, "cpu_budget");
        assert.equal(first.done, false);
        assert.ok(first.processed >= 10 && first.processed < 60, `processed ${first.processed}`);
        assert.equal(first.processed % 10, 0, "whole batches only");
        let calls = 1;
        let last = first;
        while (!last.done && calls < 10) {
          last = await engineFor(db, 100, steppingClock(10)).run({ migration_id: "cpu" });
          calls++;
        }
        assert.equal(last.done, true);
        assert.equal(last.totals.migrated, 60, "every user once, across calls");
        assert.ok(calls > 1);
      },
    );

    await t.step("a zero CPU budget still takes one batch (real process CPU time)", async () => {
      await resetTables(db);
      await seedAuthUsers(db, 30);
      const result = await engineFor(db, 0).run({ migration_id: "cpu-zero" });
      assert.equal(result.stopped_because, "cpu_budget");
      assert.equal(result.processed, 10);
    });

    await t.step("the per-user original stops before a page that would not fit", async () => {
      await resetTables(db);
      await seedAuthUsers(db, 25);
      // A zero budget: one page (10 users) per call, whatever the real CPU time.
      const original = await originalFor(db, 0);
      const first = await original.run({ migration_id: "cpu-original", batch_size: 10 });
      assert.equal(first.processed, 10);
      assert.equal(first.done, false);
      const unbounded = await originalFor(db, undefined);
      const rest = await unbounded.run({ migration_id: "cpu-original", batch_size: 10 });
      assert.equal(rest.done, true);
      assert.equal(rest.processed, 15);
    });

    await t.step("without a CPU budget (the CLI) the same clock never stops a run", async () => {
      await resetTables(db);
      await seedAuthUsers(db, 60);
      const result = await engineFor(db, undefined, steppingClock(1_000)).run({});
      assert.equal(result.done, true);
      assert.equal(result.processed, 60);
    });

    await t.step(
      "MIGRATION_BATCH_CPU_BUDGET_MS reaches migrate-batch's engine (default 1500)",
      async () => {
        for (
          const [env, expected] of [[{}, 1_500], [
            { MIGRATION_BATCH_CPU_BUDGET_MS: "250" },
            250,
          ]] as const
        ) {
          const container = createAppContainer(loadConfig({ ...env, LOG_LEVEL: "silent" }), {
            sql: db,
          });
          try {
            assert.equal((await container.get(BatchEngineToken)).options.cpuBudgetMs, expected);
          } finally {
            await container.dispose();
          }
        }
      },
    );
  } finally {
    await db.close();
  }
});
