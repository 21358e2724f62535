/**
 * Full-fidelity migration, side by side (issue 16): on one generated dataset of every kind of
 * Supabase Auth user (local/standin/seed-every-kind.ts; 200,000 users by default,
 * FIDELITY_USERS=N for a quick run), on one PostgreSQL 15 server (TEST_DATABASE_URL), in one run:
 *
 * (a) ours: the set-based engine (BatchMigrationEngine, 10,000-user leases — FIDELITY_BATCH=N
 *     for another size; per-lease costs are amortized over more users —, BETTER_AUTH_SECRET
 *     set so TOTP factors carry over), with its tracking rows, into the same database.
 * (b) the guide: the method of Better Auth's official Supabase migration guide
 *     (better-auth docs/content/docs/guides/supabase-migration-guide.mdx, "Copy the migration
 *     script"), reimplemented from its published script: keyset pages of 5,000 users with their
 *     identities (json_agg), mapping in JavaScript (its getName/getImage/role/ban/phone rules),
 *     `INSERT … ON CONFLICT (id) DO NOTHING` in chunks of at most 65,000 parameters, one
 *     transaction per page (a failed page is rolled back and skipped), reading FROM_DATABASE_URL
 *     and writing TO_DATABASE_URL — here a second database on the same server with Better Auth's
 *     own schema (no unique index on account, as its CLI generates it). Social accounts only for
 *     configured providers: this run configures google and github, as a project using them would.
 * (c) the physical limit: a bare `INSERT … SELECT` of the same rows into the same target tables
 *     (user, account, twoFactor), no tracking, no rules.
 *
 * Each method's time is printed as users/s (wall clock) and as users per CPU-second (this
 * process plus the database backends it used, from /proc): on a machine shared with other work
 * the wall clock mostly measures the others; the CPU a method spends does not depend on them.
 *
 * Then for one user of each kind, on both targets: did it arrive, does its password / phone
 * number / TOTP second step work on Better Auth, is its ban and role right; and a second run of
 * each method, counting the duplicate accounts it creates.
 *
 * Run: FIDELITY_USERS=20000 deno run -A bench/fidelity.ts   (or deno task bench fidelity)
 */
import { createBetterAuth } from "../shared/auth/better-auth.ts";
import { DEFAULT_PASSWORD_POLICY } from "../shared/auth/password-policy.ts";
import { BatchMigrationEngine } from "../shared/batch/engine.ts";
import { SupabaseAuthSource } from "../shared/batch/supabase-source.ts";
import type { SqlClient } from "../shared/db/sql-client.ts";
import {
  EVERY_KIND_PASSWORD,
  everyKindUser,
  insertEveryKind,
  type Kind,
  KINDS,
} from "../local/standin/seed-every-kind.ts";
import { totpCode } from "../tests/helpers/totp.ts";
import { scratchDatabase } from "./scratch-db.ts";
import { processCpuMs } from "../shared/runtime/cpu.ts";

const USERS = Number(Deno.env.get("FIDELITY_USERS") ?? 200_000);
/** The guide's page size, fixed by its script. */
const PAGE = 5_000;
/**
 * Our lease size: a tunable of the engine (MIGRATION_BATCH_SIZE), not of the method. Measured on
 * 100,000 users, per CPU-second, two rounds: 5,000 → 9.0k / 12.0k, 10,000 → 9.3k / 14.1k,
 * 20,000 → 10.6k / 14.6k users; after the third round of throughput work (the batch sets
 * work_mem for its tuplestores), 200,000 users, two alternating rounds: 10,000 → 11.7 / 11.8 s,
 * 20,000 → 11.8 / 11.9 s, 5,000 → 12.0 / 12.7 s of CPU — no gain above 10,000.
 */
const LEASE = Number(Deno.env.get("FIDELITY_BATCH") ?? 10_000);
const SECRET = "bench-fidelity-better-auth-secret-0123456789";
const GUIDE_PROVIDERS = ["google", "github"];
const number = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

