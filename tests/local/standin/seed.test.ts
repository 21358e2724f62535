import assert from "node:assert/strict";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { openStandinDatabase } from "../../../local/standin/database.ts";
import { runSeeders, seededRandom, type Seeder } from "../../../local/standin/seed.ts";
import { DEFAULT_SEEDERS } from "../../../local/standin/seeders.ts";

const countUsers = async (db: SqlClient) =>
  (await db.query<{ n: number }>("SELECT count(*) AS n FROM auth.users")).rows[0]!.n;

Deno.test("seeders run once per database, atomically with their record", async () => {
  const { db } = await openStandinDatabase({ dataDir: null });
  try {
    const first = await runSeeders(db, DEFAULT_SEEDERS, { userCount: 12 });
    assert.deepEqual(first.seeded.map((s) => s.name), [
      "legacy_supabase_users",
      "coordinator-demo",
      "demo-notes",
    ]);
    // Notes for the demo user and five others (seed-notes.ts), two each for the others.
    assert.deepEqual(first.seeded[2]!.summary, { rows: 3 + 5 * 2, users: 6 });
    assert.equal((first.seeded[0]!.summary as { users: number }).users, 12);
    assert.equal(await countUsers(db), 12);

    const second = await runSeeders(db, DEFAULT_SEEDERS, { userCount: 12 });
    assert.deepEqual(second.skipped, ["legacy_supabase_users", "coordinator-demo", "demo-notes"]);
    assert.equal(await countUsers(db), 12, "nothing seeded twice");

    const failing: Seeder = {
      name: "half_done",
      async seed(tx) {
        await tx.query("INSERT INTO standin.applied_scripts (name, checksum) VALUES ('x', 'y')");
        throw new Error("interrupted");
      },
    };
    await assert.rejects(runSeeders(db, [failing], { userCount: 0 }), /interrupted/);
    const leftovers = await db.query(
      "SELECT 1 FROM standin.seed_runs WHERE name = 'half_done' UNION ALL SELECT 1 FROM standin.applied_scripts WHERE name = 'x'",
    );
    assert.equal(
      leftovers.rowCount,
      0,
      "a failed seeder leaves nothing behind and runs again next start",
    );

    const recorded = await db.query<{ summary: { users: number } }>(
      "SELECT summary FROM standin.seed_runs WHERE name = 'legacy_supabase_users'",
    );
    assert.equal(recorded.rows[0]!.summary.users, 12);
    const twin = { name: "twin", seed: async () => {} };
    await assert.rejects(
      runSeeders(db, [twin, twin], { userCount: 0 }),
      /two seeders are named twin/,
    );
  } finally {
    await db.close();
  }
});

Deno.test("seededRandom is deterministic and spread over [0, 1)", () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const values = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(values.slice(0, 5), Array.from({ length: 5 }, () => b()));
  assert.ok(values.every((v) => v >= 0 && v < 1));
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05);
});
