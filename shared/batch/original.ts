/**
 * The ORIGINAL implementation, as the migration guide sketches it: page through the users with
 * supabase-js (auth.admin.listUsers), then for each user look things up and write its rows one
 * statement at a time. Kept for the benchmark and for plan-mode comparison against the
 * set-based engine (both return a BatchPlan; plan.ts compares them).
 *
 * Two of the guide's flaws are fixed here because they lose data, not speed: GoTrue's admin API
 * never returns password hashes, so each user's bcrypt hash is read from auth.users (the guide's
 * users lost their passwords); and every user's rows are written in one transaction.
 */
import { nameBatchWrites } from "./created-rows.ts";
import type { User } from "@supabase/supabase-js";
import { z } from "zod";
import type { SqlClient } from "../db/sql-client.ts";
import { AppError } from "../result.ts";
import type { MigrationRules } from "./config.ts";
import type { BatchCounts } from "./migration-state.ts";
import type { BatchPlan, PlannedAccount, PlannedUser } from "./plan.ts";
import {
  actionOf,
  PASSWORD_HASH_PATTERN,
  REASON_MESSAGES,
  type RejectReason,
  type SkipReason,
} from "./rules.ts";
import type { DuplicateEmail } from "./source.ts";

/** The part of supabase-js's `auth.admin` the original uses. */
export interface AdminUsersApi {
  listUsers(
    params?: { page?: number; perPage?: number },
  ): Promise<{ data: { users: User[] }; error: unknown }>;
  getUserById(uid: string): Promise<{ data: { user: User | null }; error: unknown }>;
}

export interface OriginalContext {
  /** The database holding auth.users (hash look-ups) and the Better Auth + tracking tables. */
  readonly db: SqlClient;
  readonly admin: AdminUsersApi;
  /** null in a pre-flight context. */
  readonly migrationId: string | null;
  /** userMetadata.migrated_from (the source adapter's name). */
  readonly migratedFrom: string;
  readonly rules: MigrationRules;
  readonly asOf: Date;
  readonly duplicates: readonly DuplicateEmail[];
}

const emailSchema = z.email();
const passwordHash = new RegExp(PASSWORD_HASH_PATTERN);
const NON_SOCIAL_PROVIDERS = new Set(["email", "phone"]);

/** A metadata field when it is a non-blank string (spaces trimmed, as SQL btrim does). */
function textField(meta: Record<string, unknown>, key: string): string | null {
  const value = meta[key];
  if (typeof value !== "string") return null;
  const trimmed = value.replace(/^ +| +$/g, "");
  return trimmed === "" ? null : trimmed;
}

