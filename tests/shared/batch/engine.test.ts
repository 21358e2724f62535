import assert from "node:assert/strict";
import { sqlProviders } from "../../helpers/db.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { BatchMigrationEngine, type EngineDeps } from "../../../shared/batch/engine.ts";
import { acquireLease } from "../../../shared/batch/leases.ts";
import { SupabaseAuthSource } from "../../../shared/batch/supabase-source.ts";
import { AppError } from "../../../shared/result.ts";
import {
  AUTH_SCHEMA_SQL,
  countRows,
  invalidCount,
  PASSWORD_HASH,
  resetTables,
  seedAuthUsers,
} from "./helpers.ts";

function engineFor(db: SqlClient, extra: Partial<EngineDeps> = {}, options = {}) {
  return new BatchMigrationEngine({
    db,
    source: new SupabaseAuthSource(db),
    options: { batchSize: 40, retryBaseDelayMs: 1, retryMaxDelayMs: 5, ...options },
    ...extra,
  });
}

async function userId(db: SqlClient, n: number): Promise<string> {
  const { rows } = await db.query<{ id: string }>("SELECT md5('batch-user-' || $1)::uuid AS id", [
    String(n),
  ]);
  return rows[0]!.id;
}

/** Wraps a real client; the first `failures` batch statements fail with a serialization error. */
function flakyWrites(db: SqlClient, failures: number): SqlClient {
  let left = failures;
  const wrap = (client: SqlClient): SqlClient => ({
    dialect: client.dialect,
    async query<T>(text: string, params?: readonly unknown[]) {
      if (left > 0 && text.includes('INSERT INTO "user"')) {
        left--;
        throw Object.assign(new Error("could not serialize access"), { code: "40001" });
      }
      return await client.query<T>(text, params);
    },
    exec: (script) => client.exec(script),
    transaction: (fn) => client.transaction((tx) => fn(wrap(tx))),
    close: () => client.close(),
  });
  return wrap(db);
}

