/**
 * Test data for the batch migration: Supabase auth users seeded set-based (one INSERT ...
 * SELECT generate_series, a precomputed bcrypt hash), with a deterministic mix of invalid rows,
 * and a reset that empties every table the migration touches.
 */
import type { AdminUsersApi, OriginalContext } from "../../../shared/batch/original.ts";
import { EMAIL_PATTERN, PASSWORD_HASH_PATTERN } from "../../../shared/batch/rules.ts";
import { SupabaseAuthSource } from "../../../shared/batch/supabase-source.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";

export const AUTH_SCHEMA_SQL = await Deno.readTextFile(
  new URL("../../../local/standin/auth-schema.sql", import.meta.url),
);

/** bcrypt (cost 10) of "password123", computed once with bcryptjs. */
export const PASSWORD = "password123";
export const PASSWORD_HASH = "$2a$10$8zpUV76/WWrTy/mgQwiLxOvY/84FR6deyK0S9QxFSFf4cOO8MYPH.";

/** Deterministic user id of seeded user n. */
export const userIdSql = (n: string) => `md5('batch-user-' || ${n})::uuid`;

export interface SeedOptions {
  readonly from?: number;
  /** Five users in every 50 get one of the invalid kinds below. */
  readonly invalid?: boolean;
}

/**
 * Seeds users from..to. With `invalid`, n % 50 = 1: bad email, 2: soft-deleted, 3: banned,
 * 5: phone-only (no email), 7: same email as user n-1 in upper case (the later duplicate).
 * Every 10th user also has a
 * Google identity, every 4th is unconfirmed, every 7th has no password (OAuth-only, Google).
 */
export async function seedAuthUsers(db: SqlClient, to: number, options: SeedOptions = {}) {
  const from = options.from ?? 1;
  const invalid = options.invalid ?? false;
  await db.query(
    `INSERT INTO auth.users (instance_id, id, aud, role, email, encrypted_password,
       email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at,
       deleted_at, banned_until, phone)
     SELECT '00000000-0000-0000-0000-000000000000', ${userIdSql("n::text")}, 'authenticated',
       'authenticated',
       CASE WHEN $3 AND n % 50 = 1 THEN 'user' || n || '(at)example.com'
            WHEN $3 AND n % 50 = 7 THEN 'USER' || (n - 1) || '@EXAMPLE.COM'
            WHEN $3 AND n % 50 = 5 THEN NULL
            ELSE 'user' || n || '@example.com' END,
       CASE WHEN n % 7 = 0 THEN '' ELSE $4 END,
       CASE WHEN n % 4 = 0 THEN NULL ELSE ts + interval '5 minutes' END,
       jsonb_build_object('provider', 'email', 'providers',
         CASE WHEN n % 10 = 0 THEN '["email", "google"]'::jsonb ELSE '["email"]'::jsonb END),
       CASE WHEN n % 9 = 0 THEN NULL
            ELSE jsonb_build_object('full_name', 'User ' || n, 'plan',
                   CASE WHEN n % 3 = 0 THEN 'pro' ELSE 'free' END) END,
       ts, ts,
       CASE WHEN $3 AND n % 50 = 2 THEN ts + interval '1 day' END,
       CASE WHEN $3 AND n % 50 = 3 THEN timestamptz '2999-01-01' END,
       CASE WHEN $3 AND n % 50 = 5 THEN '+1555' || lpad(n::text, 7, '0') END
     FROM generate_series($1::integer, $2::integer) AS n,
          LATERAL (SELECT timestamptz '2024-01-01 00:00:00.123456+00' + n * interval '1 minute'
                   AS ts) t`,
    [from, to, invalid, PASSWORD_HASH],
  );
  await db.query(
    `INSERT INTO auth.identities (provider_id, user_id, identity_data, provider, created_at)
     SELECT ${userIdSql("n::text")}::text, ${userIdSql("n::text")},
            jsonb_build_object('sub', ${userIdSql("n::text")}::text), 'email',
            timestamptz '2024-01-01' + n * interval '1 minute'
     FROM generate_series($1::integer, $2::integer) AS n
     UNION ALL
     SELECT 'google-' || n, ${userIdSql("n::text")}, jsonb_build_object('sub', 'google-' || n),
            'google', timestamptz '2024-01-01' + n * interval '1 minute' + interval '1 hour'
     FROM generate_series($1::integer, $2::integer) AS n
     WHERE n % 10 = 0 OR n % 7 = 0`,
    [from, to],
  );
}

/** Empties every table the migration reads or writes (one database per test file). */
export async function resetTables(db: SqlClient): Promise<void> {
  await db.exec(`
    TRUNCATE auth.users, auth.identities, "user", account, session, migrated_users,
             user_migration_status, migration_errors, batch_leases, batch_duplicate_emails,
             migration_states, auth_signup_claims CASCADE`);
}

export async function countRows(db: SqlClient): Promise<Record<string, number>> {
  const { rows } = await db.query<Record<string, number>>(
    `SELECT (SELECT count(*) FROM "user") AS users,
            (SELECT count(*) FROM account) AS accounts,
            (SELECT count(*) FROM migrated_users) AS migrated_users,
            (SELECT count(*) FROM user_migration_status) AS status_rows,
            (SELECT count(*) FROM migration_errors) AS errors`,
  );
  return rows[0]!;
}

/**
 * Users of 1..n that the seed makes invalid (with `invalid: true`) for the set-based engine:
 * bad email, soft-deleted, later duplicate. The banned (n % 50 = 3) and phone-only
 * (n % 50 = 5) users migrate, as Better Auth bans and phone users.
 */
export function invalidCount(n: number): number {
  let count = 0;
  for (let i = 1; i <= n; i++) if ([1, 2, 7].includes(i % 50)) count++;
  return count;
}

/** The per-user original's context over `admin`, with the batch rules the tests use. */
export async function originalContextOn(
  db: SqlClient,
  admin: AdminUsersApi,
  migrationId: string | null,
  asOf: Date = new Date(),
): Promise<OriginalContext> {
  const source = new SupabaseAuthSource(db);
  const rules = {
    deletedUsers: "reject",
    bannedUsers: "reject",
    duplicateEmails: "reject_later",
  } as const;
  return {
    db,
    admin,
    migrationId,
    migratedFrom: source.name,
    rules,
    asOf,
    duplicates: await source.duplicateEmails({
      rules,
      asOf,
      emailPattern: EMAIL_PATTERN,
      passwordHashPattern: PASSWORD_HASH_PATTERN,
    }),
  };
}

/**
 * Deletes the seeded users of the kinds only the set-based engine carries (banned: n % 50 = 3,
 * phone-only: n % 50 = 5), for the tests comparing it with the per-user original, which refuses
 * them; tests/shared/batch/fidelity.test.ts covers those kinds. Returns how many were deleted.
 */
export async function dropKindsOnlyTheEngineCarries(db: SqlClient): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `WITH gone AS (DELETE FROM auth.users WHERE phone IS NOT NULL OR banned_until IS NOT NULL
                   RETURNING 1)
     SELECT count(*) AS n FROM gone`,
  );
  return Number(rows[0]!.n);
}