function objectOrEmpty(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

/** Code-unit order, as PostgreSQL's "C" collation orders ASCII. */
const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

interface UserLookups {
  readonly hash: string | null;
  readonly tracking: { migration_id: string | null; migrated_via: string } | null;
  readonly targetHasId: boolean;
  readonly signupInFlight: boolean;
  readonly emailOwnedByOther: boolean;
  readonly identityOwnedByOther: boolean;
  /** A verified TOTP factor: this path carries no factor, so such a user is refused. */
  readonly verifiedTotp: boolean;
}

/** The per-user queries the original runs before deciding (one round trip each). */
async function lookUp(db: SqlClient, user: User): Promise<UserLookups> {
  const hash = await db.query<{ encrypted_password: string | null }>(
    "SELECT encrypted_password::text AS encrypted_password FROM auth.users WHERE id = $1::uuid",
    [user.id],
  );
  const tracking = await db.query<{ migration_id: string | null; migrated_via: string }>(
    "SELECT migration_id, migrated_via FROM migrated_users WHERE new_auth_id = $1::uuid",
    [user.id],
  );
  const target = await db.query<{ n: number }>(
    `SELECT count(*) AS n FROM "user" WHERE id = $1::uuid`,
    [user.id],
  );
  const claim = await db.query<{ n: number }>(
    `SELECT count(*) AS n FROM auth_signup_claims WHERE user_id = $1::uuid AND expires_at > now()`,
    [user.id],
  );
  const email = (user.email ?? "").toLowerCase();
  const owner = await db.query<{ n: number }>(
    `SELECT count(*) AS n FROM "user" WHERE email = $1 AND id <> $2::uuid`,
    [email, user.id],
  );
  const totp = await db.query<{ n: number }>(
    `SELECT count(*) AS n FROM auth.mfa_factors
      WHERE user_id = $1::uuid AND factor_type = 'totp' AND status = 'verified'`,
    [user.id],
  );
  let identityOwnedByOther = false;
  for (const identity of socialIdentities(user)) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*) AS n FROM account
       WHERE "providerId" = $1 AND "accountId" = $2 AND "userId" <> $3::uuid`,
      [identity.provider, identity.id, user.id],
    );
    if ((rows[0]?.n ?? 0) > 0) identityOwnedByOther = true;
  }
  return {
    hash: hash.rows[0]?.encrypted_password ?? null,
    tracking: tracking.rows[0] ?? null,
    targetHasId: (target.rows[0]?.n ?? 0) > 0,
    signupInFlight: Number(claim.rows[0]?.n ?? 0) > 0,
    emailOwnedByOther: (owner.rows[0]?.n ?? 0) > 0,
    identityOwnedByOther,
    verifiedTotp: Number(totp.rows[0]?.n ?? 0) > 0,
  };
}

function socialIdentities(user: User) {
  return (user.identities ?? []).filter((identity) => !NON_SOCIAL_PROVIDERS.has(identity.provider));
}

/** The rules of rules.ts, in the same order, for one user. */
function reasonFor(
  user: User,
  lookups: UserLookups,
  context: OriginalContext,
  duplicates: Map<string, string | null>,
): SkipReason | RejectReason | null {
  if (lookups.tracking) {
    return lookups.tracking.migrated_via === "batch" &&
        lookups.tracking.migration_id === context.migrationId
      ? "migrated_by_this_migration"
      : "already_migrated";
  }
  if (lookups.targetHasId) return "already_in_target";
  if (lookups.signupInFlight) return "signup_in_flight";
  const email = user.email ?? "";
  if (email === "") return "missing_email";
  if (!user.created_at) return "missing_created_at";
  if (!emailSchema.safeParse(email).success) return "invalid_email";
  if (context.rules.deletedUsers === "reject" && user.deleted_at) return "deleted_user";
  if (
    context.rules.bannedUsers === "reject" && user.banned_until &&
    new Date(user.banned_until) > context.asOf
  ) return "banned_user";
  if (lookups.hash && !passwordHash.test(lookups.hash)) return "invalid_password_hash";
  const lower = email.toLowerCase();
  if (duplicates.has(lower) && duplicates.get(lower) !== user.id) return "duplicate_email";
  if (lookups.emailOwnedByOther) return "email_exists_in_target";
  const providers = socialIdentities(user).map((identity) => identity.provider);
  if (new Set(providers).size !== providers.length) return "duplicate_provider_identity";
  if (lookups.identityOwnedByOther) return "identity_exists_in_target";
  // Never migrated without its second factor (the set-based engine carries it; this path cannot).
  if (lookups.verifiedTotp) return "totp_not_carried";
  return null;
}

interface UserRows {
  readonly plan: PlannedUser;
  /** Only for users to migrate: what gets written (with the hash). */
  readonly accounts: readonly (PlannedAccount & { password: string | null; createdAt: string })[];
}

function planUser(
  user: User,
  lookups: UserLookups,
  context: OriginalContext,
  duplicates: Map<string, string | null>,
): UserRows {
  const reason = reasonFor(user, lookups, context, duplicates);
  const action = actionOf(reason);
  if (action !== "migrate") return { plan: { id: user.id, action, reason }, accounts: [] };
  const email = user.email!.toLowerCase();
  const meta = objectOrEmpty(user.user_metadata);
  const createdAt = new Date(user.created_at).toISOString();
  const accounts: (PlannedAccount & { password: string | null; createdAt: string })[] = [];
  if (lookups.hash) {
    accounts.push({
      providerId: "credential",
      accountId: user.id,
      hasPassword: true,
      password: lookups.hash,
      createdAt,
    });
  }
  for (const identity of socialIdentities(user)) {
    accounts.push({
      providerId: identity.provider,
      accountId: identity.id,
      hasPassword: false,
      password: null,
      createdAt: identity.created_at ? new Date(identity.created_at).toISOString() : createdAt,
    });
  }
  accounts.sort((a, b) =>
    byCodeUnit(a.providerId, b.providerId) || byCodeUnit(a.accountId, b.accountId)
  );
  return {
    plan: {
      id: user.id,
      action,
      reason: null,
      user: {
        email,
        name: textField(meta, "full_name") ?? textField(meta, "name") ?? email.split("@")[0]!,
        emailVerified: Boolean(user.email_confirmed_at),
        image: textField(meta, "avatar_url") ?? textField(meta, "picture"),
        userMetadata: {
          ...meta,
          migrated_from: context.migratedFrom,
          original_id: user.id,
          original_created_at: createdAt,
        },
        appMetadata: { ...objectOrEmpty(user.app_metadata), provider: "migration" },
        createdAt,
      },
      accounts: accounts.map(({ providerId, accountId, hasPassword }) => ({
        providerId,
        accountId,
        hasPassword,
      })),
    },
    accounts,
  };
}

function duplicateMap(context: OriginalContext): Map<string, string | null> {
  return new Map(context.duplicates.map((d) => [d.email_lower, d.keeper_id]));
}

/** The original's plan for given users (as the admin API returned them). Writes nothing. */
export async function planOriginalUsers(
  context: OriginalContext,
  users: readonly User[],
): Promise<BatchPlan> {
  const duplicates = duplicateMap(context);
  const planned: PlannedUser[] = [];
  for (const user of users) {
    planned.push(planUser(user, await lookUp(context.db, user), context, duplicates).plan);
  }
  return { users: planned.sort((a, b) => byCodeUnit(a.id, b.id)) };
}

/** The original's plan for given ids: one admin API call per user, then per-user look-ups. */
export async function planOriginalIds(
  context: OriginalContext,
  ids: readonly string[],
): Promise<BatchPlan> {
  const users: User[] = [];
  for (const id of ids) {
    const { data, error } = await context.admin.getUserById(id);
    if (error || !data.user) continue;
    users.push(data.user);
  }
  return await planOriginalUsers(context, users);
}

async function writeUser(
  db: SqlClient,
  context: OriginalContext & { migrationId: string },
  rows: UserRows,
  inSupabaseAuth: boolean,
): Promise<void> {
  const user = rows.plan.user!;
  const now = new Date().toISOString();
  await db.transaction(async (tx) => {
    await nameBatchWrites(tx, context.migrationId);
    await tx.query(
      `INSERT INTO "user" (id, name, email, "emailVerified", image, "userMetadata", "appMetadata",
                           "createdAt", "updatedAt")
       VALUES ($1::uuid, $2, $3, $4, $5, $6::text::jsonb, $7::text::jsonb, $8::text::timestamptz,
               $9::text::timestamptz)
       ON CONFLICT DO NOTHING`,
      [
        rows.plan.id,
        user.name,
        user.email,
        user.emailVerified,
        user.image,
        JSON.stringify(user.userMetadata),
        JSON.stringify(user.appMetadata),
        user.createdAt,
        now,
      ],
    );
    for (const account of rows.accounts) {
      await tx.query(
        `INSERT INTO account (id, "accountId", "providerId", "userId", password, "createdAt",
                              "updatedAt")
         VALUES (gen_random_uuid(), $1, $2, $3::uuid, $4, $5::text::timestamptz,
                 $6::text::timestamptz)
         ON CONFLICT DO NOTHING`,
        [
          account.accountId,
          account.providerId,
          rows.plan.id,
          account.password,
          account.createdAt,
          now,
        ],
      );
    }
    await tx.query(
      `INSERT INTO migrated_users (original_id, new_auth_id, email, migrated_via, migration_id)
       VALUES ($1::uuid::text, $1::uuid, $2, 'batch', $3) ON CONFLICT DO NOTHING`,
      [rows.plan.id, user.email, context.migrationId],
    );
    await tx.query(
      `INSERT INTO user_migration_status AS st (user_id, email, supabase_migrated,
         supabase_migrated_at, better_auth_migrated, better_auth_migrated_at)
       VALUES ($1::uuid, $2, $3::boolean, CASE WHEN $3::boolean THEN $4::text::timestamptz END, true,
               $5::text::timestamptz)
       ON CONFLICT (user_id) DO UPDATE SET better_auth_migrated = true,
         better_auth_migrated_at = coalesce(st.better_auth_migrated_at, EXCLUDED.better_auth_migrated_at),
         updated_at = EXCLUDED.better_auth_migrated_at`,
      [rows.plan.id, user.email, inSupabaseAuth, user.createdAt, now],
    );
  });
}

/** Records a rejected user once per migration; false when it was already recorded. */
async function recordRejection(
  db: SqlClient,
  context: OriginalContext & { migrationId: string },
  user: User,
  reason: RejectReason,
): Promise<boolean> {
  const { rows } = await db.query(
    `INSERT INTO migration_errors (migration_id, user_id, email, error_code, error_message,
                                  error_details)
     VALUES ($1, $2, $3, $4, $5, '{"stage": "validation"}'::jsonb)
     ON CONFLICT (migration_id, user_id, error_code) WHERE user_id IS NOT NULL DO NOTHING
     RETURNING 1`,
    [context.migrationId, user.id, user.email || null, reason, REASON_MESSAGES[reason]],
  );
  return rows.length > 0;
}

export interface OriginalRunResult extends BatchCounts {
  readonly pages: number;
  /** The listing was read to its end (not stopped by maxUsers, maxPages or the deadline). */
  readonly reachedEnd: boolean;
  /** Dry run: every rejected user (the original writes nothing then). */
  readonly failures: { id: string; email: string | null; reason: string }[];
}

export interface OriginalRunOptions {
  readonly perPage?: number;
  readonly maxUsers?: number;
  readonly maxPages?: number;
  /** performance.now() value after which no further page is started. */
  readonly deadline?: number;
  readonly inSupabaseAuth?: boolean;
  /** Decide every user, write nothing. */
  readonly dryRun?: boolean;
  /** Stops before the next page once aborted. */
  readonly signal?: AbortSignal;
  /** Asked before each page after the first (the CPU budget); true stops like the deadline. */
  readonly shouldStop?: () => boolean;
  /** The listing page to start from (resuming an earlier invocation); default 1. */
  readonly startPage?: number;
}

type Counts = { processed: number; migrated: number; skipped: number; errors: number };

/**
 * Who this migration has handled (batch_original_seen, kept for dry runs too: like the progress
 * counters it is bookkeeping, not user data), with an in-memory fast path for this invocation.
 */
class SeenUsers {
  readonly #memory = new Set<string>();

  constructor(
    private readonly db: SqlClient,
    private readonly migrationId: string,
  ) {}

  /** Records `id`; true the first time this migration sees it. */
  async mark(id: string): Promise<boolean> {
    if (this.#memory.has(id)) return false;
    this.#memory.add(id);
    const { rows } = await this.db.query(
      `INSERT INTO batch_original_seen (migration_id, user_id) VALUES ($1, $2::uuid)
       ON CONFLICT DO NOTHING RETURNING 1`,
      [this.migrationId, id],
    );
    return rows.length > 0;
  }

  /**
   * The set difference: up to `limit` auth.users rows this migration has not handled, in id
   * order, excluding `gone` (ids the admin API no longer finds).
   */
  async missing(limit: number, gone: ReadonlySet<string>): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT u.id::text AS id FROM auth.users u
        WHERE NOT (u.id = ANY($2::uuid[]))
          AND NOT EXISTS (SELECT 1 FROM batch_original_seen s
                           WHERE s.migration_id = $1 AND s.user_id = u.id)
        ORDER BY u.id LIMIT $3`,
      [this.migrationId, [...this.#memory, ...gone], limit],
    );
    return rows.map((row) => row.id);
  }
}

