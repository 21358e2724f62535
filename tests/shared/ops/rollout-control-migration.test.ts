/**
 * migrations/20261123000700_rollout_control.sql: the tables' constraints hold the controller's
 * invariants, re-applying is harmless, and the pg_cron job it schedules on Supabase posts to the
 * evaluate route with the Vault-held key (checked against pg_net/Vault look-alikes on PGlite).
 */
import assert from "node:assert/strict";
import { listAppliedMigrations, loadMigrationFiles } from "../../../local/db/migration-runner.ts";
import { freshPglite } from "../../helpers/db.ts";

const NAME = "20261123000700_rollout_control.sql";
const file = (await loadMigrationFiles()).find((f) => f.name === NAME)!;

Deno.test("rollout control migration: constraints, idempotence, scheduled job", async (t) => {
  const db = await freshPglite();
  const insert = (columns: string, values: string) =>
    db.query(
      `INSERT INTO rollouts (function_name, status, steps, hold_seconds, analysis, step_entered_at${columns})
       VALUES ('fn', 'running', '{1,50,100}', 60, '{}', now()${values})`,
    );
  try {
    await t.step("applied by the runner, and re-applying is a no-op", async () => {
      assert.ok((await listAppliedMigrations(db)).some((m) => m.name === NAME));
      await db.exec(file.sql);
    });

    await t.step("constraints hold the controller's invariants", async () => {
      await insert("", "");
      await db.query("DELETE FROM rollouts");
      for (
        const [columns, values, why] of [
          [", current_step", ", -1", "negative step"],
          [", paused_from", ", 'running'", "paused_from without paused"],
        ] as const
      ) {
        await assert.rejects(insert(columns, values), /violates/, why);
      }
      await assert.rejects(
        db.query(
          `INSERT INTO rollouts (function_name, status, steps, hold_seconds, analysis, step_entered_at)
           VALUES ('fn', 'aborted', '{1}', 60, '{}', now())`,
        ),
        /violates/,
        "aborted needs a reason",
      );
      await assert.rejects(
        db.query(
          `INSERT INTO rollouts (function_name, status, steps, hold_seconds, analysis, step_entered_at)
           VALUES ('fn', 'running', '{0,101}', 60, '{}', now())`,
        ),
        /violates/,
        "steps within (0, 100]",
      );
      await assert.rejects(
        db.query(
          `INSERT INTO rollouts (function_name, status, steps, hold_seconds, analysis, step_entered_at)
           VALUES ('*', 'running', '{1}', 60, '{}', now())`,
        ),
        /violates/,
        "the global flags row is not a rollout",
      );
      await assert.rejects(
        db.query("INSERT INTO ops_alerts (kind, severity, title) VALUES ('x', 'fatal', 't')"),
        /violates/,
      );
    });

    await t.step("the scheduled job posts to the evaluate route with the Vault key", async () => {
      const job = /\$job\$([\s\S]*?)\$job\$/.exec(file.sql)?.[1];
      assert.ok(job);
      assert.match(file.sql, /'edge-migrator-rollout-evaluate', '\* \* \* \* \*'/);
      await db.exec(`
        CREATE SCHEMA net;
        CREATE TABLE net.calls (url text, headers jsonb, body jsonb, timeout_milliseconds int);
        CREATE FUNCTION net.http_post(url text, body jsonb DEFAULT '{}'::jsonb,
          params jsonb DEFAULT '{}'::jsonb, headers jsonb DEFAULT '{}'::jsonb,
          timeout_milliseconds int DEFAULT 5000)
        RETURNS bigint LANGUAGE sql AS $$
          INSERT INTO net.calls VALUES (url, headers, body, timeout_milliseconds) RETURNING 1::bigint
        $$;
        CREATE SCHEMA vault;
        CREATE TABLE vault.secrets_store (name text, decrypted_secret text);
        CREATE VIEW vault.decrypted_secrets AS SELECT name, decrypted_secret FROM vault.secrets_store;
        INSERT INTO vault.secrets_store VALUES
          ('project_url', 'https://abcd.supabase.co'), ('service_role_key', 'service-role-jwt');
      `);
      await db.query(job);
      const { rows } = await db.query("SELECT * FROM net.calls");
      assert.deepEqual(rows, [{
        url: "https://abcd.supabase.co/functions/v1/migrate-batch/admin/rollouts/evaluate",
        headers: { "Content-Type": "application/json", Authorization: "Bearer service-role-jwt" },
        body: {},
        timeout_milliseconds: 30000,
      }]);
    });
  } finally {
    await db.close();
  }
});
