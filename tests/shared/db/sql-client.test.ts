import assert from "node:assert/strict";
import { sqlProviders } from "../../helpers/db.ts";

for (const provider of sqlProviders()) {
  Deno.test(`SqlClient on ${provider.name}`, async (t) => {
    const db = await provider.open();
    try {
      await db.exec(
        "CREATE TABLE sql_client_t (id int PRIMARY KEY, label text, n numeric, at timestamptz)",
      );

      await t.step("bound parameters, type parsing and row counts", async () => {
        const inserted = await db.query(
          "INSERT INTO sql_client_t VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)",
          [
            1,
            "'); DROP TABLE sql_client_t; --",
            2.5,
            new Date("2026-01-02T03:04:05Z"),
            2,
            "b",
            1,
            null,
          ],
        );
        assert.equal(inserted.rowCount, 2);
        const { rows } = await db.query<{ c: number; s: number; label: string; at: Date }>(
          "SELECT (SELECT count(*) FROM sql_client_t) AS c, n AS s, label, at FROM sql_client_t WHERE id = $1",
          [1],
        );
        assert.equal(rows[0]?.c, 2);
        assert.equal(rows[0]?.s, 2.5);
        assert.equal(rows[0]?.label, "'); DROP TABLE sql_client_t; --");
        assert.equal(rows[0]?.at.toISOString(), "2026-01-02T03:04:05.000Z");
        assert.ok(Array.isArray(rows) && Object.getPrototypeOf(rows) === Array.prototype);
      });

      await t.step("transactions commit, roll back on throw, and nest as savepoints", async () => {
        await assert.rejects(() =>
          db.transaction(async (tx) => {
            await tx.query("INSERT INTO sql_client_t (id, label) VALUES (10, 'rolled back')");
            throw new Error("boom");
          }), /boom/);
        await db.transaction(async (tx) => {
          await tx.query("INSERT INTO sql_client_t (id, label) VALUES (11, 'kept')");
          await assert.rejects(() =>
            tx.transaction(async (inner) => {
              await inner.query("INSERT INTO sql_client_t (id, label) VALUES (12, 'inner')");
              throw new Error("inner");
            }), /inner/);
          await tx.transaction((inner) => inner.query("INSERT INTO sql_client_t (id) VALUES (13)"));
        });
        const { rows } = await db.query<{ id: number }>(
          "SELECT id FROM sql_client_t WHERE id >= 10 ORDER BY id",
        );
        assert.deepEqual(rows.map((r) => r.id), [11, 13]);
      });

      await t.step("concurrent transactions do not interleave their writes", async () => {
        await db.exec(
          "CREATE TABLE sql_client_counter (n int NOT NULL); INSERT INTO sql_client_counter VALUES (0)",
        );
        await Promise.all(Array.from({ length: 20 }, () =>
          db.transaction(async (tx) => {
            const { rows } = await tx.query<{ n: number }>(
              "SELECT n FROM sql_client_counter FOR UPDATE",
            );
            await tx.query("UPDATE sql_client_counter SET n = $1", [rows[0]!.n + 1]);
          })));
        const { rows } = await db.query<{ n: number }>("SELECT n FROM sql_client_counter");
        assert.equal(rows[0]?.n, 20);
      });
    } finally {
      await db.close();
    }
  });
}
