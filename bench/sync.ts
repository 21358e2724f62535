/**
 * Identity sync benchmark (issue 12 §5), PostgreSQL 15 (TEST_DATABASE_URL; a scratch database
 * is created and dropped), auth schema created before the migrations as on Supabase, so the
 * migration installs the capture triggers.
 *
 * 1. Steady stream: 100 Supabase-side changes/s for 40 s — writes to auth.users as GoTrue makes
 *    them (metadata, password hash, ban, email confirmation: each its own transaction, captured
 *    by the triggers), mixed with 5 signups/s (new auth.users rows) and 2 Better Auth logins/s
 *    (bcrypt verify) — while a cron calls IdentitySync.apply every TICK (10 s, the dev server's
 *    tick; Supabase's pg_cron tick is 60 s). Lag = applied_at − captured_at of every applied
 *    change (captured in the writing transaction, so this is the Supabase write → Better Auth
 *    copy lag). The same stream with a 1 s tick shows the applier's own share of the lag.
 * 2. Backlog: 5,000 pending changes applied by one apply call: changes per second.
 *
 * Run: deno run -A bench/sync.ts   (or import { run } and await run())
 */
import { DEFAULT_BETTER_AUTH_ISSUER } from "../shared/auth/access-tokens.ts";
import { createBetterAuth } from "../shared/auth/better-auth.ts";
import { BetterAuthService } from "../shared/auth/better-auth-service.ts";
import { DEFAULT_PASSWORD_POLICY } from "../shared/auth/password-policy.ts";
import { hashBcrypt } from "../shared/auth/passwords.ts";
import type { SqlClient } from "../shared/db/sql-client.ts";
import { IdentitySync } from "../shared/sync/service.ts";
import { scratchDatabase } from "./scratch-db.ts";

const USERS = 2_000;
const CHANGES_PER_SECOND = 100;
const SIGNUPS_PER_SECOND = 5;
const LOGINS_PER_SECOND = 2;
const STREAM_SECONDS = 40;
const BACKLOG = 5_000;
const PASSWORD = "bench-password-1";
const fmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

/** USERS Supabase users, already copied to Better Auth (as the batch leaves them). */
async function seed(db: SqlClient, hash: string): Promise<string[]> {
  await db.query(
    `INSERT INTO auth.users (id, aud, role, email, encrypted_password, email_confirmed_at,
       raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
     SELECT md5('sync-' || n)::uuid, 'authenticated', 'authenticated',
            'sync' || n || '@example.com', $2, now(), '{"provider":"email"}', '{}', now(), now()
     FROM generate_series(1, $1::int) n`,
    [USERS, hash],
  );
  await db.query(
    `INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt")
     SELECT id, 'Sync', email, true, now(), now() FROM auth.users`,
  );
  await db.query(
    `INSERT INTO account (id, "accountId", "providerId", "userId", password, "createdAt",
                          "updatedAt")
     SELECT gen_random_uuid(), id::text, 'credential', id, encrypted_password, now(), now()
     FROM auth.users`,
  );
  // The seed's own captures are not part of the measurement.
  await db.query(`UPDATE identity_change_outbox SET applied_at = now(), outcome = 'noop'`);
  const { rows } = await db.query<{ id: string }>(`SELECT id::text AS id FROM auth.users`);
  return rows.map((row) => row.id);
}

/** One change as GoTrue writes it (own transaction), captured by the auth.users trigger. */
function change(db: SqlClient, id: string, n: number, hashes: readonly string[]) {
  switch (n % 10) {
    case 0:
    case 1:
      return db.query(`UPDATE auth.users SET encrypted_password = $2 WHERE id = $1::uuid`, [
        id,
        hashes[n % hashes.length],
      ]);
    case 2:
      return db.query(
        `UPDATE auth.users SET banned_until = CASE WHEN banned_until IS NULL
                  THEN now() + interval '1 hour' END WHERE id = $1::uuid`,
        [id],
      );
    case 3:
      return db.query(
        `UPDATE auth.users SET email_confirmed_at = CASE WHEN email_confirmed_at IS NULL
                  THEN now() END WHERE id = $1::uuid`,
        [id],
      );
    default:
      return db.query(
        `UPDATE auth.users SET raw_user_meta_data = jsonb_build_object('n', $2::int)
          WHERE id = $1::uuid`,
        [id, n],
      );
  }
}