// ---------------------------------------------------------------------------------------------
// (b) The guide's method, as its script does it.
// ---------------------------------------------------------------------------------------------

interface SourceIdentity {
  provider: string;
  provider_id: string;
  identity_data: Record<string, unknown> | null;
  created_at: string | null;
  updated_at: string | null;
}

interface SourceUser {
  id: string;
  role: string | null;
  email: string | null;
  encrypted_password: string | null;
  email_confirmed_at: string | null;
  invited_at: string | null;
  last_sign_in_at: string | null;
  raw_app_meta_data: Record<string, unknown> | null;
  raw_user_meta_data: Record<string, unknown> | null;
  is_super_admin: boolean | null;
  created_at: string | null;
  updated_at: string | null;
  phone: string | null;
  phone_confirmed_at: string | null;
  banned_until: string | null;
  deleted_at: string | null;
  is_anonymous: boolean;
  identities: SourceIdentity[];
}

type Row = Record<string, unknown>;

const str = (value: unknown) => (typeof value === "string" && value ? value : undefined);

/** The guide script's processBatch mapping of one user (null: skipped). */
function guideUser(user: SourceUser): Row | null {
  if (!user.email && !user.phone) return null;
  if (user.deleted_at) return null;
  const meta = user.raw_user_meta_data ?? {};
  const first = user.identities[0]?.identity_data ?? {};
  const name = str(meta.name) ?? str(meta.full_name) ?? str(meta.username) ??
    str(meta.user_name) ?? str(first.name) ?? str(first.full_name) ?? str(first.username) ??
    str(first.preferred_username) ?? (user.email ? user.email.split("@")[0] : undefined) ??
    user.phone ?? "Unknown";
  const image = str(meta.avatar_url) ?? str(meta.picture) ?? str(first.avatar_url) ??
    str(first.picture);
  const row: Row = {
    id: user.id,
    email: user.email ||
      (user.phone ? `${user.phone.replace(/[^0-9]/g, "")}@temp.better-auth.com` : null),
    emailVerified: !!user.email_confirmed_at,
    name,
    image,
    createdAt: user.created_at,
    updatedAt: user.updated_at,
    isAnonymous: user.is_anonymous,
  };
  if (user.phone) {
    row.phoneNumber = user.phone;
    row.phoneNumberVerified = !!user.phone_confirmed_at;
  }
  row.role = user.is_super_admin ? "admin" : user.role || "user";
  const banExpires = user.banned_until ? new Date(user.banned_until) : null;
  if (banExpires && banExpires > new Date()) {
    row.banned = true;
    row.banExpires = banExpires.toISOString();
    row.banReason = "Migrated from Supabase (banned)";
  } else row.banned = false;
  if (user.raw_user_meta_data && Object.keys(user.raw_user_meta_data).length > 0) {
    row.userMetadata = user.raw_user_meta_data;
  }
  if (user.raw_app_meta_data && Object.keys(user.raw_app_meta_data).length > 0) {
    row.appMetadata = user.raw_app_meta_data;
  }
  if (user.invited_at) row.invitedAt = user.invited_at;
  if (user.last_sign_in_at) row.lastSignInAt = user.last_sign_in_at;
  return row;
}

function guideAccounts(user: SourceUser): Row[] {
  const accounts: Row[] = [];
  for (const identity of user.identities) {
    if (identity.provider === "email") {
      accounts.push({
        id: crypto.randomUUID(),
        userId: user.id,
        providerId: "credential",
        accountId: user.id,
        password: user.encrypted_password || null,
        createdAt: user.created_at,
        updatedAt: user.updated_at,
      });
    }
    if (GUIDE_PROVIDERS.includes(identity.provider)) {
      accounts.push({
        id: crypto.randomUUID(),
        userId: user.id,
        providerId: identity.provider,
        accountId: str(identity.identity_data?.sub) ?? identity.provider_id,
        password: null,
        createdAt: identity.created_at ?? user.created_at,
        updatedAt: identity.updated_at ?? user.updated_at,
      });
    }
  }
  return accounts;
}

