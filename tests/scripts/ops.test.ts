/**
 * `deno task ops` as an operator runs it: a separate process against a real database (a
 * PostgreSQL database of its own, and a PGlite data directory like the dev server's), checked
 * through the database afterwards. Exit codes: 0 done, 1 refused, 2 usage.
 */
import assert from "node:assert/strict";
import type { SqlClient } from "../../shared/db/sql-client.ts";
import { openPglite } from "../../local/db/pglite-client.ts";
import { openStandinDatabase } from "../../local/standin/database.ts";
import { freshPostgres, TEST_DATABASE_URL } from "../helpers/db.ts";
import { ops } from "./run-ops.ts";

async function one<T>(db: SqlClient, sql: string, params: unknown[] = []): Promise<T | undefined> {
  return (await db.query<T>(sql, params)).rows[0];
}

Deno.test({
  name: "ops CLI against PostgreSQL (DATABASE_URL)",
  ignore: !TEST_DATABASE_URL,
  async fn(t) {
    const db = await freshPostgres({ max: 2 });
    const env = { DATABASE_URL: db.url };
    try {
      await t.step("status on an empty database", async () => {
        const run = await ops(env, "status");
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /emergency rollback: off/);
        assert.match(run.stdout, /rollouts:\n {2}none/);
      });

      await t.step("start with a plan, hold and reason; the operator is audited", async () => {
        const run = await ops(
          env,
          "start",
          "signup",
          "--steps",
          "10,50,100",
          "--hold",
          "1m",
          "--reason",
          "go live",
          "--by",
          "alice",
        );
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /started: signup: running · at 10 % · step 1\/3/);
        const row = await one<{ status: string; hold_seconds: number; started_by: string }>(
          db,
          "SELECT status, hold_seconds, started_by FROM rollouts WHERE function_name = 'signup'",
        );
        assert.deepEqual(row, { status: "running", hold_seconds: 60, started_by: "alice" });
        const flag = await one<{ rollout_percentage: number; updated_by: string }>(
          db,
          "SELECT rollout_percentage, updated_by FROM runtime_flags WHERE function_name = 'signup'",
        );
        assert.deepEqual(flag, { rollout_percentage: 10, updated_by: "alice" });
      });

      await t.step("a refused operation exits 1 with the error code", async () => {
        const run = await ops(env, "start", "signup");
        assert.equal(run.code, 1);
        assert.match(run.stderr, /^conflict: a rollout of signup is running/m);
        const invalid = await ops(env, "start", "Not_A_Function");
        assert.equal(invalid.code, 1);
        assert.match(invalid.stderr, /validation_failed: functionName/);
      });

      await t.step("set, resume, status FN --json, planned rollback", async () => {
        assert.equal((await ops(env, "set", "signup", "42.5")).code, 0);
        const paused = await one<{ status: string }>(
          db,
          "SELECT status FROM rollouts WHERE function_name = 'signup'",
        );
        assert.equal(paused?.status, "paused");
        assert.equal((await ops(env, "resume", "signup")).code, 0);
        const status = await ops(env, "status", "signup", "--json");
        assert.equal(status.code, 0, status.stderr);
        const view = JSON.parse(status.stdout);
        assert.equal(view.effectivePercentage, 10);
        assert.equal(view.rollout.status, "running");
        const rollback = await ops(env, "rollback", "signup", "--steps", "5,0");
        assert.equal(rollback.code, 0, rollback.stderr);
        assert.match(rollback.stdout, /signup: planned rollback 5 → 0 %/);
      });

      await t.step("emergency rollback needs --reason and --yes off a terminal", async () => {
        const noReason = await ops(env, "emergency-rollback", "--yes");
        assert.equal(noReason.code, 2);
        assert.match(noReason.stderr, /needs --reason/);
        const noYes = await ops(env, "emergency-rollback", "--reason", "drill");
        assert.equal(noYes.code, 2);
        assert.match(noYes.stderr, /needs --yes when not run from a terminal/);
        const global = await one(db, "SELECT 1 FROM runtime_flags WHERE function_name = '*'");
        assert.equal(global, undefined, "nothing changed");
      });

      await t.step("emergency rollback and its undo", async () => {
        const run = await ops(
          env,
          "emergency-rollback",
          "--reason",
          "drill",
          "--yes",
          "--by",
          "bob",
        );
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /EMERGENCY ROLLBACK ENGAGED/);
        const row = await one<{ force_original: boolean; updated_by: string; reason: string }>(
          db,
          "SELECT force_original, updated_by, reason FROM runtime_flags WHERE function_name = '*'",
        );
        assert.deepEqual(row, { force_original: true, updated_by: "bob", reason: "drill" });
        const status = JSON.parse((await ops(env, "status", "--json")).stdout);
        assert.equal(status.killSwitch.engaged, true);
        const undo = await ops(env, "undo-emergency", "--yes", "--reason", "drill over");
        assert.equal(undo.code, 0, undo.stderr);
        const after = await one<{ force_original: boolean | null }>(
          db,
          "SELECT force_original FROM runtime_flags WHERE function_name = '*'",
        );
        assert.equal(after?.force_original, null);
        const log = await db.query<{ status: string }>(
          `SELECT status FROM migration_log WHERE component = 'ops'
            AND phase = 'emergency_rollback' ORDER BY started_at`,
        );
        assert.deepEqual(log.rows.map((r) => r.status), ["completed", "info"]);
      });

      await t.step("evaluate and usage errors", async () => {
        const evaluate = await ops(env, "evaluate");
        assert.equal(evaluate.code, 0, evaluate.stderr);
        assert.match(evaluate.stdout, /signup: (held|stepped_down|rolled_back)/);
        assert.equal((await ops(env, "bogus")).code, 2);
        assert.equal((await ops(env, "start")).code, 2);
        assert.equal((await ops(env, "set", "signup", "abc")).code, 2);
        assert.equal((await ops(env, "start", "x", "--hold", "soon")).code, 2);
        assert.equal((await ops(env, "status", "--nope")).code, 2);
      });
    } finally {
      await db.close();
    }
  },
});