interface StreamResult {
  readonly changes: number;
  readonly signups: number;
  readonly logins: number;
  /** Outbox rows the stream produced (a change that changes nothing is not captured). */
  readonly captured: number;
  /** Rows still pending after the final apply. */
  readonly pending: number;
  readonly applied: number;
  readonly applySeconds: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

async function stream(
  db: SqlClient,
  ids: readonly string[],
  hashes: readonly string[],
  betterAuth: BetterAuthService,
  tickMs: number,
): Promise<StreamResult> {
  const sync = new IdentitySync({ db, toBetterAuth: { absentHorizonMs: 0 } });
  const started = new Date();
  const stopAt = performance.now() + STREAM_SECONDS * 1000;
  let changes = 0;
  let signups = 0;
  let logins = 0;
  let applied = 0;
  let applyMs = 0;
  const inflight = new Set<Promise<unknown>>();
  const track = (promise: Promise<unknown>) => {
    inflight.add(promise);
    promise.finally(() => inflight.delete(promise));
  };
  const cron = (async () => {
    while (performance.now() < stopAt) {
      await new Promise((resolve) => setTimeout(resolve, tickMs));
      const report = await sync.apply({ budgetMs: 20_000 });
      applied += report.toBetterAuth.rowsSettled;
      applyMs += report.toBetterAuth.durationMs;
    }
  })();
  // Issued by the clock, not per loop turn: a login's bcrypt verify blocks the event loop for a
  // while, and the stream catches up after it, so the offered rate stays at the target.
  const begun = performance.now();
  while (performance.now() < stopAt) {
    const elapsed = (performance.now() - begun) / 1000;
    while (changes < elapsed * CHANGES_PER_SECOND) {
      const n = changes++;
      track(change(db, ids[(n * 7919) % ids.length]!, n, hashes));
    }
    while (signups < elapsed * SIGNUPS_PER_SECOND) {
      const n = signups++;
      track(db.query(
        `INSERT INTO auth.users (id, aud, role, email, encrypted_password, created_at, updated_at)
         VALUES (gen_random_uuid(), 'authenticated', 'authenticated', $1, $2, now(), now())`,
        [`signup-${tickMs}-${n}@example.com`, hashes[0]],
      ));
    }
    while (logins < elapsed * LOGINS_PER_SECOND) {
      logins++;
      // A user whose password the stream never changes (ids are walked by 7919).
      track(betterAuth.signIn({ email: `sync${USERS}@example.com`, password: PASSWORD }));
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await Promise.all(inflight);
  await cron;
  const last = await sync.apply({ budgetMs: 60_000 });
  applied += last.toBetterAuth.rowsSettled;
  applyMs += last.toBetterAuth.durationMs;
  const { rows } = await db.query<
    { p50: number; p99: number; max: number; captured: number; pending: number }
  >(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) FILTER (WHERE applied) AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) FILTER (WHERE applied) AS p99,
            max(lag) FILTER (WHERE applied) AS max, count(*)::int AS captured,
            count(*) FILTER (WHERE pending)::int AS pending
       FROM (SELECT extract(epoch FROM applied_at - captured_at)::float8 AS lag,
                    outcome = 'applied' AS applied, applied_at IS NULL AS pending
               FROM identity_change_outbox
              WHERE direction = 'to_better_auth' AND captured_at >= $1::timestamptz) l`,
    [started.toISOString()],
  );
  return {
    changes,
    signups,
    logins,
    captured: rows[0]!.captured,
    pending: rows[0]!.pending,
    applied,
    applySeconds: applyMs / 1000,
    p50: rows[0]!.p50,
    p99: rows[0]!.p99,
    max: rows[0]!.max,
  };
}

async function backlog(db: SqlClient, ids: readonly string[]): Promise<number> {
  // Rounds of one metadata change per user until BACKLOG changes are pending.
  for (let round = 0, left = BACKLOG; left > 0; round++, left -= ids.length) {
    await db.query(
      `UPDATE auth.users SET raw_user_meta_data = jsonb_build_object('backlog', $2::int)
        WHERE id = ANY($1::uuid[])`,
      [ids.slice(0, Math.min(left, ids.length)), round],
    );
  }
  const sync = new IdentitySync({ db });
  const started = performance.now();
  const report = await sync.apply({ budgetMs: 120_000 });
  const seconds = (performance.now() - started) / 1000;
  return report.toBetterAuth.rowsSettled / seconds;
}

export async function run(): Promise<void> {
  const adminUrl = Deno.env.get("TEST_DATABASE_URL");
  if (!adminUrl) {
    console.log("TEST_DATABASE_URL is not set: the sync benchmark needs PostgreSQL 15");
    return;
  }
  const scratch = await scratchDatabase(adminUrl, "sync", 8);
  try {
    const hash = await hashBcrypt(PASSWORD);
    const hashes = [hash, await hashBcrypt("bench-password-2")];
    const ids = await seed(scratch.db, hash);
    const betterAuth = new BetterAuthService({
      auth: createBetterAuth({
        db: scratch.db,
        secret: "bench-better-auth-secret-with-at-least-32-chars",
        passwordPolicy: DEFAULT_PASSWORD_POLICY,
      }),
      db: scratch.db,
      signing: {
        secret: "bench-signing-secret-0123456789abcdef",
        issuer: DEFAULT_BETTER_AUTH_ISSUER,
        ttlSeconds: 3600,
      },
      tokens: {
        betterAuth: {
          secret: "bench-signing-secret-0123456789abcdef",
          issuer: DEFAULT_BETTER_AUTH_ISSUER,
        },
        supabase: {},
      },
      passwordPolicy: DEFAULT_PASSWORD_POLICY,
    });
    console.log(
      `PostgreSQL 15, ${fmt.format(USERS)} migrated users; ${CHANGES_PER_SECOND} changes/s + ` +
        `${SIGNUPS_PER_SECOND} signups/s + ${LOGINS_PER_SECOND} Better Auth logins/s for ` +
        `${STREAM_SECONDS} s each`,
    );
    console.log(
      "| cron tick | changes + signups offered | rows captured | left pending | lag p50 | lag p99 | lag max | applier busy |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const tickMs of [10_000, 1_000]) {
      const r = await stream(scratch.db, ids, hashes, betterAuth, tickMs);
      console.log(
        `| ${tickMs / 1000} s | ${r.changes} + ${r.signups} | ${r.captured} | ${r.pending} | ` +
          `${fmt.format(r.p50)} s | ` +
          `${fmt.format(r.p99)} s | ${fmt.format(r.max)} s | ${fmt.format(r.applySeconds)} s ` +
          `(${fmt.format(r.applied / Math.max(r.applySeconds, 0.001))} changes/s while applying) |`,
      );
    }
    await betterAuth.drain();
    const rate = await backlog(scratch.db, ids);
    console.log(`backlog of ${fmt.format(BACKLOG)} changes: ${fmt.format(rate)} changes/s applied`);
  } finally {
    await scratch.drop();
  }
}

if (import.meta.main) await run();