const JSON_COLUMNS = new Set(["userMetadata", "appMetadata"]);

/** `INSERT … VALUES … ON CONFLICT (id) DO NOTHING`, ≤ 65,000 parameters per statement. */
async function insertChunks(tx: SqlClient, table: string, rows: Row[]): Promise<void> {
  if (rows.length === 0) return;
  const fields = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const perChunk = Math.floor(65_000 / fields.length);
  for (let i = 0; i < rows.length; i += perChunk) {
    const values: unknown[] = [];
    const tuples = rows.slice(i, i + perChunk).map((row) =>
      `(${
        fields.map((field) => {
          const value = row[field] ?? null;
          values.push(JSON_COLUMNS.has(field) && value !== null ? JSON.stringify(value) : value);
          return `$${values.length}${JSON_COLUMNS.has(field) ? "::jsonb" : ""}`;
        }).join(", ")
      })`
    );
    await tx.query(
      `INSERT INTO "${table}" (${fields.map((f) => `"${f}"`).join(", ")})
       VALUES ${tuples.join(", ")} ON CONFLICT (id) DO NOTHING`,
      values,
    );
  }
}

async function runGuide(from: SqlClient, to: SqlClient) {
  let last: string | null = null;
  let failedPages = 0;
  let firstError: string | null = null;
  let skipped = 0;
  for (;;) {
    const { rows }: { rows: SourceUser[] } = await from.query<SourceUser>(
      `SELECT u.id, u.role, u.email, u.encrypted_password, u.email_confirmed_at::text,
              u.invited_at::text, u.last_sign_in_at::text, u.raw_app_meta_data,
              u.raw_user_meta_data, u.is_super_admin, u.created_at::text, u.updated_at::text,
              u.phone, u.phone_confirmed_at::text, u.banned_until::text, u.deleted_at::text,
              u.is_anonymous,
              coalesce(json_agg(i.* ORDER BY i.id) FILTER (WHERE i.id IS NOT NULL), '[]'::json)
                AS identities
       FROM auth.users u LEFT JOIN auth.identities i ON u.id = i.user_id
       ${last ? "WHERE u.id > $2::uuid" : ""}
       GROUP BY u.id ORDER BY u.id ASC LIMIT $1`,
      last ? [PAGE, last] : [PAGE],
    );
    if (rows.length === 0) break;
    const users: SourceUser[] = [];
    const mapped: Row[] = [];
    for (const user of rows) {
      const row = guideUser(user);
      if (row) {
        users.push(user);
        mapped.push(row);
      } else skipped++;
    }
    try {
      await to.transaction(async (tx) => {
        await insertChunks(tx, "user", mapped);
        await insertChunks(tx, "account", users.flatMap(guideAccounts));
      });
    } catch (error) {
      // The script logs the error, rolls the page back and goes on to the next page.
      if (failedPages++ === 0) firstError = (error as Error).message;
    }
    last = rows.at(-1)!.id;
    if (rows.length < PAGE) break;
  }
  return { failedPages, firstError, skipped };
}

// ---------------------------------------------------------------------------------------------
// (c) The physical limit: the same rows, one bare INSERT … SELECT per table.
// ---------------------------------------------------------------------------------------------

