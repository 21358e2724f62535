import assert from "node:assert/strict";
import { MigrationStatusRepository } from "../../../shared/auth/migration-status.ts";
import { sqlProviders } from "../../helpers/db.ts";

for (const provider of sqlProviders()) {
  Deno.test(`MigrationStatusRepository on ${provider.name}`, async () => {
    const db = await provider.open();
    const repo = new MigrationStatusRepository(db);
    try {
      const [a, b, c] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
      await repo.markPresent(a, "a@example.com", ["supabase"]);
      const first = (await repo.get(a))!.supabaseMigratedAt;
      await repo.markPresent(a, "a@example.com", ["supabase", "better_auth"]);
      await repo.markValidated(a, "a@example.com", true);
      const row = (await repo.get(a))!;
      assert.deepEqual(
        [row.supabaseMigrated, row.betterAuthMigrated, row.dataValidated],
        [true, true, true],
      );
      assert.deepEqual(row.supabaseMigratedAt, first, "the first timestamp is kept");

      await repo.markPresent(b, "b@example.com", ["better_auth"]);
      await repo.markPresent(c, "c@example.com", ["supabase", "better_auth"]);
      await repo.markAbsent(c, "supabase");
      const absent = (await repo.get(c))!;
      assert.deepEqual([absent.supabaseMigrated, absent.supabaseMigratedAt], [false, null]);

      await repo.recordMigrated(a, "a@example.com", "lazy");
      await repo.recordMigrated(a, "a@example.com", "reconciliation");
      const migrated = await db.query(
        `SELECT migrated_via FROM migrated_users WHERE original_id = $1`,
        [a],
      );
      assert.deepEqual(migrated.rows, [{ migrated_via: "lazy" }], "first writer wins");

      assert.deepEqual(await repo.stats(), {
        total: 3,
        supabaseMigrated: 1,
        betterAuthMigrated: 3,
        fullyMigrated: 1,
        completionRate: (1 / 3) * 100,
      });
      assert.equal(await repo.get(crypto.randomUUID()), null);
    } finally {
      await db.close();
    }
  });
}
