/**
 * SqlDatabaseService behaviour beyond the provider contract (which lives in
 * database-service.contract.test.ts): batching, schema-qualified names, nested transactions,
 * views, and the catalog following schema changes.
 */
import assert from "node:assert/strict";
import { SqlDatabaseService } from "../../../shared/db/sql-database-service.ts";
import type { AppError, Result } from "../../../shared/result.ts";
import { ok } from "../../../shared/result.ts";
import { sqlProviders } from "../../helpers/db.ts";

function value<T>(result: Result<T, AppError>): T {
  if (!result.ok) assert.fail(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

for (const provider of sqlProviders()) {
  Deno.test(`SqlDatabaseService on ${provider.name}`, async (t) => {
    const sql = await provider.open();
    await sql.exec(`
      CREATE SCHEMA inventory;
      CREATE TABLE inventory.parts (id int PRIMARY KEY, label text NOT NULL UNIQUE, qty int DEFAULT 1);
      CREATE VIEW inventory.part_labels AS SELECT id, upper(label) AS label FROM inventory.parts;`);
    // Four parameters per statement: every batch below spans several INSERTs.
    const db = new SqlDatabaseService(sql, { maxParamsPerStatement: 4 });
    try {
      await t.step("reports its provider from the client's dialect", () => {
        assert.equal(db.provider, provider.name);
      });

      await t.step("large batches split into statements inside one transaction", async () => {
        const rows = Array.from({ length: 9 }, (_, i) => ({ id: i + 1, label: `p${i + 1}` }));
        const inserted = value(await db.createMany("inventory.parts", rows));
        assert.deepEqual(inserted.map((r) => r.id), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert.ok(inserted.every((r) => r.qty === 1));
        const clash = Array.from(
          { length: 6 },
          (_, i) => ({ id: 100 + i, label: i === 5 ? "p1" : `n${i}` }),
        );
        const failed = await db.createMany("inventory.parts", clash);
        assert.equal(failed.ok, false);
        assert.equal(
          value(await db.count("inventory.parts", { id: { gte: 100 } })),
          0,
          "all or nothing",
        );
      });

      await t.step("schema-qualified tables and views read like any table", async () => {
        const labels = value(
          await db.read("inventory.part_labels", {
            where: { id: { lte: 2 } },
            orderBy: { id: "asc" },
          }),
        );
        assert.deepEqual(labels, [{ id: 1, label: "P1" }, { id: 2, label: "P2" }]);
        const missing = await db.read("inventory.nothing");
        assert.equal(!missing.ok && missing.error.message, 'unknown table "inventory.nothing"');
      });

      await t.step("columns and tables added later are found without a restart", async () => {
        value(await db.read("inventory.parts", { limit: 1 }));
        await sql.exec("ALTER TABLE inventory.parts ADD COLUMN colour text");
        const painted = value(await db.update("inventory.parts", 1, { colour: "red" }));
        assert.equal(painted.colour, "red");
        await sql.exec("CREATE TABLE inventory.bins (id int PRIMARY KEY)");
        assert.equal(value(await db.create("inventory.bins", { id: 1 })).id, 1);
        await sql.exec("ALTER TABLE inventory.parts DROP COLUMN colour");
        const stale = await db.read("inventory.parts", { select: ["colour"] });
        assert.equal(!stale.ok && stale.error.code, "validation_failed");
      });

      await t.step(
        "nested transactions are savepoints: an inner failure spares the outer work",
        async () => {
          const outer = value(
            await db.transaction(async (tx) => {
              value(await tx.create("inventory.bins", { id: 2 }));
              const inner = await tx.transaction(async (nested) => {
                value(await nested.create("inventory.bins", { id: 3 }));
                return await nested.create("inventory.bins", { id: 2 });
              });
              assert.equal(!inner.ok && inner.error.code, "conflict");
              return ok("outer kept");
            }),
          );
          assert.equal(outer, "outer kept");
          const ids = value(await db.read("inventory.bins", { orderBy: { id: "asc" } })).map((r) =>
            r.id
          );
          assert.deepEqual(ids, [1, 2]);
        },
      );

      await t.step("rawQuery returns the driver's rows and maps errors", async () => {
        const rows = value(
          await db.rawQuery<{ n: number; now: Date }>(
            "SELECT count(*) AS n, now() AS now FROM inventory.parts",
          ),
        );
        assert.equal(rows[0]?.n, 9);
        assert.ok(rows[0]?.now instanceof Date, "raw rows keep driver types");
        const broken = await db.rawQuery("SELEC 1");
        assert.equal(!broken.ok && broken.error.code, "database_error");
      });
    } finally {
      await sql.close();
    }
  });
}
