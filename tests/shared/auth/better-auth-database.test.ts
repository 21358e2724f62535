/**
 * The Kysely instance Better Auth runs on shares the database with everything else. On PGlite
 * (one connection) a Better Auth transaction must stay isolated: queries from other callers wait
 * for it instead of slipping into it, and a rollback undoes only its own work.
 */
import assert from "node:assert/strict";
import { sql } from "kysely";
import { kyselyFor } from "../../../shared/auth/better-auth-database.ts";
import { sqlProviders } from "../../helpers/db.ts";

for (const provider of sqlProviders()) {
  Deno.test(`kyselyFor on ${provider.name}: transactions commit, roll back and stay isolated`, async () => {
    const db = await provider.open();
    const kysely = kyselyFor(db);
    try {
      await db.exec(`CREATE TABLE kx (id int PRIMARY KEY, note text)`);

      await kysely.transaction().execute(async (trx) => {
        await sql`INSERT INTO kx VALUES (1, 'committed')`.execute(trx);
      });
      await assert.rejects(
        kysely.transaction().execute(async (trx) => {
          await sql`INSERT INTO kx VALUES (2, 'rolled back')`.execute(trx);
          throw new Error("abort");
        }),
        /abort/,
      );

      // While a Kysely transaction is open and has written, another caller's write must not
      // join it: the transaction rolls back and the outside write survives.
      let release!: () => void;
      const holding = new Promise<void>((resolve) => (release = resolve));
      let inserted!: () => void;
      const insertedInside = new Promise<void>((resolve) => (inserted = resolve));
      const transaction = kysely.transaction().execute(async (trx) => {
        await sql`INSERT INTO kx VALUES (3, 'inside')`.execute(trx);
        inserted();
        await holding;
        throw new Error("roll back the inside write");
      }).catch((error: Error) => error.message);
      await insertedInside;
      const outside = db.query(`INSERT INTO kx VALUES (4, 'outside')`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      release();
      assert.equal(await transaction, "roll back the inside write");
      await outside;

      const { rows } = await db.query<{ id: number; note: string }>(
        `SELECT id, note FROM kx ORDER BY id`,
      );
      assert.deepEqual(rows, [{ id: 1, note: "committed" }, { id: 4, note: "outside" }]);

      // Destroying the Kysely instance leaves the shared database open.
      await kysely.destroy();
      assert.equal((await db.query(`SELECT 1 AS one`)).rows.length, 1);
    } finally {
      await db.close();
    }
  });
}
