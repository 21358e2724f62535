/**
 * Where migrated users come from. Every adapter exposes its users as the same normalized
 * relation (the columns below), which the engine embeds in one set-based statement executed in
 * the TARGET database. A source in the same database is read directly by that statement; a
 * source in another database is fetched one keyset page at a time and handed to the statement
 * as a single JSON parameter, so rows still move set-based, never one INSERT per user.
 */
import type { MigrationRules } from "./config.ts";
import type { SqlClient } from "../db/sql-client.ts";

/**
 * Columns of a normalized source row (Supabase auth.users names):
 * id uuid, email text, encrypted_password text, email_confirmed_at timestamptz,
 * raw_user_meta_data jsonb, raw_app_meta_data jsonb, created_at timestamptz,
 * deleted_at timestamptz, banned_until timestamptz,
 * identities jsonb (array of {provider, provider_id, created_at, name, image}, email/phone
 * identities excluded), and, where the source has them (NULL otherwise): phone text,
 * phone_confirmed_at timestamptz, is_anonymous boolean, is_super_admin boolean,
 * invited_at timestamptz, last_sign_in_at timestamptz, is_sso_user boolean,
 * factors jsonb (MFA factors in enrolment order: {type, status, secret}; the secret never leaves
 * the database).
 */
export const NORMALIZED_RECORD_TYPE = "id uuid, email text, encrypted_password text, " +
  "email_confirmed_at timestamptz, raw_user_meta_data jsonb, raw_app_meta_data jsonb, " +
  "created_at timestamptz, deleted_at timestamptz, banned_until timestamptz, identities jsonb, " +
  "phone text, phone_confirmed_at timestamptz, is_anonymous boolean, is_super_admin boolean, " +
  "invited_at timestamptz, last_sign_in_at timestamptz, is_sso_user boolean, factors jsonb";

/** A keyset range of source ids: (lower, upper]; null bounds are open (-inf / +inf). */
export interface KeyRange {
  readonly lower: string | null;
  readonly upper: string | null;
}

export type SourceScope =
  | { readonly kind: "range"; readonly range: KeyRange }
  | { readonly kind: "ids"; readonly ids: readonly string[] };

