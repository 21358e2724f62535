/**
 * The set-based SQL of the batch migration. One statement classifies a whole batch (every rule
 * is a predicate over the batch and indexed lookups into the target), and one statement writes
 * it: user, accounts, migrated_users, user_migration_status and migration_errors rows for the
 * batch, each one INSERT ... SELECT. Nothing here loops over users.
 *
 * Plan robustness: the batch comes from CTEs the planner cannot estimate (and right after a bulk
 * load the tables have no statistics yet), so no statement JOINs two CTEs — a misestimated
 * nested loop over two 5,000-row CTEs is quadratic. Every look-up is a correlated sub-select on
 * a unique index (one probe per row whatever the estimates say) and every write reads one CTE.
 */
import type { MigrationRules } from "./config.ts";
import {
  EMAIL_PATTERN,
  PASSWORD_HASH_SQL_PATTERN,
  passwordHashSql,
  REASON_MESSAGES,
  REJECT_REASONS,
  SKIP_REASONS,
} from "./rules.ts";
import { scopeCondition, type SourceAdapter, type SourceScope } from "./source.ts";
import { type Coverage, coverageSql } from "./coverage.ts";
import type { TotpCarrier } from "./mfa.ts";

/** Collects bound parameters; every placeholder carries an explicit cast. */
export class SqlParams {
  readonly values: unknown[] = [];

  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }

  get next(): number {
    return this.values.length + 1;
  }
}

/** What every classification needs besides the source rows. */
export interface ClassifyContext {
  /** null for the pre-flight (no migration yet). */
  readonly migrationId: string | null;
  readonly source: SourceAdapter;
  readonly rules: MigrationRules;
  /** "Now" for the ban rule, fixed per migration so every batch and both paths agree. */
  readonly asOf: Date;
  /**
   * Carries verified TOTP factors (needs BETTER_AUTH_SECRET). Without it a user with a verified
   * TOTP factor is refused (totp_not_carried), never migrated without the second factor.
   */
  readonly totp?: TotpCarrier;
  /** Shared emails: from batch_duplicate_emails (a migration) or inline (pre-flight). */
  readonly duplicates:
    | { readonly kind: "table" }
    | {
      readonly kind: "inline";
      readonly rows: readonly { email_lower: string; keeper_id: string | null }[];
    };
}

