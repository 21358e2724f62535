/**
 * Crash safety on PostgreSQL 15: a worker PROCESS is killed with SIGKILL at random moments in
 * 10 runs (mid-batch, mid-commit, between batches), then the migration is resumed. The result
 * must equal a clean run's — same verify checksums, every user exactly once, nothing lost.
 */
import assert from "node:assert/strict";
import { freshPostgres, TEST_DATABASE_URL } from "../../helpers/db.ts";
import { BatchMigrationEngine } from "../../../shared/batch/engine.ts";
import { SupabaseAuthSource } from "../../../shared/batch/supabase-source.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { AUTH_SCHEMA_SQL, countRows, invalidCount, seedAuthUsers } from "./helpers.ts";

const USERS = 8000;
const BATCH = 50;
const LEASE_TTL_MS = 800;
const WORKER = new URL("./worker-process.ts", import.meta.url).pathname;

async function seeded(): Promise<SqlClient & { url: string }> {
  const db = await freshPostgres();
  await db.exec(AUTH_SCHEMA_SQL);
  await seedAuthUsers(db, USERS, { invalid: true });
  return db;
}

function engineFor(db: SqlClient) {
  return new BatchMigrationEngine({
    db,
    source: new SupabaseAuthSource(db),
    options: { batchSize: BATCH, leaseTtlMs: LEASE_TTL_MS },
  });
}

/** Starts a worker process and SIGKILLs it `delayMs` after it reports ready. */
async function runAndKill(url: string, migrationId: string, delayMs: number): Promise<string> {
  // The running deno binary itself: node_modules/.bin/deno is a Node wrapper, and SIGKILL on the
  // wrapper would leave the real worker running.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      WORKER,
      url,
      migrationId,
      String(BATCH),
      String(LEASE_TTL_MS),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  while (!output.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) break;
    output += value;
  }
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  try {
    child.kill("SIGKILL");
  } catch {
    // Already finished on its own.
  }
  const status = await child.status;
  if (Deno.env.get("DEBUG_CRASH")) {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      output += value;
    }
    console.log(delayMs, status, output.split("\n").slice(-4));
  }
  reader.releaseLock();
  await child.stdout.cancel().catch(() => {});
  await child.stderr.cancel().catch(() => {});
  return status.signal ?? `exit ${status.code}`;
}

Deno.test({
  name: "SIGKILLed workers, then resume: same result as a clean run (PostgreSQL)",
  ignore: !TEST_DATABASE_URL,
  async fn() {
    const clean = await seeded();
    const crashed = await seeded();
    try {
      const cleanRun = await engineFor(clean).run({ migration_id: "m" });
      assert.equal(cleanRun.done, true);
      const cleanVerify = await engineFor(clean).verify({ migration_id: "m" });

      const engine = engineFor(crashed);
      await engine.run({ migration_id: "m", max_batches: 0 });
      const outcomes: string[] = [];
      for (let i = 0; i < 10; i++) {
        outcomes.push(await runAndKill(crashed.url, "m", Math.floor(Math.random() * 150)));
      }
      assert.deepEqual(outcomes, Array(10).fill("SIGKILL"));
      const killedMidway = await crashed.query<{ done: number; total: number }>(
        `SELECT count(*) FILTER (WHERE status = 'done') AS done, count(*) AS total
         FROM batch_leases WHERE migration_id = 'm'`,
      );
      assert.ok(killedMidway.rows[0]!.done < killedMidway.rows[0]!.total, "work was left over");

      // Resume: abandoned leases expire and are re-taken.
      for (;;) {
        const result = await engine.run({ migration_id: "m" });
        if (result.done) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const verify = await engine.verify({ migration_id: "m" });
      assert.equal(verify.equal, true);
      assert.equal(verify.source_checksum, cleanVerify.source_checksum);
      assert.equal(verify.target_checksum, cleanVerify.target_checksum);
      assert.deepEqual(await countRows(crashed), await countRows(clean));
      const { rows } = await crashed.query<Record<string, number>>(
        `SELECT processed_count AS processed, migrated_count AS migrated, error_count AS errors
         FROM migration_states WHERE id = 'm'`,
      );
      assert.deepEqual(rows[0], {
        processed: USERS,
        migrated: USERS - invalidCount(USERS),
        errors: invalidCount(USERS),
      });
      const gaps = await crashed.query<{ n: number }>(
        `SELECT count(*) AS n FROM auth.users u
         WHERE NOT EXISTS (SELECT 1 FROM migrated_users m WHERE m.original_id = u.id::text)
           AND NOT EXISTS (SELECT 1 FROM migration_errors e WHERE e.user_id = u.id::text)`,
      );
      assert.equal(gaps.rows[0]!.n, 0);
    } finally {
      await clean.close();
      await crashed.close();
    }
  },
});
