/**
 * Batch migration benchmark (issue 5): the set-based engine vs the per-user original, side by
 * side, on 20,000 Supabase Auth users, on PostgreSQL 15 (TEST_DATABASE_URL, a scratch database
 * is created and dropped) and on the embedded PGlite.
 *
 * - set-based: BatchMigrationEngine, 5,000-user leases, one INSERT ... SELECT statement per batch
 *   writing user, account, migrated_users, user_migration_status and migration_errors rows;
 * - per-user original: supabase-js auth.admin.listUsers against the Auth stand-in served over
 *   HTTP on localhost (as supabase-js talks to GoTrue), then per-user look-ups and writes
 *   (shared/batch/original.ts). It is slow, so it runs on a sample and its rate is
 *   extrapolated (printed as such). Over a real network every round trip costs more, so the
 *   real gap is wider than measured here.
 * - the machine is shared: each set-based figure is the best of two runs.
 * - CPU: process.cpuUsage() around one 5,000-user batch. On PostgreSQL that is the function's
 *   own CPU (the database works in its own process); on PGlite the database runs inside this
 *   process, so its figure includes all the SQL work.
 *
 * Run: deno run -A bench/batch.ts   (or import { run } and await run())
 */
import process from "node:process";
import { createClient } from "@supabase/supabase-js";
import { Hono } from "hono";
import { BatchMigrationEngine } from "../shared/batch/engine.ts";
import { runOriginal } from "../shared/batch/original.ts";
import { EMAIL_PATTERN, PASSWORD_HASH_PATTERN } from "../shared/batch/rules.ts";
import { SupabaseAuthSource } from "../shared/batch/supabase-source.ts";
import { loadMigrationFiles, runMigrations } from "../local/db/migration-runner.ts";
import { openPostgres } from "../shared/db/postgres-client.ts";
import type { SqlClient } from "../shared/db/sql-client.ts";
import { createAuthApi } from "../local/standin/auth/app.ts";
import { AUTH_SCHEMA_URL, openStandinDatabase } from "../local/standin/database.ts";
import { createStandinKeys } from "../local/standin/keys.ts";

const USERS = 20_000;
const BATCH = 5_000;
/** Concurrent set-based workers in the scaling row (one per core of a small instance). */
const WORKERS = 2;
/** bcrypt (cost 10) of "password123", computed once. */
const HASH = "$2a$10$8zpUV76/WWrTy/mgQwiLxOvY/84FR6deyK0S9QxFSFf4cOO8MYPH.";
const number = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

interface Row {
  backend: string;
  path: string;
  users: number;
  seconds: number;
  extrapolated: boolean;
}

async function seed(db: SqlClient): Promise<void> {
  await db.query(
    `INSERT INTO auth.users (instance_id, id, aud, role, email, encrypted_password,
       email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
     SELECT '00000000-0000-0000-0000-000000000000', md5('bench-' || n)::uuid, 'authenticated',
            'authenticated', 'bench' || n || '@example.com', $2,
            CASE WHEN n % 4 <> 0 THEN ts END, '{"provider": "email", "providers": ["email"]}',
            jsonb_build_object('full_name', 'Bench User ' || n), ts, ts
     FROM generate_series(1, $1::integer) AS n,
          LATERAL (SELECT timestamptz '2024-01-01' + n * interval '1 minute' AS ts) t`,
    [USERS, HASH],
  );
  await db.query(
    `INSERT INTO auth.identities (provider_id, user_id, identity_data, provider, created_at)
     SELECT md5('bench-' || n)::uuid::text, md5('bench-' || n)::uuid, '{}'::jsonb, 'email', now()
     FROM generate_series(1, $1::integer) AS n
     UNION ALL
     SELECT 'google-' || n, md5('bench-' || n)::uuid, '{}'::jsonb, 'google', now()
     FROM generate_series(1, $1::integer) AS n WHERE n % 10 = 0`,
    [USERS],
  );
  // Statistics as a real, long-lived project has them.
  await db.exec("ANALYZE");
}