/** ISO-8601 in UTC with milliseconds, exactly like JavaScript's Date#toISOString. */
export function isoSql(expression: string): string {
  return `to_char(${expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

const objectOrEmpty = (expression: string) =>
  `(CASE WHEN jsonb_typeof(${expression}) = 'object' THEN ${expression} ELSE '{}'::jsonb END)`;

/** A metadata field when it is a non-blank string (spaces trimmed), else NULL. */
const textField = (meta: string, key: string) =>
  `(CASE WHEN jsonb_typeof(${meta} -> '${key}') = 'string' ` +
  `THEN nullif(btrim(${meta} ->> '${key}'), '') END)`;

const skipList = SKIP_REASONS.map((reason) => `'${reason}'`).join(", ");

/**
 * `WITH src AS (...), cls AS (...), planned AS (...), accounts AS (...)` for one
 * scope: cls has every source row with its reason (NULL = migrate); planned has the Better Auth
 * projection of the rows to migrate; accounts their credential and social accounts.
 */
export async function classificationCtes(
  context: ClassifyContext,
  scope: SourceScope,
  params: SqlParams,
): Promise<string> {
  const relation = await context.source.relation(scope, params.next);
  params.values.push(...relation.params);
  const migrationId = params.add(context.migrationId, "text");
  // The scope once more, for the target tables: what this batch may already find there lies in
  // its own id range (one set of parameters serves both conditions).
  const scopeParam = params.next;
  const targetScope = scopeCondition("t.id", scope, scopeParam);
  params.values.push(...targetScope.params);
  const trackedScope = scopeCondition("mu.new_auth_id", scope, scopeParam);
  // A table probe (unique index) during a migration. The pre-flight passes the emails inline:
  // they are unpacked once (dups CTE) and checked through hashed IN sub-plans, not per row. A
  // keeper id is only ever the keeper of its own email, so "is some keeper" is enough.
  const inline = context.duplicates.kind === "inline"
    ? params.add(JSON.stringify(context.duplicates.rows), "text")
    : null;
  // The probe only when the migration has shared emails at all (evaluated once per statement).
  const duplicate = inline === null
    ? `(SELECT EXISTS (SELECT 1 FROM batch_duplicate_emails WHERE migration_id = ${migrationId}))
       AND EXISTS (SELECT 1 FROM batch_duplicate_emails d
                   WHERE d.migration_id = ${migrationId} AND d.email_lower = lower(s.email)
                     AND d.keeper_id IS DISTINCT FROM s.id)`
    : `lower(s.email) IN (SELECT email_lower FROM dups)
       AND s.id NOT IN (SELECT keeper_id FROM dups WHERE keeper_id IS NOT NULL)`;
  const dupsCte = inline === null ? "" : `
    dups AS MATERIALIZED (
      SELECT * FROM jsonb_to_recordset(${inline}::jsonb) AS d(email_lower text, keeper_id uuid)
    ),`;
  // Typed timestamptz: converted once when the statement is bound. A text parameter cast in the
  // SQL was parsed again for every row that read it (timestamptz is not an immutable cast).
  const asOf = params.add(context.asOf.toISOString(), "timestamptz");
  const emailPattern = params.add(EMAIL_PATTERN, "text");
  const hashPattern = params.add(PASSWORD_HASH_SQL_PATTERN, "text");
  const rejectDeleted = params.add(context.rules.deletedUsers === "reject", "boolean");
  const rejectBanned = params.add(context.rules.bannedUsers === "reject", "boolean");
  const migratedFrom = params.add(context.source.name, "text");
  const canCarryTotp = params.add(context.totp !== undefined, "boolean");
  // Reasons in evaluation order; rules.ts lists the same order for the per-user path.
  const reasons: Record<(typeof SKIP_REASONS)[number] | (typeof REJECT_REASONS)[number], string> = {
    migrated_by_this_migration: "s.tracked = 'ours'",
    already_migrated: "s.tracked IS NOT NULL",
    already_in_target: "s.in_target",
    // A dual-write signup holds this claim from before its Supabase write until both writes are
    // done: copying the user now would race its own Better Auth write (and a rollback of this
    // migration would then delete a native signup). The signup, or reconciliation, finishes it.
    // The per-row probe only when some claim is live (an uncorrelated InitPlan, evaluated once
    // per statement): usually none is, and a probe of an empty table still costs a file-size
    // system call per row.
    signup_in_flight: `(SELECT EXISTS (SELECT 1 FROM auth_signup_claims WHERE expires_at > now()))
                       AND EXISTS (SELECT 1 FROM auth_signup_claims sc
                                   WHERE sc.user_id = s.id AND sc.expires_at > now())`,
    missing_email: "s.login_email IS NULL",
    missing_created_at: "s.created_at IS NULL",
    invalid_email: `s.has_email AND s.email !~ ${emailPattern}`,
    deleted_user: `${rejectDeleted} AND s.deleted_at IS NOT NULL`,
    banned_user: `${rejectBanned} AND s.banned_until > ${asOf}::timestamptz`,
    invalid_password_hash: `coalesce(s.encrypted_password, '') <> ''
                            AND NOT ${passwordHashSql("s.encrypted_password", hashPattern)}`,
    duplicate_email: duplicate,
    // Scalar sub-selects on unique indexes (at most one row each), not EXISTS: PostgreSQL may
    // turn an EXISTS into a hashed sub-plan over the WHOLE target table (every user, rebuilt by
    // every batch) once work_mem allows it; a scalar sub-select is always one index probe.
    email_exists_in_target: `(SELECT t.id FROM "user" t WHERE t.email = s.login_email) <> s.id`,
    phone_exists_in_target: `s.phone_e164 IS NOT NULL AND
                             (SELECT t.id FROM "user" t WHERE t."phoneNumber" = s.phone_e164)
                               <> s.id`,
    // Only a user with two or more identities can have two of one provider: the sub-select
    // (a sort per row) runs for those alone.
    duplicate_provider_identity: `jsonb_array_length(s.identities) > 1 AND
                                  (SELECT count(*) <> count(DISTINCT e ->> 'provider')
                                   FROM jsonb_array_elements(s.identities) e)`,
    // A scalar sub-select per identity: one probe of the unique (providerId, accountId) index.
    identity_exists_in_target: `s.identities <> '[]'::jsonb AND EXISTS (
                                  SELECT 1 FROM jsonb_array_elements(s.identities) e
                                  WHERE (SELECT a."userId" FROM account a
                                         WHERE a."providerId" = e ->> 'provider'
                                           AND a."accountId" = e ->> 'provider_id') <> s.id)`,
    totp_not_carried: `s.totp_secret IS NOT NULL
                       AND (NOT ${canCarryTotp} OR s.totp_secret !~ '^[A-Za-z2-7]+=*$')`,
  };
  const whens = Object.entries(reasons)
    .map(([reason, predicate]) => `WHEN ${predicate} THEN '${reason}'`)
    .join("\n        ");
  return `
    WITH src AS (${relation.sql}),${dupsCte}
    cls AS (
      SELECT s.*, s.login_email AS email_lower,
        coalesce(s.banned_until > ${asOf}::timestamptz, false) AS banned_now,
        CASE
        ${whens}
        END AS reason
      FROM (
        -- Tracking rows and Better Auth users that already exist for this scope, each read
        -- once per batch by an index range scan of the scope's ids and hashed: on a fresh
        -- migration both are empty, and a re-run finds about one batch of each. (A per-user
        -- probe cost an index descent per user; an EXISTS on "user".id became a hashed
        -- sub-plan over the whole target table, rebuilt by every batch as the table grew.)
        -- OFFSET 0 keeps the planner from copying the sub-selects into the rules that read them.
        SELECT src.*, ident.*,
               CASE WHEN src.id IN (
                           SELECT mu.new_auth_id FROM migrated_users mu
                           WHERE ${trackedScope.sql} AND mu.migrated_via = 'batch'
                             AND mu.migration_id = ${migrationId})
                      THEN 'ours'
                    WHEN src.id IN (
                           SELECT mu.new_auth_id FROM migrated_users mu WHERE ${trackedScope.sql})
                      THEN 'other'
               END AS tracked,
               src.id IN (SELECT t.id FROM "user" t WHERE ${targetScope.sql}) AS in_target
        FROM src CROSS JOIN LATERAL (${LOGIN_IDENTITY}) ident OFFSET 0
      ) s
    ),
    ${projectionCtes(migratedFrom, asOf)}`;
}

/**
 * How a source row signs in, computed once per row (a LATERAL over `src`): its real address, or
 * for a user without one a deterministic placeholder in Better Auth's own form
 * `<id>@<namespace>.placeholder.invalid` (@better-auth/core src/utils/email.ts
 * createPlaceholderEmail, RFC 6761 §6.4; the anonymous plugin uses namespace "anonymous"), our
 * "user".email being NOT NULL UNIQUE. The phone in E.164: GoTrue stores it without the "+"
 * (supabase/auth internal/api/phone.go formatPhoneNumber), Better Auth's phone-number plugin
 * looks users up by the number as the client sends it ("+…").
 */
export const LOGIN_IDENTITY = `
  SELECT coalesce(src.email, '') <> '' AS has_email,
         CASE WHEN coalesce(src.phone, '') <> ''
              THEN CASE WHEN left(src.phone, 1) = '+' THEN src.phone ELSE '+' || src.phone END
         END AS phone_e164,
         CASE WHEN coalesce(src.email, '') <> '' THEN lower(src.email)
              WHEN coalesce(src.is_anonymous, false)
                THEN src.id::text || '@anonymous.placeholder.invalid'
              WHEN coalesce(src.phone, '') <> '' THEN src.id::text || '@phone.placeholder.invalid'
         END AS login_email,
         CASE WHEN src.factors IS NOT NULL THEN
           (SELECT f ->> 'secret' FROM jsonb_array_elements(src.factors) f
            WHERE f ->> 'type' = 'totp' AND f ->> 'status' = 'verified' LIMIT 1)
         END AS totp_secret`;

/**
 * `planned` (the Better Auth user row) and `accounts` (credential + social accounts) of every
 * row of a `cls` CTE whose reason is NULL. Shared by the write, the plan and the verification,
 * so what is verified is exactly what is written. Columns of the admin, anonymous, phone-number
 * and two-factor plugins keep their column defaults for a user without the feature (role NULL
 * is the admin plugin's defaultRole "user": plugins/admin/has-permission.ts), so a plain user's
 * row is the same whichever path wrote it.
 */
export function projectionCtes(migratedFromPlaceholder: string, asOfPlaceholder: string): string {
  const meta = "c.meta";
  const app = "c.app";
  // Most users have no identity: the sub-select (a sort per row) only runs for those who do.
  // The earliest identity with the field; provider and provider id break ties (the array comes
  // in no particular order).
  const firstIdentity = (key: string) =>
    `CASE WHEN c.identities <> '[]'::jsonb THEN
       (SELECT e ->> '${key}' FROM jsonb_array_elements(c.identities) e
        WHERE coalesce(e ->> '${key}', '') <> ''
        ORDER BY e ->> 'created_at', e ->> 'provider', e ->> 'provider_id' LIMIT 1)
     END`;
  return `
    planned AS (
      SELECT c.id, c.email, c.email_lower, c.encrypted_password, c.identities, c.created_at,
             coalesce(${textField(meta, "full_name")}, ${textField(meta, "name")},
                      ${firstIdentity("name")},
                      CASE WHEN c.has_email THEN split_part(c.email_lower, '@', 1) END,
                      c.phone_e164, 'Anonymous') AS name,
             c.has_email AND c.email_confirmed_at IS NOT NULL AS email_verified,
             coalesce(${textField(meta, "avatar_url")}, ${textField(meta, "picture")},
                      ${firstIdentity("image")}) AS image,
             ${meta} || jsonb_build_object(
               'migrated_from', ${migratedFromPlaceholder},
               'original_id', c.id::text,
               'original_created_at', ${isoSql("c.created_at")}) AS user_metadata,
             ${app} || '{"provider": "migration"}'::jsonb AS app_metadata,
             coalesce(${textField(app, "role")},
                      CASE WHEN c.is_super_admin THEN 'admin' END) AS role,
             c.banned AS banned,
             CASE WHEN c.banned THEN 'banned in Supabase Auth' END AS ban_reason,
             CASE WHEN c.banned AND isfinite(c.banned_until) THEN c.banned_until END
               AS ban_expires,
             coalesce(c.is_anonymous, false) AS is_anonymous,
             c.phone_e164 AS phone_number,
             CASE WHEN c.phone_e164 IS NOT NULL THEN c.phone_confirmed_at IS NOT NULL END
               AS phone_number_verified,
             c.totp_secret IS NOT NULL AS two_factor,
             c.invited_at, c.last_sign_in_at
      FROM (SELECT cls.*, ${objectOrEmpty("cls.raw_user_meta_data")} AS meta,
                   ${objectOrEmpty("cls.raw_app_meta_data")} AS app,
                   coalesce(cls.banned_until > ${asOfPlaceholder}::timestamptz, false) AS banned
            FROM cls WHERE reason IS NULL) c
    ),
    accounts AS (
      SELECT p.id AS user_id, 'credential'::text AS provider_id, p.id::text AS account_id,
             p.encrypted_password AS password, p.created_at
      FROM planned p WHERE coalesce(p.encrypted_password, '') <> ''
      UNION ALL
      SELECT p.id, i.provider, i.provider_id, NULL::text, coalesce(i.created_at, p.created_at)
      -- The function is only set up for users that have identities (most have none).
      FROM (SELECT * FROM planned WHERE identities <> '[]'::jsonb) p
      CROSS JOIN LATERAL jsonb_to_recordset(p.identities)
        AS i(provider text, provider_id text, created_at timestamptz)
    )`;
}

export interface WriteCounts {
  readonly processed: number;
  readonly to_migrate: number;
  readonly already_ours: number;
  readonly skipped: number;
  readonly rejected: number;
  readonly users_inserted: number;
  readonly accounts_expected: number;
  readonly accounts_inserted: number;
  readonly tracking_inserted: number;
  readonly status_upserted: number;
  readonly errors_recorded: number;
  readonly two_factor_expected: number;
  readonly two_factor_inserted: number;
  readonly last_id: string | null;
}

/**
 * Classifies and writes one scope. Every planned row is attempted. The user, account,
 * twoFactor and migrated_users inserts are plain INSERTs, not ON CONFLICT DO NOTHING: the
 * classification already excludes every row that would conflict, so a conflict only arises
 * when a concurrent writer took an id, email or identity since — and then the unique violation
 * (23505) rolls the whole statement back and the caller bisects, exactly as a skipped row (counts
 * falling short) did; a speculative insertion per row and per unique index is saved. A user's
 * rows are written completely or not at all.
 */
export async function writeBatchStatement(
  context: ClassifyContext & { migrationId: string },
  scope: SourceScope,
  now: Date,
): Promise<{ sql: string; params: unknown[] }> {
  const params = new SqlParams();
  // Encrypted before the statement (Better Auth's cipher is not available in SQL); a factor
  // changed in between makes the two-factor count fall short, and the batch is split.
  const twoFactor = context.totp && context.source.totpSecrets
    ? await context.totp.records(await context.source.totpSecrets(scope))
    : [];
  const ctes = await classificationCtes(context, scope, params);
  const statusCondition = scopeCondition("st.user_id", scope, params.next);
  params.values.push(...statusCondition.params);
  const statusScope = statusCondition.sql;
  const migrationId = params.add(context.migrationId, "text");
  const at = params.add(now.toISOString(), "timestamptz");
  const inSupabase = params.add(context.source.inSupabaseAuth, "boolean");
  const messages = params.add(JSON.stringify(REASON_MESSAGES), "text");
  // Keyed by user id, so each two-factor user finds its record with one key look-up (jsonb
  // object keys are sorted) instead of a scan of every record of the batch. Sent as text (the
  // driver would encode a jsonb-typed string parameter as a JSON string) and parsed once, in an
  // uncorrelated sub-select.
  const records = params.add(
    JSON.stringify(
      Object.fromEntries(twoFactor.map((r) => [r.user_id, [r.secret, r.backup_codes]])),
    ),
    "text",
  );
  const sql = `${ctes},
    ins_user AS (
      INSERT INTO "user" (id, name, email, "emailVerified", image, "userMetadata",
                          "appMetadata", "createdAt", "updatedAt", role, banned, "banReason",
                          "banExpires", "isAnonymous", "phoneNumber", "phoneNumberVerified",
                          "twoFactorEnabled", "invitedAt", "lastSignInAt")
      SELECT id, name, email_lower, email_verified, image, user_metadata, app_metadata,
             created_at, ${at}::timestamptz, role, banned, ban_reason, ban_expires, is_anonymous,
             phone_number, phone_number_verified, two_factor, invited_at, last_sign_in_at
      FROM planned
      RETURNING id
    ),
    -- Foreign keys are checked at the end of the statement, when the new users are visible.
    -- A user whose row was not inserted makes the batch incomplete and it is rolled back.
    ins_two_factor AS (
      INSERT INTO "twoFactor" (id, secret, "backupCodes", "userId", verified)
      SELECT gen_random_uuid(), t.record ->> 0, t.record ->> 1, t.id, true
      FROM (SELECT p.id, (SELECT ${records}::jsonb) -> p.id::text AS record
            FROM planned p WHERE p.two_factor) t
      WHERE t.record IS NOT NULL
      RETURNING 1
    ),
    ins_account AS (
      INSERT INTO account (id, "accountId", "providerId", "userId", password, "createdAt",
                           "updatedAt")
      SELECT gen_random_uuid(), a.account_id, a.provider_id, a.user_id, a.password, a.created_at,
             ${at}::timestamptz
      FROM accounts a
      RETURNING 1
    ),
    ins_tracking AS (
      INSERT INTO migrated_users (original_id, new_auth_id, email, migrated_via, migration_id,
                                  migrated_at)
      SELECT p.id::text, p.id, p.email_lower, 'batch', ${migrationId}, ${at}::timestamptz
      FROM planned p
      RETURNING 1
    ),
    -- The scope's status rows as the statement began (read once, by the lease's id range).
    -- A status row is created for a user that had none when the statement began and updated
    -- for one that had (a dual-write or lazy path wrote it): two plain statements instead of an
    -- INSERT … ON CONFLICT DO UPDATE, whose speculative insertion cost ~40 % more per row. A row
    -- another writer commits or deletes meanwhile makes the insert fail (23505) or the update
    -- fall short, the batch rolls back and is split, and its parts see that row.
    -- created_by_migration is named on insert (the stamping trigger is skipped for rows that
    -- carry it); a row that exists already keeps its own.
    existing_status AS (
      SELECT st.user_id FROM user_migration_status st WHERE ${statusScope}
    ),
    ins_status AS (
      INSERT INTO user_migration_status (user_id, email, supabase_migrated,
        supabase_migrated_at, better_auth_migrated, better_auth_migrated_at, created_by_migration)
      SELECT p.id, p.email_lower, ${inSupabase},
             CASE WHEN ${inSupabase} THEN p.created_at END, true, ${at}::timestamptz,
             ${migrationId}
      FROM planned p
      WHERE p.id NOT IN (SELECT user_id FROM existing_status)
      RETURNING 1
    ),
    -- Only the planned users whose row exists (a hashed test against the scope's status rows,
    -- usually none; "IS TRUE" keeps it a filter rather than a join the planner would drive
    -- from the CTE) are looked up: not one index probe per planned user. The status rows are
    -- read by the scope's range too, so the join (a hash join: nested loops are off for a
    -- lease, created-rows.ts LEASE_PLANNER_SETTINGS) reads one batch of them, not the table.
    upd_status AS (
      UPDATE user_migration_status st SET
        better_auth_migrated = true,
        better_auth_migrated_at = coalesce(st.better_auth_migrated_at, ${at}::timestamptz),
        updated_at = ${at}::timestamptz
      FROM (SELECT p.id FROM planned p
            WHERE (p.id IN (SELECT user_id FROM existing_status)) IS TRUE) p
      WHERE st.user_id = p.id AND ${statusScope}
      RETURNING 1
    ),
    ins_error AS (
      INSERT INTO migration_errors (migration_id, user_id, email, error_code, error_message,
                                    error_details)
      SELECT ${migrationId}, c.id::text, c.email, c.reason, ${messages}::jsonb ->> c.reason,
             jsonb_build_object('stage', 'validation')
      FROM cls c WHERE c.reason IS NOT NULL AND c.reason NOT IN (${skipList})
      ON CONFLICT (migration_id, user_id, error_code) WHERE user_id IS NOT NULL DO NOTHING
      RETURNING 1
    )
    SELECT k.processed, k.to_migrate, k.already_ours, k.skipped, k.rejected,
      (SELECT count(*) FROM ins_user) AS users_inserted,
      (SELECT count(*) FROM accounts) AS accounts_expected,
      (SELECT count(*) FROM ins_account) AS accounts_inserted,
      (SELECT count(*) FROM ins_tracking) AS tracking_inserted,
      (SELECT count(*) FROM ins_status) + (SELECT count(*) FROM upd_status) AS status_upserted,
      (SELECT count(*) FROM ins_error) AS errors_recorded,
      k.two_factor_expected,
      (SELECT count(*) FROM ins_two_factor) AS two_factor_inserted,
      (SELECT id FROM cls ORDER BY id DESC LIMIT 1) AS last_id
    -- Every count of the classification in one pass over cls.
    FROM (
      SELECT count(*) AS processed,
             count(*) FILTER (WHERE reason IS NULL) AS to_migrate,
             count(*) FILTER (WHERE reason = 'migrated_by_this_migration') AS already_ours,
             count(*) FILTER (WHERE reason IN (${skipList})) AS skipped,
             count(*) FILTER (WHERE reason IS NOT NULL AND reason NOT IN (${skipList}))
               AS rejected,
             count(*) FILTER (WHERE reason IS NULL AND totp_secret IS NOT NULL)
               AS two_factor_expected
      FROM cls
    ) k`;
  return { sql, params: params.values };
}

/**
 * A planned user's accounts as the plan shows them, computed from its own row (credential from
 * the hash, social accounts from the identities) so no CTE join is needed.
 */
export function accountListSql(
  alias: string,
  element: (provider: string, account: string, password: string) => string,
): string {
  return `(SELECT coalesce(jsonb_agg(x.a ORDER BY x.p COLLATE "C", x.k COLLATE "C"), '[]'::jsonb)
     FROM (
       SELECT 'credential'::text AS p, ${alias}.id::text AS k,
              ${
    element("'credential'::text", `${alias}.id::text`, `${alias}.encrypted_password`)
  } AS a
       WHERE coalesce(${alias}.encrypted_password, '') <> ''
       UNION ALL
       SELECT e ->> 'provider', e ->> 'provider_id',
              ${element("e ->> 'provider'", "e ->> 'provider_id'", "NULL::text")}
       FROM jsonb_array_elements(${alias}.identities) e
     ) x)`;
}

const planAccount = (provider: string, account: string, password: string) =>
  `jsonb_build_object('providerId', ${provider}, 'accountId', ${account},
                      'hasPassword', ${password} IS NOT NULL)`;

/**
 * The plugin columns of a planned user that differ from their defaults (role, ban, anonymous,
 * phone, two-factor, invitedAt, lastSignInAt), as one object; empty for a plain user.
 */
const PLAN_EXTRAS = `jsonb_strip_nulls(jsonb_build_object(
    'role', p.role,
    'banned', CASE WHEN p.banned THEN true END,
    'banReason', p.ban_reason,
    'banExpires', ${isoSql("p.ban_expires")},
    'isAnonymous', CASE WHEN p.is_anonymous THEN true END,
    'phoneNumber', p.phone_number,
    'phoneNumberVerified', p.phone_number_verified,
    'twoFactorEnabled', CASE WHEN p.two_factor THEN true END,
    'invitedAt', ${isoSql("p.invited_at")},
    'lastSignInAt', ${isoSql("p.last_sign_in_at")})) AS extras`;

/** Migrating users with their projection, then the others with their reason (a UNION, no join). */
const PLAN_ROWS = `
  SELECT p.id, NULL::text AS reason, p.email AS source_email, p.email_lower AS email, p.name,
         p.email_verified, p.image, p.user_metadata, p.app_metadata,
         ${isoSql("p.created_at")} AS created_at, ${accountListSql("p", planAccount)} AS accounts,
         ${PLAN_EXTRAS}
  FROM planned p
  UNION ALL
  SELECT c.id, c.reason, c.email, NULL, NULL, NULL, NULL, NULL::jsonb, NULL::jsonb, NULL,
         NULL::jsonb, NULL::jsonb
  FROM cls c WHERE c.reason IS NOT NULL`;

/** The plan of a scope: every user with its decision and, for migrating users, its rows. */
export async function planStatement(
  context: ClassifyContext,
  scope: SourceScope,
): Promise<{ sql: string; params: unknown[] }> {
  const params = new SqlParams();
  const ctes = await classificationCtes(context, scope, params);
  return {
    sql: `${ctes}
      SELECT * FROM (${PLAN_ROWS}) plan ORDER BY id`,
    params: params.values,
  };
}

export interface DryRunRow {
  readonly processed: number;
  readonly to_migrate: number;
  readonly already_ours: number;
  readonly skipped: number;
  readonly rejected: number;
  readonly errors_recorded: number;
  readonly last_id: string | null;
  readonly failures: { id: string; email: string | null; reason: string }[];
  readonly sample: Record<string, unknown>[];
  readonly coverage: Coverage;
}

/**
 * A dry run of one scope: the same classification as the real write, recording validation
 * failures under the dry-run migration, returning counts, every failure and a sample of the
 * planned users. It writes no user, account, migrated_users or user_migration_status row.
 */
export async function dryRunStatement(
  context: ClassifyContext & { migrationId: string },
  scope: SourceScope,
  sampleSize: number,
): Promise<{ sql: string; params: unknown[] }> {
  const params = new SqlParams();
  const ctes = await classificationCtes(context, scope, params);
  const migrationId = params.add(context.migrationId, "text");
  const messages = params.add(JSON.stringify(REASON_MESSAGES), "text");
  const sample = params.add(sampleSize, "integer");
  const sql = `${ctes},
    ins_error AS (
      INSERT INTO migration_errors (migration_id, user_id, email, error_code, error_message,
                                    error_details)
      SELECT ${migrationId}, c.id::text, c.email, c.reason, ${messages}::jsonb ->> c.reason,
             jsonb_build_object('stage', 'validation', 'dry_run', true)
      FROM cls c WHERE c.reason IS NOT NULL AND c.reason NOT IN (${skipList})
      ON CONFLICT (migration_id, user_id, error_code) WHERE user_id IS NOT NULL DO NOTHING
      RETURNING 1
    ),
    sampled AS (
      SELECT * FROM (${PLAN_ROWS}) plan WHERE reason IS NULL ORDER BY id LIMIT ${sample}
    )
    SELECT
      (SELECT count(*) FROM cls) AS processed,
      (SELECT count(*) FROM planned) AS to_migrate,
      (SELECT count(*) FROM cls WHERE reason = 'migrated_by_this_migration') AS already_ours,
      (SELECT count(*) FROM cls WHERE reason IN (${skipList})) AS skipped,
      (SELECT count(*) FROM cls WHERE reason IS NOT NULL AND reason NOT IN (${skipList}))
        AS rejected,
      (SELECT count(*) FROM ins_error) AS errors_recorded,
      (SELECT id FROM cls ORDER BY id DESC LIMIT 1) AS last_id,
      (SELECT coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'email', c.email,
                                                    'reason', c.reason) ORDER BY c.id), '[]')
         FROM cls c WHERE c.reason IS NOT NULL AND c.reason NOT IN (${skipList})) AS failures,
      (SELECT coalesce(jsonb_agg(to_jsonb(sampled) ORDER BY sampled.id), '[]') FROM sampled)
        AS sample,
      ${coverageSql()} AS coverage`;
  return { sql, params: params.values };
}

export interface PreflightRow {
  readonly processed: number;
  readonly to_migrate: number;
  readonly skipped: number;
  readonly by_reason: Record<string, number>;
  readonly failures: { id: string; email: string | null; reason: string }[];
  readonly coverage: Coverage;
}

/** The pre-flight of one scope: classification only, nothing written anywhere. */
export async function preflightStatement(
  context: ClassifyContext,
  scope: SourceScope,
  maxFailures: number,
): Promise<{ sql: string; params: unknown[] }> {
  const params = new SqlParams();
  const ctes = await classificationCtes(context, scope, params);
  const limit = params.add(maxFailures, "integer");
  const sql = `${ctes}
    SELECT
      (SELECT count(*) FROM cls) AS processed,
      (SELECT count(*) FROM planned) AS to_migrate,
      (SELECT count(*) FROM cls WHERE reason IN (${skipList})) AS skipped,
      (SELECT coalesce(jsonb_object_agg(reason, n), '{}')
         FROM (SELECT reason, count(*) AS n FROM cls WHERE reason IS NOT NULL GROUP BY reason) r)
        AS by_reason,
      (SELECT coalesce(jsonb_agg(f ORDER BY f.id), '[]') FROM (
         SELECT c.id, c.email, c.reason FROM cls c
         WHERE c.reason IS NOT NULL AND c.reason NOT IN (${skipList})
         ORDER BY c.id LIMIT ${limit}) f) AS failures,
      ${coverageSql()} AS coverage`;
  return { sql, params: params.values };
}

/** The field coverage of one scope (plan): classification only, nothing written. */
export async function coverageStatement(
  context: ClassifyContext,
  scope: SourceScope,
): Promise<{ sql: string; params: unknown[] }> {
  const params = new SqlParams();
  const ctes = await classificationCtes(context, scope, params);
  return { sql: `${ctes} SELECT ${coverageSql()} AS coverage`, params: params.values };
}
