/**
 * Supabase → Better Auth: applies the 'to_better_auth' rows the auth.users / auth.identities
 * triggers write (migration 20261206020000). Every 'user' payload is the FULL new state of the
 * columns Better Auth keeps, so applying a user's rows in order is idempotent and ends at the
 * latest state. One transaction per user, marked with sync_origin = 'supabase' so the Better
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
import { deferRows, type DirectionApplier, type OutboxRow, settleRows } from "./outbox.ts";

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

/** `fresh` when the row changed `key` (or carries the whole state: $4 NULL), else `current`. */
const when = (key: string, fresh: string, current: string) =>
  `CASE WHEN $4::text[] IS NULL OR '${key}' = ANY($4::text[]) THEN ${fresh} ELSE ${current} END`;

const UPDATE_USER = `
  WITH v AS (
    SELECT lower(nullif(j ->> 'email', '')) AS email,
           (j ->> 'email_confirmed_at') IS NOT NULL AS email_verified,
           nullif(j ->> 'phone', '') AS phone,
           (j ->> 'phone_confirmed_at') IS NOT NULL AS phone_verified,
           (j ->> 'banned_until')::timestamptz AS banned_until,
           CASE WHEN jsonb_typeof(j -> 'raw_user_meta_data') = 'object'
                THEN j -> 'raw_user_meta_data' ELSE '{}'::jsonb END AS meta,
           CASE WHEN jsonb_typeof(j -> 'raw_app_meta_data') = 'object'
                THEN j -> 'raw_app_meta_data' ELSE '{}'::jsonb END AS app,
           coalesce((j ->> 'is_anonymous')::boolean, false) AS anonymous
    FROM (SELECT $2::text::jsonb AS j) p
  )
  UPDATE "user" u SET
    email = ${when("email", "coalesce(v.email, u.email)", "u.email")},
    "emailVerified" = ${when("email_confirmed_at", "v.email_verified", 'u."emailVerified"')},
    "phoneNumber" = ${when("phone", "v.phone", 'u."phoneNumber"')},
    "phoneNumberVerified" = ${
  when(
    "phone_confirmed_at",
    "CASE WHEN v.phone IS NULL THEN NULL ELSE v.phone_verified END",
    'u."phoneNumberVerified"',
  )
},
    banned = ${when("banned_until", "coalesce(v.banned_until > now(), false)", "u.banned")},
    "banExpires" = ${
  when("banned_until", "CASE WHEN v.banned_until > now() THEN v.banned_until END", 'u."banExpires"')
},
    "banReason" = ${
  when(
    "banned_until",
    `CASE WHEN v.banned_until > now() THEN coalesce(u."banReason", 'banned in Supabase Auth') END`,
    'u."banReason"',
  )
},
    "userMetadata" = ${
  when(
    "raw_user_meta_data",
    `v.meta || (SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb)
                FROM jsonb_each(u."userMetadata") WHERE key = ANY($3::text[]))`,
    'u."userMetadata"',
  )
},
    "appMetadata" = ${
  when(
    "raw_app_meta_data",
    `v.app || CASE WHEN u."appMetadata" ? 'provider'
                   THEN jsonb_build_object('provider', u."appMetadata" -> 'provider')
                   ELSE '{}'::jsonb END`,
    'u."appMetadata"',
  )
},
    "isAnonymous" = ${when("is_anonymous", "v.anonymous", 'u."isAnonymous"')},
    "updatedAt" = now()
  FROM v
  WHERE u.id = $1::uuid
  RETURNING coalesce(v.banned_until > now(), false) AS banned`;

/** Sets the credential hash; revokes the sessions only when it actually changed. */
const SET_PASSWORD = `
  WITH changed AS (
    INSERT INTO account AS a (id, "accountId", "providerId", "userId", password, "createdAt",
                              "updatedAt")
    VALUES (gen_random_uuid(), $1::text, 'credential', $1::uuid, $2::text, now(), now())
    ON CONFLICT ("userId", "providerId") DO UPDATE
      SET password = EXCLUDED.password, "updatedAt" = now()
      WHERE a.password IS DISTINCT FROM EXCLUDED.password
    RETURNING 1
  )
  DELETE FROM "session" WHERE "userId" = $1::uuid AND EXISTS (SELECT 1 FROM changed)`;

const CLEAR_PASSWORD = `
  WITH changed AS (
    UPDATE account SET password = NULL, "updatedAt" = now()
     WHERE "userId" = $1::uuid AND "providerId" = 'credential' AND password IS NOT NULL
    RETURNING 1
  )
  DELETE FROM "session" WHERE "userId" = $1::uuid AND EXISTS (SELECT 1 FROM changed)`;

const stringOf = (value: unknown): string | null =>
  typeof value === "string" && value !== "" ? value : null;

interface IdentityLink {
  readonly provider: string;
  readonly providerId: string;
}

function identityOf(payload: Record<string, unknown>): IdentityLink {
  const provider = stringOf(payload.provider);
  const providerId = stringOf(payload.provider_id);
  if (!provider || !providerId) throw new Error("identity row without provider / provider_id");
  return { provider, providerId };
}

export class ToBetterAuthApplier implements DirectionApplier {
  readonly direction = "to_better_auth" as const;
  readonly #horizonMs: number;
  readonly #hardLimitMs: number;
  #present = new Set<string>();