async function bareInsert(db: SqlClient): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO "user" (id, name, email, "emailVerified", image, "userMetadata", "appMetadata",
                           "createdAt", "updatedAt", role, banned, "banExpires", "isAnonymous",
                           "phoneNumber", "phoneNumberVerified", "twoFactorEnabled", "invitedAt",
                           "lastSignInAt")
       SELECT id, coalesce(raw_user_meta_data ->> 'full_name', 'x'),
              coalesce(lower(email), id || '@placeholder.invalid'),
              email_confirmed_at IS NOT NULL, NULL, coalesce(raw_user_meta_data, '{}'),
              coalesce(raw_app_meta_data, '{}'), created_at, now(), NULL,
              banned_until > now(), banned_until, is_anonymous, '+' || phone,
              phone_confirmed_at IS NOT NULL, false, invited_at, last_sign_in_at
       FROM auth.users`,
    );
    await tx.query(
      `INSERT INTO account (id, "accountId", "providerId", "userId", password, "createdAt",
                            "updatedAt")
       SELECT gen_random_uuid(), id::text, 'credential', id, encrypted_password, created_at, now()
       FROM auth.users WHERE encrypted_password <> ''
       UNION ALL
       SELECT gen_random_uuid(), provider_id, provider, user_id, NULL, created_at, now()
       FROM auth.identities WHERE provider NOT IN ('email', 'phone')`,
    );
    await tx.query(
      `INSERT INTO "twoFactor" (secret, "backupCodes", "userId")
       SELECT DISTINCT ON (user_id) secret, '[]', user_id FROM auth.mfa_factors
       WHERE factor_type = 'totp' AND status = 'verified' ORDER BY user_id, created_at`,
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Fidelity per kind, on either target.
// ---------------------------------------------------------------------------------------------

interface KindResult {
  arrived: boolean;
  password: string;
  phone: string;
  totp: string;
  banRole: string;
}

const PASSWORD_KINDS: Kind[] = [
  "email_password",
  "email_unconfirmed",
  "totp_unverified",
  "phone_and_webauthn_factors",
  "admin_app_metadata",
  "super_admin",
  "github_and_password",
  "ban_expired",
];
const BANNED: Kind[] = ["banned_with_expiry", "banned_without_expiry"];
const ADMINS: Kind[] = ["admin_app_metadata", "super_admin"];

async function checkKind(db: SqlClient, kind: Kind, n: number): Promise<KindResult> {
  const auth = createBetterAuth({ db, secret: SECRET, passwordPolicy: DEFAULT_PASSWORD_POLICY });
  const user = everyKindUser(n, "fid-");
  const id = (await db.query<{ id: string }>(`SELECT md5('fid-' || $1::text)::uuid AS id`, [
    String(n),
  ])).rows[0]!.id;
  const { rows } = await db.query<{ role: string | null; banned: boolean | null }>(
    `SELECT role, banned FROM "user" WHERE id = $1::uuid`,
    [id],
  );
  const result: KindResult = {
    arrived: rows.length === 1,
    password: "–",
    phone: "–",
    totp: "–",
    banRole: "–",
  };
  if (!result.arrived) return result;
  const signIn = async () => {
    try {
      const response = await auth.api.signInEmail({
        body: { email: user.email, password: EVERY_KIND_PASSWORD.password },
        asResponse: true,
      });
      return response;
    } catch (error) {
      return error as Error;
    }
  };
  if (PASSWORD_KINDS.includes(kind) || kind === "totp_verified" || BANNED.includes(kind)) {
    const response = await signIn();
    if (BANNED.includes(kind)) {
      result.banRole = response instanceof Response && response.status === 200
        ? "NO (signed in)"
        : "yes (refused)";
    } else if (kind === "totp_verified") {
      if (!(response instanceof Response) || response.status !== 200) result.password = "NO";
      else {
        result.password = "yes";
        const body = await response.json() as { twoFactorRedirect?: boolean };
        if (!body.twoFactorRedirect) result.totp = "NO (no second step)";
        else {
          const secret = (await db.query<{ secret: string }>(
            `SELECT secret FROM auth.mfa_factors WHERE user_id = $1::uuid AND status = 'verified'`,
            [id],
          )).rows[0]!.secret;
          const cookie = response.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
          const verified = await auth.api.verifyTOTP({
            body: { code: await totpCode(secret) },
            headers: new Headers({ cookie }),
            asResponse: true,
          });
          result.totp = verified.status === 200 ? "yes" : `NO (${verified.status})`;
        }
      }
    } else {
      result.password = response instanceof Response && response.status === 200 ? "yes" : "NO";
    }
  }
  if (kind === "phone_password") {
    try {
      await auth.api.signInPhoneNumber({
        body: { phoneNumber: `+${user.phone}`, password: EVERY_KIND_PASSWORD.password },
      });
      result.phone = "yes";
    } catch {
      result.phone = "NO";
    }
  }
  if (ADMINS.includes(kind)) {
    result.banRole = rows[0]!.role === "admin" ? "yes (admin)" : `NO (${rows[0]!.role})`;
  } else if (!BANNED.includes(kind)) {
    const role = rows[0]!.role;
    const rightRole = role === null || role === "user";
    result.banRole = rightRole && !rows[0]!.banned
      ? "yes"
      : `NO (role ${role}, banned ${rows[0]!.banned})`;
  }
  return result;
}

async function duplicates(db: SqlClient): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT (SELECT count(*) FROM account)
            - (SELECT count(*) FROM (SELECT DISTINCT "userId", "providerId", "accountId"
                                     FROM account) d) AS n`,
  );
  return rows[0]!.n;
}

