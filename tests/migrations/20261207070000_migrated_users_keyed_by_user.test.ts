/**
 * migrated_users keyed by the user's uuid (migration 20261207070000): applied to a database that
 * holds rows from before it — one written with the id in upper-case hex — it normalizes that row,
 * moves the primary key to new_auth_id, and from then on refuses a row whose two ids differ and a
 * second row for a user, while the per-user writer's ON CONFLICT DO NOTHING still absorbs a repeat.
 */
import assert from "node:assert/strict";
import { openPglite } from "../../local/db/pglite-client.ts";
import { loadMigrationFiles, runMigrations } from "../../local/db/migration-runner.ts";
import { MigrationStatusRepository } from "../../shared/auth/migration-status.ts";
import { sqlState } from "../helpers/sql-state.ts";

const NAME = "20261207070000_migrated_users_keyed_by_user.sql";
const LOWER = "0000000a-0000-4000-8000-00000000000b";
const UPPER_SPELLED = "0000000C-0000-4000-8000-00000000000D";
const OTHER = "00000000-0000-4000-8000-00000000000e";

Deno.test("migrated_users keyed by user: existing rows normalized, one id per user enforced", async () => {
  const files = await loadMigrationFiles();
  const index = files.findIndex((file) => file.name === NAME);
  assert.ok(index > 0, `${NAME} is a migration`);
  const db = await openPglite();
  try {
    await runMigrations(db, files.slice(0, index));
    await db.query(
      `INSERT INTO migrated_users (original_id, new_auth_id, email, migrated_via)
       VALUES ($1::text, $1::uuid, 'a@example.test', 'lazy'),
              ($2::text, $2::uuid, 'b@example.test', 'lazy')`,
      [LOWER, UPPER_SPELLED],
    );
    await runMigrations(db, files.slice(index, index + 1));

    const { rows } = await db.query<{ original_id: string }>(
      "SELECT original_id FROM migrated_users ORDER BY new_auth_id",
    );
    assert.deepEqual(rows.map((r) => r.original_id), [LOWER, UPPER_SPELLED.toLowerCase()]);
    const { rows: key } = await db.query<{ definition: string }>(
      `SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint
       WHERE conrelid = 'migrated_users'::regclass AND contype = 'p'`,
    );
    assert.deepEqual(key.map((k) => k.definition), ["PRIMARY KEY (new_auth_id)"]);
    const { rows: indexes } = await db.query<{ name: string }>(
      "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'migrated_users' ORDER BY 1",
    );
    assert.deepEqual(indexes.map((i) => i.name), [
      "migrated_users_migration_auth_idx",
      "migrated_users_pkey",
    ]);

    // Two ids that differ: refused by the CHECK.
    assert.equal(
      await sqlState(db.query(
        `INSERT INTO migrated_users (original_id, new_auth_id, email, migrated_via)
         VALUES ($1::text, $2::uuid, 'c@example.test', 'lazy')`,
        [OTHER, LOWER],
      )),
      "23514",
    );
    // A second row for a user: refused by the key, whichever spelling.
    assert.equal(
      await sqlState(db.query(
        `INSERT INTO migrated_users (original_id, new_auth_id, email, migrated_via)
         VALUES ($1::uuid::text, $1::uuid, 'd@example.test', 'dual_write')`,
        [LOWER.toUpperCase()],
      )),
      "23505",
    );
    // The per-user writer: first writer wins, a repeat (in any spelling) is absorbed.
    const store = new MigrationStatusRepository(db);
    await store.recordMigrated(OTHER.toUpperCase(), "e@example.test", "lazy");
    await store.recordMigrated(OTHER, "e@example.test", "dual_write");
    const { rows: other } = await db.query<Record<string, string>>(
      "SELECT original_id, migrated_via FROM migrated_users WHERE new_auth_id = $1::uuid",
      [OTHER],
    );
    assert.deepEqual(other, [{ original_id: OTHER, migrated_via: "lazy" }]);
  } finally {
    await db.close();
  }
});
