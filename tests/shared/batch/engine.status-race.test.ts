/**
 * The batch creates a user's user_migration_status row with a plain INSERT when the row did not
 * exist as its statement began, and updates it when it did (statements.ts ins_status/upd_status).
 * Another writer (a dual-write signup, a lazy login recording an error) may commit that row while
 * the batch runs: the batch's insert then fails with a unique violation, the lease is split, and
 * its parts, seeing the row, update it. Here that writer holds the row uncommitted while the
 * batch starts (the batch's insert waits on it), then commits: every user still migrates, the
 * writer's row is kept (not created by the migration) and flagged as migrated to Better Auth.
 */
import assert from "node:assert/strict";
import { freshPostgres, TEST_DATABASE_URL } from "../../helpers/db.ts";
import { BatchMigrationEngine } from "../../../shared/batch/engine.ts";
import { SupabaseAuthSource } from "../../../shared/batch/supabase-source.ts";
import { openPostgres } from "../../../shared/db/postgres-client.ts";
import { AUTH_SCHEMA_SQL, seedAuthUsers, userIdSql } from "./helpers.ts";

Deno.test({
  name: "a status row committed by another writer mid-batch: the batch splits and migrates all",
  ignore: !TEST_DATABASE_URL,
  async fn() {
    const db = await freshPostgres();
    const writer = openPostgres({ url: db.url, max: 1 });
    try {
      await db.exec(AUTH_SCHEMA_SQL);
      await seedAuthUsers(db, 40);
      const { rows: [target] } = await db.query<{ id: string }>(
        `SELECT ${userIdSql("'17'")}::text AS id`,
      );
      const engine = new BatchMigrationEngine({
        db,
        source: new SupabaseAuthSource(db),
        options: { batchSize: 100 },
      });
      let release!: () => void;
      const released = new Promise<void>((resolve) => release = resolve);
      let inserted!: () => void;
      const held = new Promise<void>((resolve) => inserted = resolve);
      // The other writer: its row is uncommitted when the batch's statement begins.
      const other = writer.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO user_migration_status (user_id, email, supabase_migrated,
                                              supabase_migrated_at, last_error)
           VALUES ($1::uuid, 'user17@example.com', true, now(), 'login failed')`,
          [target!.id],
        );
        inserted();
        await released;
      });
      await held;
      const run = engine.run({ migration_id: "race" });
      // Commit once the batch's insert is waiting on the other writer's row.
      let waited = false;
      for (let i = 0; i < 400 && !waited; i++) {
        const { rows } = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE wait_event_type = 'Lock' AND datname = current_database()`,
        );
        waited = rows[0]!.n > 0;
        if (!waited) await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(waited, "the batch's status insert waited on the other writer's row");
      release();
      await other;
      const result = await run;
      assert.equal(result.migrated, 40);
      assert.equal(result.errors, 0);
      const { rows } = await db.query<Record<string, unknown>>(
        `SELECT count(*)::int AS users,
                (SELECT count(*)::int FROM user_migration_status WHERE better_auth_migrated)
                  AS flagged,
                (SELECT count(*)::int FROM user_migration_status
                  WHERE created_by_migration = 'race') AS created,
                (SELECT last_error FROM user_migration_status WHERE user_id = $1::uuid)
                  AS kept_error
         FROM "user"`,
        [target!.id],
      );
      assert.deepEqual(rows[0], {
        users: 40,
        flagged: 40,
        created: 39,
        kept_error: "login failed",
      });
    } finally {
      await writer.close();
      await db.close();
    }
  },
});
