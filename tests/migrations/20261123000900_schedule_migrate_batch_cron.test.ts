/**
 * The pg_cron scheduling migration must apply cleanly — as a no-op — wherever pg_cron and pg_net
 * are not both installed (PGlite, plain PostgreSQL, CI), and the job it would schedule must be
 * valid SQL that calls migrate-batch with the Vault-held URL and service-role key.
 */
import assert from "node:assert/strict";
import { listAppliedMigrations, loadMigrationFiles } from "../../local/db/migration-runner.ts";
import type { SqlClient } from "../../shared/db/sql-client.ts";
import { freshPglite, freshPostgres, TEST_DATABASE_URL } from "../helpers/db.ts";

const NAME = "20261123000900_schedule_migrate_batch_cron.sql";
const file = (await loadMigrationFiles()).find((f) => f.name === NAME)!;

async function assertNoOp(db: SqlClient): Promise<void> {
  assert.ok(
    (await listAppliedMigrations(db)).some((m) => m.name === NAME),
    "applied by the runner",
  );
  // Applying it again (e.g. `supabase db push` after the runner) is harmless.
  await db.exec(file.sql);
  const { rows } = await db.query<{ cron: string | null; installed: number }>(
    `SELECT to_regnamespace('cron')::text AS cron,
            (SELECT count(*) FROM pg_extension WHERE extname IN ('pg_cron', 'pg_net')) AS installed`,
  );
  assert.equal(rows[0]!.installed < 2, true);
  if (rows[0]!.cron !== null) {
    const jobs = await db.query(
      "SELECT 1 FROM cron.job WHERE jobname = 'edge-migrator-migrate-batch'",
    );
    assert.equal(jobs.rowCount, 0, "nothing scheduled without pg_net");
  }
}

Deno.test("the cron migration is a clean no-op on PGlite", async () => {
  const db = await freshPglite();
  try {
    await assertNoOp(db);
  } finally {
    await db.close();
  }
});

Deno.test({
  name: "the cron migration is a clean no-op on PostgreSQL 15 (no pg_net there)",
  ignore: !TEST_DATABASE_URL,
  async fn() {
    const db = await freshPostgres();
    try {
      await assertNoOp(db);
    } finally {
      await db.close();
    }
  },
});

Deno.test("the scheduled job posts to <project_url>/functions/v1/migrate-batch with the Vault key", async () => {
  const job = /\$job\$([\s\S]*?)\$job\$/.exec(file.sql)?.[1];
  assert.ok(job, "the migration holds the job's SQL between $job$ quotes");
  assert.match(file.sql, /cron\.schedule\(\$1, \$2, \$3\)/);
  assert.match(file.sql, /'\* \* \* \* \*'/);

  const db = await freshPglite();
  try {
    // pg_net and Vault as Supabase defines the parts the job uses: net.http_post(...) and
    // vault.decrypted_secrets(name, decrypted_secret).
    await db.exec(`
      CREATE SCHEMA net;
      CREATE TABLE net.calls (url text, headers jsonb, body jsonb, timeout_milliseconds int);
      CREATE FUNCTION net.http_post(url text, body jsonb DEFAULT '{}'::jsonb, params jsonb DEFAULT '{}'::jsonb,
                                    headers jsonb DEFAULT '{}'::jsonb, timeout_milliseconds int DEFAULT 5000)
      RETURNS bigint LANGUAGE sql AS $$
        INSERT INTO net.calls VALUES (url, headers, body, timeout_milliseconds) RETURNING 1::bigint
      $$;
      CREATE SCHEMA vault;
      CREATE TABLE vault.secrets_store (name text, decrypted_secret text);
      CREATE VIEW vault.decrypted_secrets AS SELECT name, decrypted_secret FROM vault.secrets_store;
      INSERT INTO vault.secrets_store VALUES
        ('project_url', 'https://abcd.supabase.co'), ('service_role_key', 'service-role-jwt');
    `);
    const result = await db.query<{ request_id: number }>(job);
    assert.equal(result.rows[0]!.request_id, 1);
    const { rows } = await db.query<
      { url: string; headers: Record<string, string>; body: unknown; timeout_milliseconds: number }
    >(
      "SELECT * FROM net.calls",
    );
    assert.deepEqual(rows, [{
      url: "https://abcd.supabase.co/functions/v1/migrate-batch",
      headers: { "Content-Type": "application/json", Authorization: "Bearer service-role-jwt" },
      body: {},
      timeout_milliseconds: 60000,
    }]);
  } finally {
    await db.close();
  }
});