  constructor(private readonly db: SqlClient, options: ToBetterAuthOptions = {}) {
    this.#horizonMs = options.absentHorizonMs ?? 10 * 60_000;
    this.#hardLimitMs = options.absentHardLimitMs ?? 6 * this.#horizonMs;
  }

  async prepare(userIds: readonly string[]): Promise<void> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id::text AS id FROM "user" WHERE id = ANY($1::uuid[])`,
      [userIds],
    );
    this.#present = new Set(rows.map((row) => row.id));
  }

  async applyUser(userId: string, rows: readonly OutboxRow[]): Promise<"settled" | "deferred"> {
    const ids = rows.map((row) => row.id);
    if (!this.#present.has(userId)) {
      if (await this.#maySkipAbsent(rows)) {
        await settleRows(this.db, ids, "skipped_absent");
        return "settled";
      }
      await deferRows(this.db, ids);
      return "deferred";
    }
    await this.db.transaction(async (tx) => {
      await tx.query(`SELECT set_config($1, 'supabase', true)`, [SYNC_ORIGIN_SETTING]);
      for (const row of rows) {
        // Once deleted, the user's later rows (GoTrue's soft delete rewrites the identities
        // after the user) have nothing left to change.
        if (await this.#applyRow(tx, userId, row) === "deleted") break;
      }
      await settleRows(tx, ids, "applied");
    });
    return "settled";
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

  async #applyRow(tx: SqlClient, userId: string, row: OutboxRow): Promise<"deleted" | "kept"> {
    switch (row.entity) {
      case "user":
        return await this.#applyUserRow(tx, userId, row);
      case "identity": {
        const link = identityOf(row.payload);
        if (row.op === "delete") await this.#unlink(tx, userId, link);
        else await this.#link(tx, userId, link);
        return "kept";
      }
      case "identities":
        await this.#setIdentities(tx, userId, row.payload);
        return "kept";
      default:
        throw new Error(`unknown outbox entity ${JSON.stringify(row.entity)}`);
    }
  }

  async #applyUserRow(
    tx: SqlClient,
    userId: string,
    row: OutboxRow,
  ): Promise<"deleted" | "kept"> {
    // An update names the keys it changed; an insert or a re-capture carries the whole state.
    const changed = row.op === "update" && Array.isArray(row.payload.changed)
      ? row.payload.changed.filter((key): key is string => typeof key === "string")
      : null;
    const touches = (key: string) => changed === null || changed.includes(key);
    if (row.op === "delete" || (touches("deleted_at") && row.payload.deleted_at)) {
      await tx.query(`DELETE FROM "user" WHERE id = $1::uuid`, [userId]);
      return "deleted";
    }
    const { payload } = row;
    const updated = await tx.query<{ banned: boolean }>(UPDATE_USER, [
      userId,
      JSON.stringify({ ...payload, encrypted_password: undefined }),
      MIGRATION_KEYS,
      changed,
    ]);
    if (updated.rows.length === 0) return "deleted"; // gone already
    if (touches("encrypted_password")) {
      const hash = stringOf(payload.encrypted_password);
      await tx.query(hash ? SET_PASSWORD : CLEAR_PASSWORD, hash ? [userId, hash] : [userId]);
    }
    if (touches("banned_until") && updated.rows[0]!.banned) {
      await tx.query(`DELETE FROM "session" WHERE "userId" = $1::uuid`, [userId]);
    }
    return "kept";
  }

  async #link(tx: SqlClient, userId: string, link: IdentityLink): Promise<void> {
    // One account per provider and user (account_user_provider_key): a re-link moves it.
    const moved = await tx.query(
      `UPDATE account SET "accountId" = $3, "updatedAt" = now()
        WHERE "userId" = $1::uuid AND "providerId" = $2`,
      [userId, link.provider, link.providerId],
    );
    if (moved.rowCount === 0) {
      await tx.query(
        `INSERT INTO account (id, "accountId", "providerId", "userId", "createdAt", "updatedAt")
         VALUES (gen_random_uuid(), $3, $2, $1::uuid, now(), now())
         ON CONFLICT ("providerId", "accountId") DO NOTHING`,
        [userId, link.provider, link.providerId],
      );
    }
    const { rows } = await tx.query<{ owner: string }>(
      `SELECT "userId"::text AS owner FROM account WHERE "providerId" = $1 AND "accountId" = $2`,
      [link.provider, link.providerId],
    );
    if (rows[0]?.owner !== userId) {
      throw new Error(`the ${link.provider} identity belongs to another Better Auth user`);
    }
  }

  async #unlink(tx: SqlClient, userId: string, link: IdentityLink): Promise<void> {
    await tx.query(
      `DELETE FROM account WHERE "userId" = $1::uuid AND "providerId" = $2 AND "accountId" = $3`,
      [userId, link.provider, link.providerId],
    );
  }

  /** A re-capture's full list: accounts not in it are unlinked, the others linked. */
  async #setIdentities(
    tx: SqlClient,
    userId: string,
    payload: Record<string, unknown>,
  ): Promise<void> {
    const list = Array.isArray(payload.identities) ? payload.identities : [];
    const links = list.map((item) => identityOf(item as Record<string, unknown>));
    await tx.query(
      `DELETE FROM account
        WHERE "userId" = $1::uuid AND "providerId" <> 'credential'
          AND NOT ("providerId" || ':' || "accountId" = ANY($2::text[]))`,
      [userId, links.map((link) => `${link.provider}:${link.providerId}`)],
    );
    for (const link of links) await this.#link(tx, userId, link);
  }
}
