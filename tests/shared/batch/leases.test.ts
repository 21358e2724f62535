/**
 * Concurrency on PostgreSQL 15: 8 workers, each with its own connection pool (as 8 overlapping
 * function invocations would have), over 50,000 users. Every range is claimed by exactly one
 * worker, every user is processed exactly once, and no user is left out.
 */
import assert from "node:assert/strict";
import { freshPostgres, TEST_DATABASE_URL } from "../../helpers/db.ts";
import { BatchMigrationEngine } from "../../../shared/batch/engine.ts";
import { SupabaseAuthSource } from "../../../shared/batch/supabase-source.ts";
import { openPostgres } from "../../../shared/db/postgres-client.ts";
import { AUTH_SCHEMA_SQL, countRows, invalidCount, seedAuthUsers } from "./helpers.ts";

const USERS = 50_000;
const WORKERS = 8;

Deno.test({
  name: "8 concurrent workers over 50,000 users: every user exactly once, no gaps (PostgreSQL)",
  ignore: !TEST_DATABASE_URL,
  async fn() {
    const db = await freshPostgres();
    const pools = Array.from({ length: WORKERS }, () => openPostgres({ url: db.url, max: 2 }));
    try {
      await db.exec(AUTH_SCHEMA_SQL);
      await seedAuthUsers(db, USERS, { invalid: true });
      const workers = pools.map((pool, i) =>
        new BatchMigrationEngine({
          db: pool,
          source: new SupabaseAuthSource(pool),
          options: { batchSize: 1000 },
          workerId: `worker-${i}`,
        })
      );
      // All eight start at once with no migration id: they must agree on ONE migration.
      const results = await Promise.all(workers.map(async (worker) => {
        const runs = [];
        for (;;) {
          const result = await worker.run({});
          runs.push(result);
          if (result.done) return runs;
          if (result.stopped_because === "busy") {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      }));
      const all = results.flat();
      const ids = new Set(all.map((r) => r.migration_id));
      assert.equal(ids.size, 1, "one migration for all workers");
      const migrationId = [...ids][0]!;

      const leases = all.flatMap((r) => r.leases).sort((a, b) => a - b);
      const { rows: planned } = await db.query<{ n: number }>(
        "SELECT count(*) AS n FROM batch_leases WHERE migration_id = $1",
        [migrationId],
      );
      assert.deepEqual(leases, Array.from({ length: planned[0]!.n }, (_, i) => i + 1));
      assert.ok(results.filter((runs) => runs.some((r) => r.leases.length > 0)).length > 1);
      assert.equal(all.reduce((n, r) => n + r.processed, 0), USERS);

      const { rows } = await db.query<Record<string, number | string>>(
        `SELECT status, processed_count AS processed, migrated_count AS migrated,
                error_count AS errors
         FROM migration_states WHERE id = $1`,
        [migrationId],
      );
      assert.deepEqual(rows[0], {
        status: "completed",
        processed: USERS,
        migrated: USERS - invalidCount(USERS),
        errors: invalidCount(USERS),
      });
      const counts = await countRows(db);
      assert.equal(counts.users, USERS - invalidCount(USERS));
      assert.equal(counts.migrated_users, USERS - invalidCount(USERS));
      assert.equal(counts.errors, invalidCount(USERS));
      const gaps = await db.query<{ missing: number; twice: number }>(
        `SELECT
           (SELECT count(*) FROM auth.users u
            WHERE NOT EXISTS (SELECT 1 FROM migrated_users m WHERE m.original_id = u.id::text)
              AND NOT EXISTS (SELECT 1 FROM migration_errors e WHERE e.user_id = u.id::text))
             AS missing,
           (SELECT count(*) FROM (SELECT "userId", "providerId" FROM account
                                  GROUP BY 1, 2 HAVING count(*) > 1) d) AS twice`,
      );
      assert.deepEqual(gaps.rows[0], { missing: 0, twice: 0 });
      const verify = await workers[0]!.verify({ migration_id: migrationId });
      assert.equal(verify.equal, true);
    } finally {
      for (const pool of pools) await pool.close();
      await db.close();
    }
  },
});