for (const provider of sqlProviders()) {
  Deno.test(`batch migration engine on ${provider.name}`, async (t) => {
    const db = await provider.open();
    await db.exec(AUTH_SCHEMA_SQL);
    try {
      await t.step("migrates users set-based: rows, accounts and tracking", async () => {
        await resetTables(db);
        await seedAuthUsers(db, 200, { invalid: true });
        const result = await engineFor(db).run({});
        const invalid = invalidCount(200);
        assert.equal(result.done, true);
        assert.equal(result.status, "completed");
        assert.equal(result.processed, 200);
        assert.equal(result.migrated, 200 - invalid);
        assert.equal(result.errors, invalid);
        assert.equal(result.remaining, 0);
        assert.deepEqual(result.totals, {
          total: 200,
          processed: 200,
          migrated: 200 - invalid,
          skipped: 0,
          errors: invalid,
        });

        // User 10: password, Google identity, confirmed, metadata with full_name.
        const id10 = await userId(db, 10);
        const { rows: users } = await db.query<Record<string, unknown>>(
          `SELECT id, name, email, "emailVerified", "userMetadata", "appMetadata", "createdAt"
           FROM "user" WHERE id = $1`,
          [id10],
        );
        const user = users[0]!;
        assert.equal(user.email, "user10@example.com");
        assert.equal(user.name, "User 10");
        assert.equal(user.emailVerified, true);
        assert.deepEqual(user.userMetadata, {
          full_name: "User 10",
          plan: "free",
          migrated_from: "supabase_auth",
          original_id: id10,
          original_created_at: "2024-01-01T00:10:00.123Z",
        });
        assert.deepEqual(user.appMetadata, {
          provider: "migration",
          providers: ["email", "google"],
        });
        const { rows: accounts } = await db.query<Record<string, unknown>>(
          `SELECT "providerId", "accountId", password FROM account WHERE "userId" = $1
           ORDER BY "providerId"`,
          [id10],
        );
        assert.deepEqual(accounts, [
          { providerId: "credential", accountId: id10, password: PASSWORD_HASH },
          { providerId: "google", accountId: "google-10", password: null },
        ]);
        // User 18: no metadata (n % 9 = 0) -> name from the address; user 12 unconfirmed.
        const { rows: names } = await db.query<{ name: string; verified: boolean }>(
          `SELECT name, "emailVerified" AS verified FROM "user" WHERE id IN ($1, $2) ORDER BY name`,
          [await userId(db, 18), await userId(db, 12)],
        );
        assert.deepEqual(names, [{ name: "User 12", verified: false }, {
          name: "user18",
          verified: true,
        }]);
        // User 14: OAuth-only -> a Google account and no credential account.
        const { rows: oauth } = await db.query<{ providerId: string }>(
          `SELECT "providerId" FROM account WHERE "userId" = $1`,
          [await userId(db, 14)],
        );
        assert.deepEqual(oauth, [{ providerId: "google" }]);

        const { rows: tracking } = await db.query<Record<string, unknown>>(
          `SELECT mu.migrated_via, mu.migration_id, s.supabase_migrated, s.better_auth_migrated
           FROM migrated_users mu JOIN user_migration_status s ON s.user_id = mu.new_auth_id
           WHERE mu.original_id = $1`,
          [id10],
        );
        assert.deepEqual(tracking, [{
          migrated_via: "batch",
          migration_id: result.migration_id,
          supabase_migrated: true,
          better_auth_migrated: true,
        }]);
        const counts = await countRows(db);
        assert.equal(counts.users, 200 - invalid);
        assert.equal(counts.migrated_users, 200 - invalid);
        assert.equal(counts.status_rows, 200 - invalid);
      });

      await t.step("validation failures are recorded with their reason and skipped", async () => {
        const { rows } = await db.query<{ error_code: string; n: number }>(
          `SELECT error_code, count(*) AS n FROM migration_errors GROUP BY 1 ORDER BY 1`,
        );
        assert.deepEqual(rows, [
          { error_code: "deleted_user", n: 4 },
          { error_code: "duplicate_email", n: 4 },
          { error_code: "invalid_email", n: 4 },
        ]);
        // The earlier holder of a shared address migrates; the later one is the error.
        const { rows: dup } = await db.query<{ email: string }>(
          `SELECT email FROM "user" WHERE id = $1`,
          [await userId(db, 6)],
        );
        assert.deepEqual(dup, [{ email: "user6@example.com" }]);
      });

      await t.step("re-running x10 after completion adds no row anywhere", async () => {
        const before = await countRows(db);
        const engine = engineFor(db);
        for (let i = 0; i < 5; i++) {
          const again = await engine.run({});
          assert.equal(again.done, true);
          assert.equal(again.processed, 0);
        }
        for (let i = 0; i < 5; i++) {
          // A brand-new migration over the same source: every user is already migrated.
          const sweep = await engine.run({ migration_id: `sweep-${i}` });
          assert.equal(sweep.done, true);
          assert.equal(sweep.migrated, 0);
          assert.equal(sweep.skipped, 200 - invalidCount(200));
        }
        const after = await countRows(db);
        assert.equal(after.users, before.users);
        assert.equal(after.accounts, before.accounts);
        assert.equal(after.migrated_users, before.migrated_users);
        assert.equal(after.status_rows, before.status_rows);
      });

      await t.step("a dry run reports what a run would do and writes no target row", async () => {
        await resetTables(db);
        await seedAuthUsers(db, 120, { invalid: true });
        const dry = await engineFor(db, {}, { sampleSize: 5 }).run({ dry_run: true });
        assert.equal(dry.dry_run, true);
        assert.equal(dry.done, true);
        assert.equal(dry.processed, 120);
        assert.equal(dry.migrated, 120 - invalidCount(120));
        assert.equal(dry.failures?.length, invalidCount(120));
        assert.ok(dry.failures?.every((failure) => failure.reason.length > 0));
        assert.equal(dry.sample?.length, 5);
        const counts = await countRows(db);
        assert.deepEqual(
          [counts.users, counts.accounts, counts.migrated_users, counts.status_rows],
          [0, 0, 0, 0],
        );
        // The real run then does exactly what the dry run said.
        const real = await engineFor(db).run({});
        assert.equal(real.migrated, dry.migrated);
        assert.equal(real.errors, dry.errors);
        const sampled = dry.sample![0]!;
        const { rows } = await db.query<{ name: string; email: string }>(
          `SELECT name, email FROM "user" WHERE id = $1`,
          [sampled.id],
        );
        assert.deepEqual(rows[0], { name: sampled.name, email: sampled.email });
      });

      await t.step("resume continues from where a stopped run left off", async () => {
        await resetTables(db);
        await seedAuthUsers(db, 150);
        const engine = engineFor(db);
        const first = await engine.run({ max_batches: 1 });
        assert.equal(first.done, false);
        assert.equal(first.processed, 40);
        assert.equal(first.stopped_because, "max_batches");
        const { rows } = await db.query<{ status: string; last: string | null }>(
          "SELECT status, last_processed_id AS last FROM migration_states WHERE id = $1",
          [first.migration_id],
        );
        assert.equal(rows[0]!.status, "running");
        assert.ok(rows[0]!.last);
        const rest = await engine.resume(first.migration_id);
        assert.equal(rest.done, true);
        assert.equal(rest.processed, 110);
        assert.equal(rest.totals.migrated, 150);
        assert.deepEqual(rest.leases, [2, 3, 4]);
        await assert.rejects(() => engine.resume("nope"), (e: AppError) => e.code === "not_found");
      });

      await t.step(
        "a zero budget takes one batch; max_batches 0 or an aborted caller none",
        async () => {
          await resetTables(db);
          await seedAuthUsers(db, 50);
          const none = await engineFor(db).run({ max_batches: 0 });
          assert.equal(none.stopped_because, "max_batches");
          assert.equal(none.processed, 0);
          assert.equal(none.remaining, 50);
          const result = await engineFor(db).run({ migration_id: none.migration_id, budget_ms: 0 });
          assert.equal(result.stopped_because, "budget");
          assert.equal(result.processed, 40, "one batch of 40");
          assert.equal(result.remaining, 10);
          assert.equal(result.done, false);
          // The caller giving up (client gone, migrator timeout) stops before the next batch.
          const aborted = new AbortController();
          aborted.abort();
          const stopped = await engineFor(db).run({}, { signal: aborted.signal });
          assert.equal(stopped.stopped_because, "stopped");
          assert.equal(stopped.processed, 0);
        },
      );

      await t.step("rollback removes exactly this migration's users", async () => {
        await resetTables(db);
        await seedAuthUsers(db, 60);
        const engine = engineFor(db);
        const first = await engine.run({ migration_id: "first" });
        await seedAuthUsers(db, 100, { from: 61 });
        // A native signup and a lazily migrated user, neither created by a batch migration.
        await db.query(
          `INSERT INTO "user" (id, name, email, "emailVerified") VALUES
             (gen_random_uuid(), 'Native', 'native@example.com', true)`,
        );
        const lazyId = await userId(db, 61);
        await db.query(
          `INSERT INTO "user" (id, name, email, "emailVerified")
           VALUES ($1, 'Lazy', 'user61@example.com', true)`,
          [lazyId],
        );
        await db.query(
          `INSERT INTO migrated_users (original_id, new_auth_id, email, migrated_via)
           VALUES ($1::text, $1::uuid, 'user61@example.com', 'lazy')`,
          [lazyId],
        );
        // A status row the second migration FINDS (a Supabase-side signup already tracked).
        const foundId = await userId(db, 70);
        await db.query(
          `INSERT INTO user_migration_status (user_id, email, supabase_migrated,
                                              supabase_migrated_at)
           VALUES ($1::uuid, 'user70@example.com', true, now())`,
          [foundId],
        );
        const statusBefore = (await engine.status()).totals.total;
        const second = await engine.run({ migration_id: "second" });
        assert.equal(second.migrated, 39);
        assert.equal((await engine.status()).totals.total, statusBefore + 38, "38 rows created");
        assert.equal(second.skipped, 61);

        await assert.rejects(
          () => engine.rollback({ migration_id: "second" } as never),
          (e: AppError) => e.code === "validation_failed" && /confirm/.test(e.message),
        );
        const rolled = await engine.rollback({ migration_id: "second", confirm: true });
        assert.deepEqual(rolled, {
          migration_id: "second",
          status: "rolled_back",
          removed: 39,
          remaining: 0,
          done: true,
        });
        const { rows } = await db.query<{ n: number; native: number; lazy: number; first: number }>(
          `SELECT count(*) AS n,
                  count(*) FILTER (WHERE email = 'native@example.com') AS native,
                  count(*) FILTER (WHERE id = $1) AS lazy,
                  count(*) FILTER (WHERE id IN (SELECT new_auth_id FROM migrated_users
                                                WHERE migration_id = 'first')) AS first
           FROM "user"`,
          [lazyId],
        );
        assert.deepEqual(rows[0], { n: 62, native: 1, lazy: 1, first: 60 });
        // Rollback tidy: the 38 status rows it created are gone, the one it found stays (without
        // the Better Auth flag it set), and status no longer counts the removed users.
        const { rows: statusRows } = await db.query<Record<string, unknown>>(
          `SELECT user_id::text AS id, supabase_migrated, better_auth_migrated
             FROM user_migration_status
            WHERE user_id NOT IN (SELECT new_auth_id FROM migrated_users WHERE migration_id = 'first')`,
        );
        assert.deepEqual(statusRows, [
          { id: foundId, supabase_migrated: true, better_auth_migrated: false },
        ]);
        assert.equal((await engine.status()).totals.total, statusBefore);
        const { rows: accounts } = await db.query<{ n: number }>(
          `SELECT count(*) AS n FROM account a WHERE NOT EXISTS (
             SELECT 1 FROM "user" u WHERE u.id = a."userId")`,
        );
        assert.equal(accounts[0]!.n, 0);
        const twice = await engine.rollback({ migration_id: "second", confirm: true });
        assert.equal(twice.removed, 0);
        assert.equal(twice.done, true);
        // A rolled-back migration never resumes, and a call without an id (the cron) does not
        // start over behind the operator's back; a new migration id migrates those users again.
        const resumed = await engine.run({ migration_id: "second" });
        assert.equal(resumed.stopped_because, "rolled_back");
        assert.equal(resumed.processed, 0);
        const cron = await engine.run({});
        assert.equal(cron.migration_id, "second");
        assert.equal(cron.stopped_because, "rolled_back");
        assert.equal(cron.processed, 0);
        const again = await engine.run({ migration_id: "third" });
        assert.equal(again.migrated, 39);
        void first;
      });

      await t.step("verify: equal checksums, then the tampered user is listed", async () => {
        await resetTables(db);
        await seedAuthUsers(db, 80, { invalid: true });
        const engine = engineFor(db);
        const run = await engine.run({});
        const clean = await engine.verify({ migration_id: run.migration_id });
        assert.equal(clean.equal, true);
        assert.equal(clean.migrated, 80 - invalidCount(80));
        assert.equal(clean.source_checksum, clean.target_checksum);
        const tampered = await userId(db, 20);
        await db.query(`UPDATE "user" SET name = 'Mallory' WHERE id = $1`, [tampered]);
        const gone = await userId(db, 21);
        await db.query(`DELETE FROM "user" WHERE id = $1`, [gone]);
        const dirty = await engine.verify({ migration_id: run.migration_id });
        assert.equal(dirty.equal, false);
        assert.notEqual(dirty.source_checksum, dirty.target_checksum);
        assert.equal(dirty.source_checksum, clean.source_checksum);
        assert.deepEqual(
          [...dirty.differing_ids].sort((a, b) => a.id.localeCompare(b.id)),
          [
            { id: tampered, problem: "different" as const },
            { id: gone, problem: "missing_in_target" as const },
          ].sort((a, b) => a.id.localeCompare(b.id)),
        );
        const status = await engine.status();
        assert.equal(status.totals.total, 80 - invalidCount(80));
        assert.equal(status.totals.betterAuthMigrated, 80 - invalidCount(80));
        assert.equal(status.totals.fullyMigrated, 80 - invalidCount(80) - 2);
        const progress = status.migrations.find((m) => m.id === run.migration_id)!;
        assert.equal(progress.progress_percent, 100);
        assert.equal(progress.errors_by_code.invalid_email, 2);
        assert.equal(progress.leases.done, progress.leases.total);
      });

      await t.step("pre-flight validate lists problems and writes nothing", async () => {
        await resetTables(db);
        await seedAuthUsers(db, 100, { invalid: true });
        await db.query(
          `INSERT INTO "user" (id, name, email, "emailVerified")
           VALUES (gen_random_uuid(), 'Taken', 'user30@example.com', true)`,
        );
        const engine = engineFor(db);
        const report = await engine.validate({ max_failures: 3 });
        assert.equal(report.checked, 100);
        assert.equal(report.complete, true);
        assert.equal(report.invalid, invalidCount(100) + 1);
        assert.equal(report.by_reason.email_exists_in_target, 1);
        assert.equal(report.by_reason.duplicate_email, 2);
        assert.equal(report.duplicate_emails, 2);
        assert.equal(report.failures.length, 3);
        const partial = await engine.validate({ budget_ms: 0 });
        assert.equal(partial.complete, false);
        assert.equal(partial.checked, 40);
        const rest = await engine.validate({ after_id: partial.next_after_id! });
        assert.equal(rest.checked, 60);
        assert.equal((await countRows(db)).errors, 0);
      });

      await t.step("a row that fails at write time is isolated by bisecting", async () => {
        await resetTables(db);
        await seedAuthUsers(db, 40);
        // Another target user already owns user 5's credential account id: passes validation,
        // then the account insert conflicts.
        const victim = await userId(db, 5);
        await db.query(
          `WITH u AS (INSERT INTO "user" (id, name, email, "emailVerified")
                      VALUES (gen_random_uuid(), 'Other', 'other@example.com', true) RETURNING id)
           INSERT INTO account (id, "accountId", "providerId", "userId", "updatedAt")
           SELECT gen_random_uuid(), $1, 'credential', id, now() FROM u`,
          [victim],
        );
        const result = await engineFor(db).run({});
        assert.equal(result.done, true);
        assert.equal(result.migrated, 39);
        assert.equal(result.errors, 1);
        const { rows } = await db.query<{ user_id: string; error_code: string; details: unknown }>(
          `SELECT user_id, error_code, error_details->>'constraint' AS details FROM migration_errors`,
        );
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.user_id, victim);
        assert.equal(rows[0]!.error_code, "write_failed");
        const { rows: partial } = await db.query<{ n: number }>(
          `SELECT (SELECT count(*) FROM "user" WHERE id = $1)
                + (SELECT count(*) FROM migrated_users WHERE original_id = $1::text) AS n`,
          [victim],
        );
        assert.equal(partial[0]!.n, 0, "nothing of the failed user is written");
      });

      await t.step("transient errors are retried with backoff, then recorded", async () => {
        await resetTables(db);
        await seedAuthUsers(db, 80);
        const delays: number[] = [];
        const retrying = engineFor(db, {
          db: flakyWrites(db, 2),
          retry: { sleep: (ms) => (delays.push(ms), Promise.resolve()) },
        }, { maxRetries: 3, retryBaseDelayMs: 100, retryMaxDelayMs: 1000 });
        const ok = await retrying.run({});
        assert.equal(ok.done, true);
        assert.equal(ok.migrated, 80);
        assert.equal(delays.length, 2);
        assert.ok(delays[0]! <= 100 && delays[1]! <= 200);

        await resetTables(db);
        await seedAuthUsers(db, 80);
        const giving = engineFor(db, { db: flakyWrites(db, 1) }, { maxRetries: 0 });
        const stopped = await giving.run({});
        assert.equal(stopped.stopped_because, "transient_errors");
        assert.equal(stopped.processed, 0);
        const { rows } = await db.query<{ retryable: boolean; error_code: string }>(
          "SELECT retryable, error_code FROM migration_errors",
        );
        assert.deepEqual(rows, [{ retryable: true, error_code: "transient_retries_exhausted" }]);
        // The released lease is taken again at once by the next invocation.
        const next = await engineFor(db).run({});
        assert.equal(next.done, true);
        assert.equal(next.totals.migrated, 80);
      });

      await t.step("a dead worker's lease expires and is re-taken", async () => {
        await resetTables(db);
        await seedAuthUsers(db, 40);
        const engine = engineFor(db, {}, { leaseTtlMs: 300 });
        const created = await engine.run({ max_batches: 0 });
        // A worker claims the only range and dies without finishing it.
        const lease = await acquireLease(db, created.migration_id, "dead-worker", 300);
        assert.ok(lease);
        const blocked = await engine.run({});
        assert.equal(blocked.stopped_because, "busy");
        assert.equal(blocked.processed, 0);
        await new Promise((resolve) => setTimeout(resolve, 350));
        const retaken = await engine.run({});
        assert.equal(retaken.done, true);
        assert.equal(retaken.processed, 40);
        const { rows } = await db.query<{ attempts: number; worker_id: string }>(
          "SELECT attempts, worker_id FROM batch_leases WHERE migration_id = $1 AND lease_no = 1",
          [created.migration_id],
        );
        assert.equal(rows[0]!.attempts, 2);
        assert.notEqual(rows[0]!.worker_id, "dead-worker");
      });

      await t.step("concurrent workers on one database process each user once", async () => {
        await resetTables(db);
        await seedAuthUsers(db, 400, { invalid: true });
        const first = await engineFor(db).run({ max_batches: 0 });
        const results = await Promise.all(
          Array.from({ length: 4 }, () => engineFor(db).run({ migration_id: first.migration_id })),
        );
        const leases = results.flatMap((r) => r.leases).sort((a, b) => a - b);
        assert.deepEqual(leases, Array.from({ length: 11 }, (_, i) => i + 1));
        assert.equal(results.reduce((n, r) => n + r.processed, 0), 400);
        const counts = await countRows(db);
        assert.equal(counts.users, 400 - invalidCount(400));
        assert.equal(counts.errors, invalidCount(400));
      });

      await t.step("bad input is a validation error naming the field", async () => {
        const engine = engineFor(db);
        await assert.rejects(
          () => engine.run({ batch_size: 0 }),
          (e: AppError) => e.code === "validation_failed" && /batch_size/.test(e.message),
        );
        await assert.rejects(
          () => engine.run({ migration_id: "bad id!" }),
          (e: AppError) => e.code === "validation_failed" && /migration_id/.test(e.message),
        );
        await assert.rejects(
          () => engine.run({ extra: 1 } as never),
          (e: AppError) => e.code === "validation_failed",
        );
        await assert.rejects(
          () => engine.verify({ migration_id: "missing" }),
          (e: AppError) => e.code === "not_found",
        );
      });
    } finally {
      await db.close();
    }
  });
}
