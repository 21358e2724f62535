/**
 * Supabase → Better Auth: applies the 'to_better_auth' rows the auth.users / auth.identities
 * triggers write (migration 20261206020000). Every 'user' payload is the FULL new state of the
 * columns Better Auth keeps (plus, for an update, the keys it changed), so applying a user's
 * rows in order is idempotent and ends at the latest state. The row work runs in the database,
 * one call per batch of users (identity_sync_apply_to_better_auth, migration 20261206020100):
 * each user in its own subtransaction, the call marked sync_origin = 'supabase' so the Better
 * Auth triggers do not capture these writes back (echo suppression).
 *
 * Mapping (auth.users → Better Auth):
 * - encrypted_password → the credential account's password, copied as-is (bcrypt); a changed
 *   hash revokes the user's Better Auth sessions;
 * - email / email_confirmed_at → email / emailVerified; phone / phone_confirmed_at →
 *   phoneNumber / phoneNumberVerified (phone-number plugin);
 * - banned_until in the future → banned, banExpires (admin plugin, enforced at sign-in) and the
 *   sessions revoked; past or NULL → not banned;
 * - deleted_at set (GoTrue's soft delete) or a deleted row → the Better Auth user is deleted
 *   (sessions and accounts cascade): GoTrue refuses a soft-deleted user for good;
 * - raw_user_meta_data / raw_app_meta_data → userMetadata / appMetadata, keeping the keys the
 *   batch copy adds (migrated_from, original_id, original_created_at; app "provider");
 * - is_anonymous → isAnonymous;
 * - identities → non-credential accounts (providerId = provider, accountId = provider_id).
 *
 * A user Better Auth does not have yet: its rows are deferred, not dropped. They are applied as
 * soon as the user appears (the batch or lazy migration copied it), and only skipped
 * ('skipped_absent') once `absentHorizonMs` has passed since they were first deferred AND no
 * transaction that began before that moment is still open. Why both: a batch copy reads
 * auth.users in a snapshot and commits later; a change committed in between is missing from the
 * copy, and its row must still be pending when the copy commits. Such a copy is a transaction
 * that began before the row was first seen here, so waiting for every older transaction to end
 * closes that window; the horizon covers copies that read over HTTP first and write later (lazy
 * migration inside one request, far shorter than the horizon).
 */
import type { SqlClient } from "../db/sql-client.ts";
import {
  deferRows,
  type DirectionApplier,
  type OutboxRow,
  settleRows,
  type UserResult,
  type UserWork,
} from "./outbox.ts";

export const SYNC_ORIGIN_SETTING = "edge_migrator.sync_origin";

export interface ToBetterAuthOptions {
  /** Minimum time a missing user's rows stay pending before they are skipped (default 10 min). */
  readonly absentHorizonMs?: number;
  /**
   * After this long a missing user's rows are skipped even if sessions the database will not
   * describe (another role, no pg_read_all_stats) might be older (default 6 × the horizon).
   */
  readonly absentHardLimitMs?: number;
}

/** Keys the batch copy adds to userMetadata; a Supabase change must not drop them. */
const MIGRATION_KEYS = ["migrated_from", "original_id", "original_created_at"];

export class ToBetterAuthApplier implements DirectionApplier {
  readonly direction = "to_better_auth" as const;
  readonly #horizonMs: number;
  readonly #hardLimitMs: number;

  constructor(private readonly db: SqlClient, options: ToBetterAuthOptions = {}) {
    this.#horizonMs = options.absentHorizonMs ?? 10 * 60_000;
    this.#hardLimitMs = options.absentHardLimitMs ?? 6 * this.#horizonMs;
  }

  async applyUsers(work: readonly UserWork[]): Promise<Map<string, UserResult>> {
    const results = new Map<string, UserResult>();
    const { rows: found } = await this.db.query<{ id: string }>(
      `SELECT id::text AS id FROM "user" WHERE id = ANY($1::uuid[])`,
      [work.map((item) => item.userId)],
    );
    const present = new Set(found.map((row) => row.id));
    for (const item of work.filter((item) => !present.has(item.userId))) {
      try {
        results.set(item.userId, await this.#absent(item.rows));
      } catch (error) {
        results.set(item.userId, { error });
      }
    }
    const batch = work.filter((item) => present.has(item.userId)).map((item) => ({
      user_id: item.userId,
      rows: item.rows.map((row) => ({
        id: row.id,
        entity: row.entity,
        op: row.op,
        payload: row.payload,
      })),
    }));
    if (batch.length === 0) return results;
    const { rows } = await this.db.query<{ user_id: string; error: string | null }>(
      `SELECT user_id::text AS user_id, error
         FROM public.identity_sync_apply_to_better_auth($1::text::jsonb, $2::text[])`,
      [JSON.stringify(batch), MIGRATION_KEYS],
    );
    for (const row of rows) {
      results.set(row.user_id, row.error === null ? "settled" : { error: new Error(row.error) });
    }
    return results;
  }

  /** A user Better Auth does not have (yet): defer, or skip once that is safe. */
  async #absent(rows: readonly OutboxRow[]): Promise<UserResult> {
    const ids = rows.map((row) => row.id);
    if (await this.#maySkipAbsent(rows)) {
      await settleRows(this.db, ids, "skipped_absent");
      return "settled";
    }
    await deferRows(this.db, ids);
    return "deferred";
  }

  async #maySkipAbsent(rows: readonly OutboxRow[]): Promise<boolean> {
    if (rows.some((row) => row.deferredAt === null)) return false;
    const firstSeen = Math.min(...rows.map((row) => row.deferredAt!.getTime()));
    const age = Date.now() - firstSeen;
    if (age < this.#horizonMs) return false;
    if (age >= this.#hardLimitMs) return true;
    // Client sessions of this database whose transaction began before the rows were first seen
    // (or that this role may not inspect: no state shown) could still commit a stale copy.
    const { rows: found } = await this.db.query<{ older: number }>(
      `SELECT count(*)::int AS older FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND backend_type = 'client backend'
          AND (xact_start < $1::timestamptz OR state IS NULL)`,
      [new Date(firstSeen).toISOString()],
    );
    return (found[0]?.older ?? 0) === 0;
  }
}
