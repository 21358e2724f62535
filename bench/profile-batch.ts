/**
 * Where a set-based batch spends its time (issue 16 profiling aid): seeds PROFILE_USERS users
 * of every kind (default 50,000) into a scratch database on TEST_DATABASE_URL's server, runs one
 * migration (PROFILE_BATCH users per lease, default 5,000) through a SqlClient that times every
 * statement (grouped by its first words: round trips per batch and their time), then
 * EXPLAIN (ANALYZE, BUFFERS) one batch's write statement, rolled back (PROFILE_EXPLAIN=0 skips
 * it; PROFILE_PLAN_FILE=path writes the plan there instead of stdout; PROFILE_EXPLAIN_AFTER=k
 * explains the batch after k others, against a target that holds their users).
 *
 * Run: PROFILE_USERS=50000 deno run -A bench/profile-batch.ts
 */
import { BatchMigrationEngine } from "../shared/batch/engine.ts";
import { SupabaseAuthSource } from "../shared/batch/supabase-source.ts";
import type { SqlClient } from "../shared/db/sql-client.ts";
import { insertEveryKind } from "../local/standin/seed-every-kind.ts";
import { scratchDatabase } from "./scratch-db.ts";
import { acquireLease } from "../shared/batch/leases.ts";
import { writeBatchStatement } from "../shared/batch/statements.ts";
import { TotpCarrier } from "../shared/batch/mfa.ts";
import { prepareBatchWrites } from "../shared/batch/created-rows.ts";

const USERS = Number(Deno.env.get("PROFILE_USERS") ?? 50_000);
const BATCH = Number(Deno.env.get("PROFILE_BATCH") ?? 5_000);
const EXPLAIN_AFTER = Number(Deno.env.get("PROFILE_EXPLAIN_AFTER") ?? 0);
const SECRET = "bench-fidelity-better-auth-secret-0123456789";

const stats = new Map<string, { n: number; ms: number }>();
function note(text: string, ms: number) {
  const key = text.replace(/\s+/g, " ").trim().slice(0, 60);
  const s = stats.get(key) ?? { n: 0, ms: 0 };
  s.n++;
  s.ms += ms;
  stats.set(key, s);
}
function timedClient(db: SqlClient): SqlClient {
  const c: SqlClient = Object.create(db);
  Object.assign(c, {
    query: async (text: string, params?: readonly unknown[]) => {
      const t = performance.now();
      try {
        return await db.query(text, params);
      } finally {
        note(text, performance.now() - t);
      }
    },
    transaction: <T>(fn: (tx: SqlClient) => Promise<T>) => {
      const t = performance.now();
      return db.transaction((tx) => fn(timedClient(tx))).finally(() =>
        note("<transaction total>", performance.now() - t)
      );
    },
  });
  return c;
}

const adminUrl = Deno.env.get("TEST_DATABASE_URL");
if (!adminUrl) {
  console.log("TEST_DATABASE_URL is not set: the batch profile needs PostgreSQL 15");
  Deno.exit(0);
}
const scratch = await scratchDatabase(adminUrl, "profile");
try {
  await insertEveryKind(scratch.db, { to: USERS, prefix: "fid-" });
  await scratch.db.exec("ANALYZE");
  const db = timedClient(scratch.db);
  const engine = new BatchMigrationEngine({
    db,
    source: new SupabaseAuthSource(db),
    betterAuthSecret: SECRET,
    options: { batchSize: BATCH, budgetMs: 3_600_000 },
  });
  const t = performance.now();
  const result = await engine.run({ migration_id: "profile" });
  const seconds = (performance.now() - t) / 1000;
  console.log(
    `${result.migrated} migrated in ${seconds.toFixed(2)} s: ${
      Math.round(USERS / seconds)
    } users/s`,
  );
  for (const [key, s] of [...stats].sort((a, b) => b[1].ms - a[1].ms)) {
    console.log(`${s.ms.toFixed(0).padStart(7)} ms ${String(s.n).padStart(5)}×  ${key}`);
  }
  if (Deno.env.get("PROFILE_EXPLAIN") !== "0") {
    // One more batch, explained: a fresh migration over emptied targets.
    await scratch.db.exec(`TRUNCATE "user", account, "twoFactor", session, migrated_users,
      user_migration_status, migration_errors, batch_leases, batch_duplicate_emails,
      migration_states CASCADE`);
    const e2 = new BatchMigrationEngine({
      db: scratch.db,
      source: new SupabaseAuthSource(scratch.db),
      betterAuthSecret: SECRET,
      options: { batchSize: BATCH, budgetMs: 3_600_000 },
    });
    // PROFILE_EXPLAIN_AFTER=k: k batches first, so the explained one meets a target that holds
    // their users (look-ups into a filled table, not an empty one).
    await e2.run({ migration_id: "explain", max_batches: EXPLAIN_AFTER });
    const lease = (await acquireLease(scratch.db, "explain", "w", 600_000))!;
    const row = (await scratch.db.query<{ config: { rules: never; as_of: string } }>(
      "SELECT config FROM migration_states WHERE id = 'explain'",
    )).rows[0]!;
    const statement = await writeBatchStatement(
      {
        migrationId: "explain",
        source: new SupabaseAuthSource(scratch.db),
        rules: row.config.rules,
        asOf: new Date(row.config.as_of),
        totp: new TotpCarrier(SECRET),
        duplicates: { kind: "table" },
      },
      { kind: "range", range: lease.range },
      new Date(),
    );
    await scratch.db.transaction(async (tx) => {
      // The settings the engine's batch transaction makes (JIT off, migration named, copy mark).
      await prepareBatchWrites(tx, "explain", true);
      const plan = await tx.query<Record<string, string>>(
        `EXPLAIN (ANALYZE, BUFFERS, TIMING) ${statement.sql}`,
        statement.params,
      );
      const text = plan.rows.map((r) => Object.values(r)[0]).join("\n") + "\n";
      const file = Deno.env.get("PROFILE_PLAN_FILE");
      if (file) await Deno.writeTextFile(file, text);
      else await Deno.stdout.write(new TextEncoder().encode(text));
      throw new Error("rollback");
    }).catch((e) => {
      if ((e as Error).message !== "rollback") throw e;
    });
  }
} finally {
  await scratch.drop();
}
