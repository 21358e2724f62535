/**
 * The cross-database source: a legacy `profiles` table in another database (OLD_DATABASE_URL).
 * Rows move page by page as one JSON document per batch into the set-based statement.
 */
import assert from "node:assert/strict";
import { sqlProviders } from "../../helpers/db.ts";
import { BatchMigrationEngine } from "../../../shared/batch/engine.ts";
import { LegacyTableSource } from "../../../shared/batch/legacy-source.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { AppError } from "../../../shared/result.ts";
import { countRows, PASSWORD_HASH } from "./helpers.ts";

const PROFILES = 300;

async function seedProfiles(old: SqlClient): Promise<void> {
  await old.exec(`
    CREATE TABLE profiles (
      id uuid PRIMARY KEY, email text, username text, first_name text, last_name text,
      avatar_url text, password_hash text, email_verified boolean NOT NULL DEFAULT false,
      deleted_at timestamptz, created_at timestamptz NOT NULL, updated_at timestamptz)`);
  await old.query(
    `INSERT INTO profiles (id, email, username, first_name, last_name, avatar_url, password_hash,
                           email_verified, deleted_at, created_at)
     SELECT md5('legacy-' || n)::uuid,
            CASE WHEN n % 97 = 0 THEN 'not-an-email' ELSE 'Legacy' || n || '@Example.org' END,
            'legacy' || n, 'First' || n, CASE WHEN n % 5 = 0 THEN NULL ELSE 'Last' END,
            CASE WHEN n % 4 = 0 THEN 'https://img.example/' || n || '.png' END,
            CASE WHEN n % 3 = 0 THEN NULL ELSE $2 END,
            n % 2 = 0,
            CASE WHEN n % 101 = 0 THEN timestamptz '2025-01-01' END,
            timestamptz '2023-06-01' + n * interval '1 hour'
     FROM generate_series(1, $1::integer) AS n`,
    [PROFILES, PASSWORD_HASH],
  );
}

const invalid = Array.from({ length: PROFILES }, (_, i) => i + 1)
  .filter((n) => n % 97 === 0 || n % 101 === 0).length;

for (const provider of sqlProviders()) {
  Deno.test(`legacy table in another database on ${provider.name}`, async (t) => {
    const old = await provider.open();
    const target = await provider.open();
    try {
      await seedProfiles(old);
      const source = new LegacyTableSource(old, {
        passwordHash: "password_hash",
        emailVerified: "email_verified",
        deletedAt: "deleted_at",
      });
      const engine = new BatchMigrationEngine({ db: target, source, options: { batchSize: 64 } });

      await t.step("moves the users set-based into Better Auth", async () => {
        const run = await engine.run({});
        assert.equal(run.done, true);
        assert.equal(run.processed, PROFILES);
        assert.equal(run.migrated, PROFILES - invalid);
        assert.equal(run.errors, invalid);
        const { rows } = await target.query<Record<string, unknown>>(
          `SELECT u.email, u.name, u."emailVerified", u.image, u."userMetadata", u."appMetadata",
                  (SELECT password FROM account a WHERE a."userId" = u.id
                     AND a."providerId" = 'credential') AS password
           FROM "user" u WHERE u.id = md5('legacy-4')::uuid`,
        );
        assert.deepEqual(rows[0], {
          email: "legacy4@example.org",
          name: "legacy4",
          emailVerified: true,
          image: "https://img.example/4.png",
          userMetadata: {
            username: "legacy4",
            first_name: "First4",
            last_name: "Last",
            avatar_url: "https://img.example/4.png",
            migrated_from: "legacy:profiles",
            original_id: (await target.query<{ id: string }>(
              "SELECT md5('legacy-4')::uuid::text AS id",
            )).rows[0]!.id,
            original_created_at: "2023-06-01T04:00:00.000Z",
          },
          appMetadata: { provider: "migration" },
          password: PASSWORD_HASH,
        });
        const { rows: status } = await target.query<{ supabase: number; better: number }>(
          `SELECT count(*) FILTER (WHERE supabase_migrated) AS supabase,
                  count(*) FILTER (WHERE better_auth_migrated) AS better
           FROM user_migration_status`,
        );
        assert.deepEqual(status[0], { supabase: 0, better: PROFILES - invalid });
        const { rows: errors } = await target.query<{ error_code: string; n: number }>(
          "SELECT error_code, count(*) AS n FROM migration_errors GROUP BY 1 ORDER BY 1",
        );
        assert.deepEqual(errors, [
          { error_code: "deleted_user", n: 2 },
          { error_code: "invalid_email", n: 3 },
        ]);
        const verify = await engine.verify({ migration_id: run.migration_id });
        assert.equal(verify.equal, true);
        assert.equal(verify.migrated, PROFILES - invalid);
      });

      await t.step("a second run over the moved users adds nothing", async () => {
        const before = await countRows(target);
        const again = await engine.run({ migration_id: "legacy-again" });
        assert.equal(again.migrated, 0);
        assert.equal(again.skipped, PROFILES - invalid);
        const after = await countRows(target);
        assert.deepEqual(
          [after.users, after.accounts, after.migrated_users],
          [before.users, before.accounts, before.migrated_users],
        );
      });

      await t.step("a source failing as a whole stops the migration, blames no user", async () => {
        await old.exec(`
          CREATE TABLE broken (id uuid PRIMARY KEY, email text, created_at text);
          INSERT INTO broken SELECT md5('broken-' || n)::uuid, 'b' || n || '@example.com', 'soon'
          FROM generate_series(1, 30) AS n;`);
        const broken = new BatchMigrationEngine({
          db: target,
          source: new LegacyTableSource(old, { table: "broken", metadata: [] }),
          options: { batchSize: 10 },
        });
        const run = await broken.run({});
        assert.equal(run.stopped_because, "failed");
        assert.equal(run.status, "failed");
        assert.match(run.last_error ?? "", /timestamp/);
        const { rows } = await target.query<{ n: number }>(
          "SELECT count(*) AS n FROM migration_errors WHERE migration_id = $1",
          [run.migration_id],
        );
        assert.equal(rows[0]!.n, 0);
        // Fixed at the source, the same migration resumes and completes.
        await old.exec("UPDATE broken SET created_at = '2024-05-01T00:00:00Z'");
        const resumed = await broken.run({ migration_id: run.migration_id });
        assert.equal(resumed.done, true);
        assert.equal(resumed.totals.migrated, 30);
      });

      await t.step("table and column names are validated, never spliced", () => {
        assert.throws(
          () => new LegacyTableSource(old, { table: "profiles; DROP TABLE x" }),
          (e: Error) => e.name === "ZodError" || e instanceof AppError,
        );
        assert.throws(() => new LegacyTableSource(old, { metadata: ['a" OR 1=1'] }));
      });
    } finally {
      await old.close();
      await target.close();
    }
  });
}
