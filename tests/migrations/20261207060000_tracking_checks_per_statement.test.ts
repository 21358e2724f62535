/**
 * migrated_users.migration_id is checked once per statement (migration 20261207060000) instead of
 * by a per-row foreign key: the invariant the constraint kept must still hold — a row cannot name
 * a migration that does not exist (insert or update), a migration cannot be deleted or renamed
 * while rows name it, a rolled-back migration (its rows removed) can be deleted, and the lock the
 * foreign key took still orders an insert against a concurrent delete, both ways round.
 */
import assert from "node:assert/strict";
import type { SqlClient } from "../../shared/db/sql-client.ts";
import { rollbackMigration } from "../../shared/batch/rollback.ts";
import { freshPostgres, sqlProviders, TEST_DATABASE_URL } from "../helpers/db.ts";
import { sqlState } from "../helpers/sql-state.ts";

const U1 = "00000000-0000-4000-8000-000000000001";
const U2 = "00000000-0000-4000-8000-000000000002";
const U3 = "00000000-0000-4000-8000-000000000003";

async function addMigration(db: SqlClient, id: string): Promise<void> {
  await db.query("INSERT INTO migration_states (id, status) VALUES ($1, 'completed')", [id]);
}

function track(db: SqlClient, users: string[], migrationId: string | null) {
  // One statement for all rows, as the batch writes them.
  return db.query(
    `INSERT INTO migrated_users (original_id, new_auth_id, email, migrated_via, migration_id)
     SELECT u, u::uuid, u || '@example.test', CASE WHEN $2::text IS NULL THEN 'lazy' ELSE 'batch' END, $2
     FROM unnest($1::text[]) AS u`,
    [users, migrationId],
  );
}

for (const provider of sqlProviders()) {
  Deno.test(`[${provider.name}] migrated_users rows must name an existing migration`, async () => {
    const db = await provider.open();
    try {
      await addMigration(db, "m1");
      await track(db, [U1, U2], "m1");
      await track(db, [U3], null); // lazy migration: no migration
      assert.equal(
        await sqlState(track(db, ["00000000-0000-4000-8000-00000000000a"], "nope")),
        "23503",
      );
      // A statement naming one good and one missing migration is refused as a whole.
      assert.equal(
        await sqlState(db.query(
          `INSERT INTO migrated_users (original_id, new_auth_id, email, migrated_via, migration_id)
           VALUES ($1::text, $1::uuid, 'a@example.test', 'batch', 'm1'),
                  ($2::text, $2::uuid, 'b@example.test', 'batch', 'nope')`,
          ["00000000-0000-4000-8000-00000000000b", "00000000-0000-4000-8000-00000000000c"],
        )),
        "23503",
      );
      assert.equal(
        await sqlState(
          db.query("UPDATE migrated_users SET migration_id = 'nope' WHERE original_id = $1", [U1]),
        ),
        "23503",
      );
      const { rows } = await db.query<{ n: number }>("SELECT count(*) AS n FROM migrated_users");
      assert.equal(rows[0]!.n, 3, "nothing of the refused statements was written");
    } finally {
      await db.close();
    }
  });

  Deno.test(`[${provider.name}] a migration with tracked users cannot be deleted or renamed; after its rollback it can`, async () => {
    const db = await provider.open();
    try {
      await addMigration(db, "m1");
      await addMigration(db, "m2");
      await db.query(
        `INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt")
         SELECT u::uuid, 'x', u || '@example.test', true, now(), now() FROM unnest($1::text[]) u`,
        [[U1, U2]],
      );
      await track(db, [U1, U2], "m1");
      assert.equal(
        await sqlState(db.query("DELETE FROM migration_states WHERE id = 'm1'")),
        "23503",
      );
      assert.equal(
        await sqlState(db.query("UPDATE migration_states SET id = 'm9' WHERE id = 'm1'")),
        "23503",
      );
      // Other updates of a tracked migration (its counters, status) are untouched by the check.
      await db.query("UPDATE migration_states SET processed_count = 2 WHERE id = 'm1'");
      // A migration nobody references goes, as before.
      await db.query("DELETE FROM migration_states WHERE id = 'm2'");
      // Emptying the migrations alone is refused; with the tracking rows in one TRUNCATE it is not.
      assert.equal(await sqlState(db.exec("TRUNCATE migration_states CASCADE")), "23503");
      const undone = new Error("undo the truncation");
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.exec("TRUNCATE migration_states, migrated_users CASCADE");
          throw undone;
        }),
        (error) => error === undone,
      );
      const rolledBack = await rollbackMigration(db, "m1", { budgetMs: 60_000, clock: Date.now });
      assert.equal(rolledBack.removed, 2);
      assert.equal(rolledBack.done, true);
      await db.query("DELETE FROM migration_states WHERE id = 'm1'");
      const { rows } = await db.query<{ n: number }>("SELECT count(*) AS n FROM migration_states");
      assert.equal(rows[0]!.n, 0);
    } finally {
      await db.close();
    }
  });
}

function deferred() {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => release = resolve);
  return { promise, release };
}

async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  promise.then(() => settled = true, () => settled = true);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return settled;
}

Deno.test({
  name: "[postgres] an insert and a concurrent delete of its migration are ordered by the lock",
  ignore: !TEST_DATABASE_URL,
  fn: async () => {
    const db = await freshPostgres({ max: 4 });
    try {
      await addMigration(db, "m1");
      // Insert first: the delete waits for the inserting transaction, then is refused.
      const commitInsert = deferred();
      const inserted = db.transaction(async (tx) => {
        await track(tx, [U1], "m1");
        await commitInsert.promise;
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const deleted = sqlState(db.query("DELETE FROM migration_states WHERE id = 'm1'"));
      assert.equal(await settledWithin(deleted, 300), false, "the delete waits for the insert");
      commitInsert.release();
      await inserted;
      assert.equal(await deleted, "23503");

      // Delete first: the insert waits for the deleting transaction, then is refused.
      await addMigration(db, "m2");
      const commitDelete = deferred();
      const deleting = db.transaction(async (tx) => {
        await tx.query("DELETE FROM migration_states WHERE id = 'm2'");
        await commitDelete.promise;
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const tracked = sqlState(track(db, [U2], "m2"));
      assert.equal(await settledWithin(tracked, 300), false, "the insert waits for the delete");
      commitDelete.release();
      await deleting;
      assert.equal(await tracked, "23503");
      const { rows } = await db.query<{ n: number }>(
        "SELECT count(*) AS n FROM migrated_users WHERE migration_id = 'm2'",
      );
      assert.equal(rows[0]!.n, 0);
    } finally {
      await db.close();
    }
  },
});