async function counts(db: SqlClient) {
  const { rows } = await db.query<{ users: number; accounts: number; two_factor: number }>(
    `SELECT (SELECT count(*) FROM "user") AS users, (SELECT count(*) FROM account) AS accounts,
            (SELECT count(*) FROM "twoFactor") AS two_factor`,
  );
  return rows[0]!;
}

/** CPU milliseconds (user + system) of one process from /proc, or undefined. */
async function procCpuMs(pid: number): Promise<number | undefined> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime (fields 14 and 15 of proc(5)) in clock ticks; Linux's USER_HZ is 100.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/**
 * CPU a method spends: this process (mapping, encryption, the driver) plus every PostgreSQL
 * backend connected to the benchmark's databases, read from /proc (the server runs on this
 * machine). Other sessions sharing the cores stretch a method's wall-clock time, not the CPU it
 * spends, so users per CPU-second compares the methods on a loaded machine where users/s is
 * noise-bound. Both methods run one thing at a time (one connection busy, or JavaScript), so on
 * an idle machine users/s approaches users per CPU-second, less the time spent waiting on the
 * network. undefined where /proc or the backends' pids cannot be read (a remote server).
 */
class CpuMeter {
  constructor(private readonly db: SqlClient, private readonly databases: string[]) {}

  async #snapshot(): Promise<{ process: number; backends: Map<number, number> } | undefined> {
    const process = processCpuMs();
    if (process === undefined) return undefined;
    const { rows } = await this.db.query<{ pid: number }>(
      // Client backends only: an autovacuum worker caught in one snapshot and not the other
      // would charge its whole run to whichever method happened to be measured.
      `SELECT pid FROM pg_stat_activity
       WHERE datname = ANY($1::text[]) AND backend_type = 'client backend'`,
      [this.databases],
    );
    const backends = new Map<number, number>();
    for (const { pid } of rows) {
      const ms = await procCpuMs(pid);
      if (ms === undefined) return undefined;
      backends.set(pid, ms);
    }
    return { process, backends };
  }

  /** Runs `work` and returns the CPU seconds it used, when they can be told. */
  async measure<T>(
    work: () => Promise<T>,
  ): Promise<{ value: T; cpuSeconds?: number; clientCpuSeconds?: number }> {
    const before = await this.#snapshot();
    const value = await work();
    const after = await this.#snapshot();
    if (!before || !after) return { value };
    const client = after.process - before.process;
    let ms = client;
    for (const [pid, now] of after.backends) ms += now - (before.backends.get(pid) ?? 0);
    return { value, cpuSeconds: ms / 1000, clientCpuSeconds: client / 1000 };
  }
}

async function timed<T>(
  work: () => Promise<T>,
  cpu?: CpuMeter,
): Promise<{ value: T; seconds: number; cpuSeconds?: number; clientCpuSeconds?: number }> {
  const started = performance.now();
  const measured = cpu ? await cpu.measure(work) : { value: await work() };
  return { ...measured, seconds: (performance.now() - started) / 1000 };
}