/** A SELECT yielding normalized rows, with its parameters numbered from the given first one. */
export interface SourceRelation {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** What the source-side rules need to pick the one user allowed to keep a shared email. */
export interface DuplicateEmailContext {
  readonly rules: MigrationRules;
  readonly asOf: Date;
  readonly emailPattern: string;
  readonly passwordHashPattern: string;
}

export interface DuplicateEmail {
  readonly email_lower: string;
  /** The user allowed to migrate under this email; null when every holder is rejected. */
  readonly keeper_id: string | null;
}

export interface SourceAdapter {
  /** Stored in migration_states.source and in each user's userMetadata.migrated_from. */
  readonly name: string;
  /** True when the users live in Supabase Auth (user_migration_status.supabase_migrated). */
  readonly inSupabaseAuth: boolean;
  count(): Promise<number>;
  /** Every batchSize-th id in id order: the upper bounds of all but the last lease range. */
  keyBoundaries(batchSize: number): Promise<string[]>;
  duplicateEmails(context: DuplicateEmailContext): Promise<DuplicateEmail[]>;
  /** Ids in (after, +inf) in order, at most `limit` (keyset pagination). */
  idsAfter(after: string | null, limit: number): Promise<string[]>;
  idsInRange(range: KeyRange): Promise<string[]>;
  /** The normalized rows of a scope, as SQL for the target database ($firstParam onwards). */
  relation(scope: SourceScope, firstParam: number): Promise<SourceRelation>;
  /**
   * The secret of each user's first verified TOTP factor in a scope (plaintext base32 secrets
   * only), for the two-factor records; sources without MFA factors leave it out.
   */
  totpSecrets?(scope: SourceScope): Promise<{ user_id: string; secret: string }[]>;
  /** Releases a connection the adapter opened itself (the cross-database source). */
  close(): Promise<void>;
}

/** `(col > $n AND col <= $m)` for a range, `col = ANY($n)` for ids; with the parameters. */
export function scopeCondition(
  column: string,
  scope: SourceScope,
  firstParam: number,
): { sql: string; params: unknown[] } {
  if (scope.kind === "ids") {
    return { sql: `${column} = ANY($${firstParam}::uuid[])`, params: [[...scope.ids]] };
  }
  const parts: string[] = [];
  const params: unknown[] = [];
  if (scope.range.lower !== null) {
    params.push(scope.range.lower);
    parts.push(`${column} > $${firstParam + params.length - 1}::uuid`);
  }
  if (scope.range.upper !== null) {
    params.push(scope.range.upper);
    parts.push(`${column} <= $${firstParam + params.length - 1}::uuid`);
  }
  return { sql: parts.length > 0 ? parts.join(" AND ") : "true", params };
}

/**
 * The duplicate-email rule as SQL over a source relation `s` (normalized columns) with the
 * parameters $1 reject_all, $2 reject_deleted, $3 reject_banned, $4 as_of, $5 email pattern,
 * $6 password-hash pattern. The keeper is the earliest user (created_at, then id) that passes
 * every source-side rule, so a rejected holder never blocks a valid one.
 */
export function duplicateEmailsSql(relation: string): string {
  // Eligibility (regexes) is evaluated only for the few users whose email is shared.
  return `
    WITH shared AS (
      SELECT lower(s.email) AS email_lower FROM (${relation}) s
      WHERE s.email IS NOT NULL AND s.email <> ''
      GROUP BY 1 HAVING count(*) > 1
    )
    SELECT email_lower,
           CASE WHEN $1::boolean THEN NULL
                ELSE (array_agg(id ORDER BY created_at, id) FILTER (WHERE eligible))[1] END
             AS keeper_id
    FROM (
      SELECT s.id, lower(s.email) AS email_lower, s.created_at,
             (s.created_at IS NOT NULL
              AND s.email ~ $5::text
              AND NOT ($2::boolean AND s.deleted_at IS NOT NULL)
              AND NOT ($3::boolean AND coalesce(s.banned_until > $4::timestamptz, false))
              AND (coalesce(s.encrypted_password, '') = '' OR s.encrypted_password ~ $6::text))
               AS eligible
      FROM (${relation}) s
      WHERE lower(s.email) IN (SELECT email_lower FROM shared)
    ) candidates
    GROUP BY email_lower
    ORDER BY email_lower`;
}

export function duplicateEmailsParams(context: DuplicateEmailContext): unknown[] {
  return [
    context.rules.duplicateEmails === "reject_all",
    context.rules.deletedUsers === "reject",
    context.rules.bannedUsers === "reject",
    context.asOf.toISOString(),
    context.emailPattern,
    context.passwordHashPattern,
  ];
}

/**
 * work_mem for the shared-email scan. Its hash aggregate holds one entry per distinct address
 * (≈ 130 bytes): at the default 4 MB, 200,000 users spilled it to disk in five batches and the
 * planner spread the scan over two parallel workers besides — 3 processes for ≈ 350 ms, against
 * one process for ≈ 185 ms with the aggregate in memory (measured on PostgreSQL 15). 64 MB holds
 * about 500,000 addresses; a larger source spills, as before. A ceiling for this one statement
 * of the migration's planning, not an allocation.
 */
export const DUPLICATE_SCAN_WORK_MEM = "64MB";

/** The shared emails of a source relation (duplicateEmailsSql), in its own transaction. */
export async function findDuplicateEmails(
  db: SqlClient,
  relation: string,
  context: DuplicateEmailContext,
): Promise<DuplicateEmail[]> {
  return await db.transaction(async (tx) => {
    await tx.query("SELECT set_config('work_mem', $1, true)", [DUPLICATE_SCAN_WORK_MEM]);
    const { rows } = await tx.query<DuplicateEmail>(
      duplicateEmailsSql(relation),
      duplicateEmailsParams(context),
    );
    return rows;
  });
}