/**
 * The guide's loop: listUsers page by page (page/perPage, i.e. OFFSET underneath), and per user
 * look-ups, a decision and its writes. Progress is saved after every page. The migration row
 * must exist (migration_states).
 *
 * Made correct on hosted GoTrue, whose listUsers orders by `created_at DESC` with no tiebreaker
 * (supabase/auth internal/models/user.go FindUsersInAudience; internal/api/admin.go adminUsers):
 * users sharing a created_at may come in a different order on every request, so an OFFSET page
 * boundary inside such a group skips some and repeats others, and signups or deletions between
 * pages shift every later page. Therefore:
 * 1. every handled user is recorded once (batch_original_seen); a repeat is neither written nor
 *    counted again (the writes are idempotent besides);
 * 2. after the listing's last page, a reconciliation pass takes the set difference — auth.users
 *    rows not yet seen — fetches each through the admin API (getUserById) and handles it the same
 *    way, until nothing is missing. A user deleted meanwhile (404) is left out; one created
 *    meanwhile is handled like any other. Only then is the run `reachedEnd`.
 */
export async function runOriginal(
  context: OriginalContext & { migrationId: string },
  options: OriginalRunOptions = {},
): Promise<OriginalRunResult> {
  const perPage = options.perPage ?? 100;
  const duplicates = duplicateMap(context);
  const seen = new SeenUsers(context.db, context.migrationId);
  let counts: Counts = { processed: 0, migrated: 0, skipped: 0, errors: 0 };
  const failures: OriginalRunResult["failures"] = [];
  let pages = 0;
  let reachedEnd = false;
  let listingDone = false;
  let nextPage = options.startPage ?? 1;

  const handle = async (user: User): Promise<void> => {
    const rows = planUser(user, await lookUp(context.db, user), context, duplicates);
    let outcome: keyof Counts | null;
    if (rows.plan.action === "migrate") {
      if (!options.dryRun) {
        await writeUser(context.db, context, rows, options.inSupabaseAuth ?? true);
      }
      outcome = "migrated";
    } else if (rows.plan.action === "skip") {
      // A resumed or overlapping listing meets users this migration already migrated.
      outcome = rows.plan.reason === "migrated_by_this_migration" ? null : "skipped";
    } else {
      const reason = rows.plan.reason as RejectReason;
      if (options.dryRun) failures.push({ id: user.id, email: user.email || null, reason });
      else await recordRejection(context.db, context, user, reason);
      outcome = "errors";
    }
    // Marked after the work: a crash in between repeats idempotent work, never skips a user.
    if (!await seen.mark(user.id) || outcome === null) return;
    counts = { ...counts, [outcome]: counts[outcome] + 1, processed: counts.processed + 1 };
  };

  const saveProgress = async (before: Counts, next: number): Promise<void> => {
    // The cursor is the next listing page, kept in the migration's config: the per-user
    // original pages with page/perPage as the guide does, so it has no source id to resume from.
    await context.db.query(
      `UPDATE migration_states SET processed_count = processed_count + $2,
         migrated_count = migrated_count + $3, skipped_count = skipped_count + $4,
         error_count = error_count + $5, updated_at = now(),
         config = jsonb_set(config, '{next_page}', to_jsonb($6::int))
       WHERE id = $1`,
      [
        context.migrationId,
        counts.processed - before.processed,
        counts.migrated - before.migrated,
        counts.skipped - before.skipped,
        counts.errors - before.errors,
        next,
      ],
    );
  };
  const full = () => options.maxUsers !== undefined && counts.processed >= options.maxUsers;
  const gone = new Set<string>();

  for (;;) {
    if (options.maxPages !== undefined && pages >= options.maxPages) break;
    // At least one page per invocation: a budget smaller than one page must still make progress.
    if (pages > 0 && options.deadline !== undefined && performance.now() >= options.deadline) break;
    if (pages > 0 && options.shouldStop?.()) break;
    if (options.signal?.aborted) break;
    let users: User[];
    if (!listingDone) {
      const { data, error } = await context.admin.listUsers({ page: nextPage, perPage });
      if (error) {
        throw new AppError("unavailable", "listing users through the admin API failed", undefined, {
          cause: error,
        });
      }
      users = data.users;
      if (users.length === 0) {
        listingDone = true;
        continue;
      }
    } else {
      const missing = await seen.missing(perPage, gone);
      if (missing.length === 0) {
        reachedEnd = true;
        break;
      }
      users = await fetchUsers(context.admin, missing, gone);
    }
    pages++;
    const before = counts;
    let pageCut = false;
    for (const user of users) {
      if (full()) {
        pageCut = true;
        break;
      }
      await handle(user);
    }
    // A page cut short is listed again next time (its handled users are then repeats).
    if (!listingDone && !pageCut) nextPage++;
    await saveProgress(before, nextPage);
    if (full()) break;
    if (!listingDone && users.length < perPage) listingDone = true;
  }
  return { ...counts, pages, reachedEnd, failures };
}

/** The users behind `ids` through the admin API; ids it no longer finds (404) go to `gone`. */
async function fetchUsers(
  admin: AdminUsersApi,
  ids: readonly string[],
  gone: Set<string>,
): Promise<User[]> {
  const users: User[] = [];
  for (const id of ids) {
    const { data, error } = await admin.getUserById(id);
    if (data.user) users.push(data.user);
    else if (isNotFound(error)) gone.add(id);
    else {
      throw new AppError("unavailable", "reading a user through the admin API failed", undefined, {
        cause: error,
      });
    }
  }
  return users;
}

/** GoTrue's 404 `user_not_found` from getUserById, as supabase-js reports it. */
function isNotFound(error: unknown): boolean {
  const status = (error as { status?: unknown } | null)?.status;
  return status === 404;
}
