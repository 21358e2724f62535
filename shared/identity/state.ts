/**
 * What each auth system holds for one user right now, read straight from the tables (one query
 * per system), and what is still in flight between them (identity_change_outbox). The login rule
 * (system-of-record.ts) decides from these facts; nothing here decides anything.
 *
 * - Supabase: auth.users (hash, banned_until, email_confirmed_at, deleted_at), readable when the
 *   database is shared (locally, and on Supabase through SUPABASE_DB_URL).
 * - Better Auth: "user" (admin plugin's banned/banExpires, emailVerified) + its credential
 *   account's password.
 * - Pending: unapplied outbox rows per direction (migrations/20261206000200_…).
 *
 * Password hashes are read to be compared for equality only; they are never logged or returned
 * to a client.
 */
import type { SqlClient } from "../db/sql-client.ts";
import { isUuid } from "../uuid.ts";

export interface IdentityState {
  readonly id: string;
  readonly email: string;
  /** The stored password hash (bcrypt or scrypt), or null when the user has none. */
  readonly passwordHash: string | null;
  /** Banned right now (a ban that has expired is no ban, on both sides). */
  readonly banned: boolean;
  readonly emailConfirmed: boolean;
  /** Supabase soft delete (deleted_at); Better Auth deletes rows. */
  readonly deleted: boolean;
}

export interface PendingChanges {
  readonly toBetterAuth: number;
  readonly toSupabase: number;
}

type Key = { readonly email: string } | { readonly id: string };

/** `emailMatch` must be able to use the table's email index (see the readers). */
function where(key: Key, idColumn: string, emailMatch: string): [string, string] | null {
  if ("id" in key) return isUuid(key.id) ? [`${idColumn} = $1::uuid`, key.id] : null;
  return [emailMatch, key.email];
}

interface SupabaseRow {
  id: string;
  email: string | null;
  encrypted_password: string | null;
  banned: boolean;
  email_confirmed: boolean;
  deleted: boolean;
}

/** The auth.users row (by id or by email, password users only), or null. */
export async function readSupabaseState(db: SqlClient, key: Key): Promise<IdentityState | null> {
  // GoTrue's FindUserByEmailAndAudience matches lower(email) under the nil instance_id: its index
  // users_instance_id_email_idx (instance_id, lower(email)); rows without one are matched too.
  const clause = where(
    key,
    "id",
    `(instance_id = '00000000-0000-0000-0000-000000000000' OR instance_id IS NULL)
       AND lower(email) = lower($1)`,
  );
  if (!clause) return null;
  // GoTrue's User.IsBanned as the stand-in copies it (local/standin/auth/users.ts isBanned):
  // banned_until set and in the future.
  const { rows } = await db.query<SupabaseRow>(
    `SELECT id::text AS id, email, encrypted_password,
            (banned_until IS NOT NULL AND banned_until > now()) AS banned,
            (email_confirmed_at IS NOT NULL) AS email_confirmed,
            (deleted_at IS NOT NULL) AS deleted
       FROM auth.users
      WHERE ${clause[0]} AND is_sso_user = false
      ORDER BY deleted_at NULLS FIRST, created_at
      LIMIT 1`,
    [clause[1]],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    id: row.id,
    email: (row.email ?? "").toLowerCase(),
    passwordHash: row.encrypted_password || null,
    banned: row.banned,
    emailConfirmed: row.email_confirmed,
    deleted: row.deleted,
  };
}

interface BetterAuthRow {
  id: string;
  email: string;
  password: string | null;
  banned: boolean;
  emailVerified: boolean;
}

/** The Better Auth user with its credential password, or null. */
export async function readBetterAuthState(
  db: SqlClient,
  key: Key,
): Promise<IdentityState | null> {
  // Better Auth stores emails lower-cased (its unique index is on email itself).
  const clause = where(key, "u.id", "u.email = lower($1)");
  if (!clause) return null;
  // The admin plugin lifts a ban whose banExpires has passed (plugins/admin/admin.mjs,
  // session.create.before): such a user is not banned.
  const { rows } = await db.query<BetterAuthRow>(
    `SELECT u.id::text AS id, u.email, a.password,
            (coalesce(u.banned, false) AND (u."banExpires" IS NULL OR u."banExpires" > now()))
              AS banned,
            u."emailVerified"
       FROM "user" u
       LEFT JOIN account a ON a."userId" = u.id AND a."providerId" = 'credential'
      WHERE ${clause[0]}
      LIMIT 1`,
    [clause[1]],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    id: row.id,
    email: row.email.toLowerCase(),
    passwordHash: row.password || null,
    banned: row.banned,
    emailConfirmed: row.emailVerified,
    deleted: false,
  };
}

/**
 * Unapplied outbox rows per direction for these users (the "in sync" contract). A captured
 * INSERT toward a side that already holds the user (the capture of a dual-write signup, of a copy,
 * GoTrue's echo of an admin create) is an echo, not a change that side is missing:
 * `existsIn` tells which sides hold the user, and such rows are not counted.
 */
export async function readPending(
  db: SqlClient,
  userIds: readonly string[],
  existsIn: { readonly supabase: boolean; readonly betterAuth: boolean } = {
    supabase: false,
    betterAuth: false,
  },
): Promise<PendingChanges> {
  const ids = [...new Set(userIds.filter((id) => isUuid(id)).map((id) => id.toLowerCase()))];
  if (ids.length === 0) return { toBetterAuth: 0, toSupabase: 0 };
  const { rows } = await db.query<{ to_better_auth: number; to_supabase: number }>(
    `SELECT count(*) FILTER (WHERE direction = 'to_better_auth'
                               AND NOT (op = 'insert' AND $2::boolean))::int AS to_better_auth,
            count(*) FILTER (WHERE direction = 'to_supabase'
                               AND NOT (op = 'insert' AND $3::boolean))::int AS to_supabase
       FROM identity_change_outbox
      WHERE applied_at IS NULL AND user_id = ANY($1::text::uuid[])`,
    [`{${ids.join(",")}}`, existsIn.betterAuth, existsIn.supabase],
  );
  const row = rows[0];
  return {
    toBetterAuth: Number(row?.to_better_auth ?? 0),
    toSupabase: Number(row?.to_supabase ?? 0),
  };
}
