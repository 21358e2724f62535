import assert from "node:assert/strict";
import {
  listAppliedMigrations,
  loadMigrationFiles,
  runMigrations,
  sha256Hex,
} from "../../../local/db/migration-runner.ts";
import { openPglite } from "../../../local/db/pglite-client.ts";
import { AppError } from "../../../shared/result.ts";
import { freshPostgres, TEST_DATABASE_URL } from "../../helpers/db.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";

const files = await loadMigrationFiles();

async function exercise(db: SqlClient) {
  const first = await runMigrations(db, files);
  // freshPostgres() is already migrated from its template; PGlite here starts empty.
  const second = await runMigrations(db, files);
  assert.deepEqual(second.applied, []);
  assert.deepEqual(second.skipped, files.map((f) => f.name));
  const applied = await listAppliedMigrations(db);
  assert.deepEqual(applied.map((a) => a.name), files.map((f) => f.name));
  for (const [i, row] of applied.entries()) {
    assert.deepEqual(row.checksum, await sha256Hex(files[i]!.sql));
  }
  return first;
}

Deno.test("migrations apply once, in order, on PGlite", async () => {
  const db = await openPglite();
  try {
    const first = await exercise(db);
    assert.deepEqual(first.applied, files.map((f) => f.name));
    const tables = await db.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    );
    for (
      const table of [
        "migration_states",
        "migrated_users",
        "migration_errors",
        "user_migration_status",
        "migration_log",
        "performance_metrics",
        "shadow_comparisons",
        "runtime_flags",
        "user",
        "account",
        "session",
        "verification",
      ]
    ) {
      assert.deepEqual(tables.rows.some((r) => r.table_name === table), true, `missing ${table}`);
    }
  } finally {
    await db.close();
  }
});

Deno.test("an edited applied migration is refused and nothing else runs", async () => {
  const db = await openPglite();
  try {
    await runMigrations(db, files);
    const edited = files.map((f, i) => i === 0 ? { ...f, sql: f.sql + "\n-- edited" } : f);
    const extra = { name: "29990101000000_extra.sql", sql: "CREATE TABLE extra_table (id int);" };
    await assert.rejects(
      () => runMigrations(db, [...edited, extra]),
      (error) => error instanceof AppError && error.code === "conflict",
    );
    const { rows } = await db.query("SELECT to_regclass('extra_table') AS t");
    assert.deepEqual(rows[0], { t: null });
  } finally {
    await db.close();
  }
});

Deno.test("a failing migration rolls back entirely and is not recorded", async () => {
  const db = await openPglite();
  try {
    await runMigrations(db, files);
    const bad = {
      name: "29990101000000_bad.sql",
      sql: "CREATE TABLE half_done (id int); SELECT no_such_function();",
    };
    await assert.rejects(() => runMigrations(db, [...files, bad]));
    const { rows } = await db.query("SELECT to_regclass('half_done') AS t");
    assert.deepEqual(rows[0], { t: null });
    assert.deepEqual((await listAppliedMigrations(db)).length, files.length);
  } finally {
    await db.close();
  }
});

Deno.test({
  name: "migrations on PostgreSQL 15: idempotent, and concurrent runners do not collide",
  ignore: !TEST_DATABASE_URL,
  fn: async () => {
    const db = await freshPostgres();
    try {
      await exercise(db);
      const extra = [
        { name: "29990101000000_a.sql", sql: "CREATE TABLE concurrent_a (id int);" },
        { name: "29990101000001_b.sql", sql: "CREATE TABLE concurrent_b (id int);" },
      ];
      const results = await Promise.all(
        Array.from({ length: 4 }, () => runMigrations(db, [...files, ...extra])),
      );
      const appliedTotal = results.flatMap((r) => r.applied).sort();
      assert.deepEqual(appliedTotal, extra.map((e) => e.name));
    } finally {
      await db.close();
    }
  },
});