Deno.test("ops CLI against the embedded PGlite data directory", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "ops-cli-" });
  const dataDir = `${dir}/pglite`;
  const cacheDir = `${dir}/cache`;
  try {
    const opened = await openStandinDatabase({ dataDir, cacheDir });
    await opened.db.close();
    const env = { PGLITE_DATA_DIR: dataDir };

    await t.step("start and emergency rollback write the data directory", async () => {
      assert.equal((await ops(env, "start", "login", "--steps", "20,100")).code, 0);
      const run = await ops(env, "emergency-rollback", "--reason", "pglite drill", "--yes");
      assert.equal(run.code, 0, run.stderr);
      const db = await openPglite({ dataDir });
      try {
        const flags = await db.query<{ function_name: string; value: string }>(
          `SELECT function_name, coalesce(force_original::text, rollout_percentage::text) AS value
             FROM runtime_flags ORDER BY function_name`,
        );
        assert.deepEqual(flags.rows, [
          { function_name: "*", value: "true" },
          { function_name: "login", value: "20.00" },
        ]);
      } finally {
        await db.close();
      }
    });

    await t.step("refuses a data directory another process has open", async () => {
      // As the dev server holds it: opened through the stand-in, which locks the directory.
      const holder = await openStandinDatabase({ dataDir, cacheDir: null, lockOwner: "ops test" });
      try {
        const run = await ops(env, "status");
        assert.equal(run.code, 2);
        assert.match(run.stderr, /is in use by another process \(pid \d+: ops test/);
        assert.match(run.stderr, /admin API/);
      } finally {
        await holder.db.close();
      }
      assert.equal((await ops(env, "status")).code, 0, "usable again once it is closed");
    });

    await t.step("a missing data directory is a clear usage error", async () => {
      const run = await ops({ PGLITE_DATA_DIR: `${dir}/nothing-here` }, "status");
      assert.equal(run.code, 2);
      assert.match(run.stderr, /no PGlite database at/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "ops CLI canary and batch levers against PostgreSQL",
  ignore: !TEST_DATABASE_URL,
  async fn() {
    const db = await freshPostgres({ max: 2 });
    const env = { DATABASE_URL: db.url };
    try {
      const canary = await ops(
        env,
        "canary",
        "login",
        "--on",
        "--percentage",
        "5",
        "--selection",
        "email_domain",
        "--domains",
        "staff.example.com",
        "--reason",
        "staff first",
      );
      assert.equal(canary.code, 0, canary.stderr);
      assert.match(canary.stdout, /login: canary on at 5 %/);
      const row = await one<{ enabled: boolean; domains: string[]; reason: string }>(
        db,
        `SELECT canary_enabled AS enabled, canary_email_domains AS domains, reason
           FROM runtime_flags WHERE function_name = 'login'`,
      );
      assert.deepEqual(row, {
        enabled: true,
        domains: ["staff.example.com"],
        reason: "staff first",
      });
      const bad = await ops(env, "canary", "login", "--selection", "nobody");
      assert.equal(bad.code, 1, "refused by the flags store");

      const paused = await ops(env, "batch", "pause", "--reason", "maintenance");
      assert.equal(paused.code, 0, paused.stderr);
      assert.match(paused.stdout, /batch: HELD \(paused\)/);
      const set = await ops(env, "batch", "set", "--rate", "200", "--window", "22:00-06:00");
      assert.equal(set.code, 0, set.stderr);
      assert.match(set.stdout, /throttle 200 users\/s · window 22:00–06:00 UTC/);
      const status = await ops(env, "batch", "status", "--json");
      assert.equal(status.code, 0, status.stderr);
      const state = JSON.parse(status.stdout);
      assert.equal(state.paused, true);
      assert.equal(state.maxUsersPerSecond, 200);
      assert.equal((await ops(env, "batch", "set", "--window", "22-06")).code, 2, "usage");
      const refused = await ops(env, "batch", "set", "--window", "25:00-01:00");
      assert.equal(refused.code, 1, "refused, naming the field");
      assert.match(refused.stderr, /window\.start/);
      assert.equal((await ops(env, "batch")).code, 2);
    } finally {
      await db.close();
    }
  },
});