export async function run(): Promise<void> {
  const adminUrl = Deno.env.get("TEST_DATABASE_URL");
  if (!adminUrl) {
    console.log("TEST_DATABASE_URL is not set: the fidelity benchmark needs PostgreSQL 15");
    return;
  }
  // Serial databases: every method's work runs in its connections' own backends, where the CPU
  // meter sees it (ours' planning scans would otherwise fan out to parallel workers it cannot).
  const ours = await scratchDatabase(adminUrl, "fid_ours", 4, { serial: true });
  const guide = await scratchDatabase(adminUrl, "fid_guide", 4, { serial: true });
  try {
    // Better Auth's own schema for the guide's target: its CLI makes no unique index on account,
    // and the guide's additionalFields are `required: false` (nullable).
    await guide.db.exec(`DROP INDEX account_provider_account_key;
                         DROP INDEX account_user_provider_key;
                         CREATE INDEX "account_userId_idx" ON account ("userId");
                         ALTER TABLE "user" ALTER COLUMN "userMetadata" DROP NOT NULL,
                                            ALTER COLUMN "appMetadata" DROP NOT NULL`);
    console.log(`generating ${number.format(USERS)} users of ${KINDS.length} kinds…`);
    await insertEveryKind(ours.db, { to: USERS, prefix: "fid-" });
    await ours.db.exec("ANALYZE");

    const cpu = new CpuMeter(ours.db, [ours.name, guide.name]);
    const guideRun = await timed(() => runGuide(ours.db, guide.db), cpu);
    const engine = () =>
      new BatchMigrationEngine({
        db: ours.db,
        source: new SupabaseAuthSource(ours.db),
        betterAuthSecret: SECRET,
        options: { batchSize: LEASE, budgetMs: 3_600_000 },
      });
    const oursRun = await timed(() => engine().run({ migration_id: "fidelity" }), cpu);
    const oursCounts = await counts(ours.db);
    const guideCounts = await counts(guide.db);

    console.log("\nfidelity per kind (one user of each; password / phone / TOTP on Better Auth)\n");
    console.log(
      "| kind | ours: arrived | password | phone | TOTP | ban/role right | guide: arrived | " +
        "password | phone | TOTP | ban/role right |",
    );
    console.log("|---|---|---|---|---|---|---|---|---|---|---|");
    let oursFull = true;
    for (const [index, kind] of KINDS.entries()) {
      const n = index === 0 ? KINDS.length : index;
      const a = await checkKind(ours.db, kind, n);
      const b = await checkKind(guide.db, kind, n);
      if (!a.arrived || [a.password, a.phone, a.totp, a.banRole].some((v) => v.startsWith("NO"))) {
        oursFull = false;
      }
      const cells = (r: KindResult) =>
        `${r.arrived ? "yes" : "NO"} | ${r.password} | ${r.phone} | ${r.totp} | ${r.banRole}`;
      console.log(`| ${kind} | ${cells(a)} | ${cells(b)} |`);
    }

    // Second runs: ours as a brand-new migration over the same source; the guide as re-run.
    const oursAgain = await engine().run({ migration_id: "fidelity-again" });
    await runGuide(ours.db, guide.db);
    const oursDuplicates = await duplicates(ours.db);
    const guideDuplicates = await duplicates(guide.db);
    const guideAfter = await counts(guide.db);

    // Two workers on one migration (two overlapping cron calls), into the emptied target.
    const empty = () =>
      ours.db.exec(`TRUNCATE "user", account, "twoFactor", session, migrated_users,
                    user_migration_status, migration_errors, batch_leases,
                    batch_duplicate_emails, migration_states CASCADE`);
    await empty();
    const twoWorkers = await timed(async () => {
      await engine().run({ migration_id: "fidelity-2", max_batches: 0 });
      await Promise.all([0, 1].map(() => engine().run({ migration_id: "fidelity-2" })));
    }, cpu);
    const twoWorkerCounts = await counts(ours.db);

    // The physical limit, into the same tables (emptied), no tracking.
    await empty();
    const limit = await timed(() => bareInsert(ours.db), cpu);

    const rate = (seconds: number) => USERS / seconds;
    const cpuText = (run: { cpuSeconds?: number; clientCpuSeconds?: number }) =>
      `${run.cpuSeconds?.toFixed(1)} s, of which this process ${
        run.clientCpuSeconds?.toFixed(1)
      } s`;
    const perCpu = (run: { cpuSeconds?: number }) =>
      run.cpuSeconds ? number.format(USERS / run.cpuSeconds) : "–";
    console.log(
      `\n${number.format(USERS)} users, PostgreSQL 15, same server, same run; ours with ` +
        `${number.format(LEASE)}-user leases, the guide with its ${
          number.format(PAGE)
        }-user pages\n`,
    );
    console.log(
      "| method | users/s | users per CPU-second | users | accounts | twoFactor | note |",
    );
    console.log("|---|---|---|---|---|---|---|");
    console.log(
      `| ours (set-based engine, 1 worker) | ${number.format(rate(oursRun.seconds))} | ` +
        `${perCpu(oursRun)} | ${oursCounts.users} | ${oursCounts.accounts} | ` +
        `${oursCounts.two_factor} | ${oursRun.value.migrated} migrated, ` +
        `${oursRun.value.errors} refused, with tracking |`,
    );
    console.log(
      `| ours, 2 workers | ${number.format(rate(twoWorkers.seconds))} | ${perCpu(twoWorkers)} | ` +
        `${twoWorkerCounts.users} | ${twoWorkerCounts.accounts} | ${twoWorkerCounts.two_factor} | ` +
        "two overlapping calls on one migration |",
    );
    console.log(
      `| Better Auth guide method | ${number.format(rate(guideRun.seconds))} | ` +
        `${perCpu(guideRun)} | ${guideCounts.users} | ${guideCounts.accounts} | ` +
        `${guideCounts.two_factor} | ${guideRun.value.skipped} skipped, ` +
        `${guideRun.value.failedPages} failed pages |`,
    );
    if (guideRun.value.firstError) {
      console.log(`(guide: first failed page: ${guideRun.value.firstError})`);
    }
    console.log(
      `| bare INSERT … SELECT (physical limit) | ${number.format(rate(limit.seconds))} | ` +
        `${perCpu(limit)} | ${USERS} | – | – | no rules, no tracking |`,
    );
    console.log(
      `\nours / guide: ${(guideRun.seconds / oursRun.seconds).toFixed(2)}× (1 worker), ` +
        `${(guideRun.seconds / twoWorkers.seconds).toFixed(2)}× (2 workers);  ours / physical ` +
        `limit: ${(limit.seconds / oursRun.seconds).toFixed(2)} (1 worker), ` +
        `${(limit.seconds / twoWorkers.seconds).toFixed(2)} (2 workers)`,
    );
    if (oursRun.cpuSeconds && guideRun.cpuSeconds && limit.cpuSeconds) {
      console.log(
        `per CPU-second: ours / guide ${(guideRun.cpuSeconds / oursRun.cpuSeconds).toFixed(2)}×, ` +
          `ours / physical limit ${(limit.cpuSeconds / oursRun.cpuSeconds).toFixed(2)} ` +
          `(CPU: ours ${cpuText(oursRun)}, guide ${cpuText(guideRun)}, bare ${cpuText(limit)})`,
      );
    }
    console.log(
      `second run: ours ${oursAgain.migrated} migrated, ${oursDuplicates} duplicate accounts; ` +
        `guide ${guideAfter.accounts - guideCounts.accounts} accounts added, ` +
        `${guideDuplicates} duplicate accounts`,
    );
    console.log(`full fidelity (ours, every kind): ${oursFull ? "yes" : "NO"}`);
  } finally {
    await guide.drop();
    await ours.drop();
  }
}

if (import.meta.main) await run();