async function resetTarget(db: SqlClient): Promise<void> {
  await db.exec(`TRUNCATE "user", account, session, migrated_users, user_migration_status,
                 migration_errors, batch_leases, batch_duplicate_emails, migration_states CASCADE`);
}

async function trackingRows(db: SqlClient): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT (SELECT count(*) FROM migrated_users) + (SELECT count(*) FROM user_migration_status)
       AS n`,
  );
  return rows[0]!.n;
}

async function measure(
  backend: string,
  db: SqlClient,
  originalSample: number,
  openWorker?: () => SqlClient,
): Promise<{ rows: Row[]; cpuSeconds: number }> {
  const rows: Row[] = [];
  const source = new SupabaseAuthSource(db);

  // Per-user original on a sample (it pages from the start, so the sample is the first users).
  const keys = await createStandinKeys();
  const standin = new Hono().route("/auth/v1", createAuthApi({ sql: db, keys }));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, standin.fetch);
  const supabase = createClient(`http://127.0.0.1:${server.addr.port}`, keys.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
  await db.query("INSERT INTO migration_states (id, source) VALUES ('bench-original', 'original')");
  const rules = {
    deletedUsers: "reject",
    bannedUsers: "reject",
    duplicateEmails: "reject_later",
  } as const;
  const asOf = new Date();
  let started = performance.now();
  const original = await runOriginal({
    db,
    admin: supabase.auth.admin,
    migrationId: "bench-original",
    migratedFrom: source.name,
    rules,
    asOf,
    duplicates: await source.duplicateEmails({
      rules,
      asOf,
      emailPattern: EMAIL_PATTERN,
      passwordHashPattern: PASSWORD_HASH_PATTERN,
    }),
  }, { perPage: 100, maxUsers: originalSample });
  await server.shutdown();
  rows.push({
    backend,
    path: "per-user original (supabase-js)",
    users: original.migrated,
    seconds: (performance.now() - started) / 1000,
    extrapolated: originalSample < USERS,
  });
  await resetTarget(db);

  // CPU of one 5,000-user batch in this process.
  const engine = new BatchMigrationEngine({ db, source, options: { batchSize: BATCH } });
  await engine.run({ migration_id: "bench-cpu", max_batches: 0 }); // plans the leases
  const cpuBefore = process.cpuUsage();
  const one = await engine.run({ migration_id: "bench-cpu", max_batches: 1 });
  const cpu = process.cpuUsage(cpuBefore);
  if (one.processed !== BATCH) throw new Error(`CPU batch processed ${one.processed}`);
  await resetTarget(db);

  // Set-based, one worker, all users (planning included); best of two.
  let seconds = Number.POSITIVE_INFINITY;
  for (const attempt of [1, 2]) {
    await resetTarget(db);
    started = performance.now();
    const result = await engine.run({ migration_id: `bench-set-${attempt}` });
    seconds = Math.min(seconds, (performance.now() - started) / 1000);
    if (!result.done || result.migrated !== USERS) throw new Error("set-based run incomplete");
    if (await trackingRows(db) !== 2 * USERS) throw new Error("tracking rows missing");
  }
  rows.push({
    backend,
    path: "set-based engine, 1 worker",
    users: USERS,
    seconds,
    extrapolated: false,
  });

  if (openWorker) {
    // Set-based, WORKERS concurrent workers sharing the migration through leases; best of two.
    const pools = Array.from({ length: WORKERS }, openWorker);
    let best = Number.POSITIVE_INFINITY;
    try {
      for (const attempt of [1, 2]) {
        await resetTarget(db);
        await engine.run({ migration_id: `bench-workers-${attempt}`, max_batches: 0 });
        started = performance.now();
        const results = await Promise.all(pools.map(async (pool) => {
          const worker = new BatchMigrationEngine({
            db: pool,
            source: new SupabaseAuthSource(pool),
            options: { batchSize: 2_500 },
          });
          let processed = 0;
          for (;;) {
            const r = await worker.run({ migration_id: `bench-workers-${attempt}` });
            processed += r.processed;
            if (r.done || r.stopped_because !== "busy") return processed;
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        }));
        if (results.reduce((a, b) => a + b, 0) !== USERS) throw new Error("workers missed users");
        best = Math.min(best, (performance.now() - started) / 1000);
      }
      rows.push({
        backend,
        path: `set-based engine, ${WORKERS} workers`,
        users: USERS,
        seconds: best,
        extrapolated: false,
      });
    } finally {
      for (const pool of pools) await pool.close();
    }
  }
  return { rows, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

function printTable(rows: Row[], cpu: Record<string, number>): void {
  const header = ["backend", "path", "users", "seconds", "users/s", "vs per-user"];
  const lines = rows.map((row) => {
    const rate = row.users / row.seconds;
    const base = rows.find((r) => r.backend === row.backend && r.path.startsWith("per-user"))!;
    const baseRate = base.users / base.seconds;
    return [
      row.backend,
      row.path + (row.extrapolated ? " *" : ""),
      number.format(row.users),
      row.seconds.toFixed(2),
      number.format(rate),
      row === base ? "1x" : `${(rate / baseRate).toFixed(1)}x`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  console.log(format(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const line of lines) console.log(format(line));
  console.log(
    `* per-user rate measured on the first ${
      number.format(rows.find((r) => r.extrapolated)?.users ?? 0)
    } users and extrapolated (the loop is linear per user).`,
  );
  for (const [backend, seconds] of Object.entries(cpu)) {
    console.log(
      `CPU in this process for one ${number.format(BATCH)}-user batch on ${backend}: ` +
        `${seconds.toFixed(3)} s${
          backend === "pglite" ? " (includes the embedded database's own work)" : ""
        }`,
    );
  }
}

/** A scratch database (dropped by `drop`) with the stand-in's auth schema and every migration. */
export async function postgresDatabase(adminUrl: string, prefix = "em_bench_batch") {
  const name = `${prefix}_${Deno.pid}`;
  const admin = openPostgres({ url: adminUrl, max: 1 });
  await admin.exec(`DROP DATABASE IF EXISTS ${name}`);
  await admin.exec(`CREATE DATABASE ${name}`);
  await admin.close();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = openPostgres({ url: url.toString(), max: 4 });
  await db.exec(await Deno.readTextFile(AUTH_SCHEMA_URL));
  await runMigrations(db, await loadMigrationFiles());
  return {
    db,
    url: url.toString(),
    drop: async () => {
      await db.close();
      const dropper = openPostgres({ url: adminUrl, max: 1 });
      await dropper.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.close();
    },
  };
}

export async function run(): Promise<void> {
  const rows: Row[] = [];
  const cpu: Record<string, number> = {};
  const pgUrl = Deno.env.get("TEST_DATABASE_URL");
  if (pgUrl) {
    const pg = await postgresDatabase(pgUrl);
    try {
      await seed(pg.db);
      const measured = await measure(
        "postgres15",
        pg.db,
        1_000,
        () => openPostgres({ url: pg.url, max: 2 }),
      );
      rows.push(...measured.rows);
      cpu.postgres15 = measured.cpuSeconds;
    } finally {
      await pg.drop();
    }
  } else {
    console.log("TEST_DATABASE_URL is not set: PostgreSQL 15 skipped");
  }
  const { db } = await openStandinDatabase({ dataDir: null });
  try {
    await seed(db);
    const measured = await measure("pglite", db, 500);
    rows.push(...measured.rows);
    cpu.pglite = measured.cpuSeconds;
  } finally {
    await db.close();
  }
  console.log(`\nBatch migration: ${number.format(USERS)} Supabase Auth users -> Better Auth\n`);
  printTable(rows, cpu);
}

if (import.meta.main) await run();
