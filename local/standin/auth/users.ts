/**
 * auth.users / auth.identities access for the stand-in, and the user JSON GoTrue returns
 * (models.User's JSON tags: `*_at` fields omitted when null, `phone`/`email` "" when null,
 * identities always an array). Every value is a bound parameter; JSON goes in as text and is cast
 * in SQL (`$n::text::jsonb`) so PGlite and postgres.js bind it identically.
 */
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import type { JsonObject } from "./validation.ts";

/** GoTrue's instance_id for every user of a single-tenant project. */
export const NIL_UUID = "00000000-0000-0000-0000-000000000000";
export const DEFAULT_AUDIENCE = "authenticated";
export const DEFAULT_ROLE = "authenticated";

export interface AuthIdentity {
  readonly identityId: string;
  readonly providerId: string;
  readonly userId: string;
  readonly identityData: JsonObject;
  readonly provider: string;
  readonly email: string | null;
  readonly lastSignInAt: Date | null;
  readonly createdAt: Date | null;
  readonly updatedAt: Date | null;
}

export interface AuthUser {
  readonly id: string;
  readonly aud: string;
  readonly role: string;
  readonly email: string | null;
  readonly encryptedPassword: string | null;
  readonly emailConfirmedAt: Date | null;
  readonly phone: string | null;
  readonly phoneConfirmedAt: Date | null;
  readonly confirmationSentAt: Date | null;
  readonly confirmedAt: Date | null;
  readonly recoverySentAt: Date | null;
  readonly invitedAt: Date | null;
  readonly lastSignInAt: Date | null;
  readonly appMetadata: JsonObject;
  readonly userMetadata: JsonObject;
  readonly identities: readonly AuthIdentity[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly bannedUntil: Date | null;
  readonly deletedAt: Date | null;
  readonly isAnonymous: boolean;
  readonly isSsoUser: boolean;
}

interface UserRow {
  id: string;
  aud: string | null;
  role: string | null;
  email: string | null;
  encrypted_password: string | null;
  email_confirmed_at: Date | null;
  phone: string | null;
  phone_confirmed_at: Date | null;
  confirmation_sent_at: Date | null;
  confirmed_at: Date | null;
  recovery_sent_at: Date | null;
  invited_at: Date | null;
  last_sign_in_at: Date | null;
  raw_app_meta_data: JsonObject | null;
  raw_user_meta_data: JsonObject | null;
  created_at: Date | null;
  updated_at: Date | null;
  banned_until: Date | null;
  deleted_at: Date | null;
  is_anonymous: boolean;
  is_sso_user: boolean;
  identities: IdentityJson[] | null;
}

interface IdentityJson {
  identity_id: string;
  id: string;
  user_id: string;
  identity_data: JsonObject | null;
  provider: string;
  email: string | null;
  last_sign_in_at: string | null;
  created_at: string | null;
  updated_at: string | null;
}

const USER_SELECT = `
SELECT u.id::text AS id, u.aud, u.role, u.email, u.encrypted_password, u.email_confirmed_at,
       u.phone, u.phone_confirmed_at, u.confirmation_sent_at, u.confirmed_at, u.recovery_sent_at,
       u.invited_at, u.last_sign_in_at, u.raw_app_meta_data, u.raw_user_meta_data, u.created_at,
       u.updated_at, u.banned_until, u.deleted_at, u.is_anonymous, u.is_sso_user,
       COALESCE((
         SELECT jsonb_agg(jsonb_build_object(
                  'identity_id', i.id, 'id', i.provider_id, 'user_id', i.user_id,
                  'identity_data', i.identity_data, 'provider', i.provider, 'email', i.email,
                  'last_sign_in_at', i.last_sign_in_at, 'created_at', i.created_at,
                  'updated_at', i.updated_at)
                ORDER BY i.created_at, i.id)
           FROM auth.identities i
          WHERE i.user_id = u.id), '[]'::jsonb) AS identities
  FROM auth.users u`;

const toDate = (value: string | null): Date | null => (value ? new Date(value) : null);

function fromRow(row: UserRow): AuthUser {
  const createdAt = row.created_at ?? new Date(0);
  return {
    id: row.id,
    aud: row.aud ?? "",
    role: row.role ?? "",
    email: row.email,
    encryptedPassword: row.encrypted_password,
    emailConfirmedAt: row.email_confirmed_at,
    phone: row.phone,
    phoneConfirmedAt: row.phone_confirmed_at,
    confirmationSentAt: row.confirmation_sent_at,
    confirmedAt: row.confirmed_at,
    recoverySentAt: row.recovery_sent_at,
    invitedAt: row.invited_at,
    lastSignInAt: row.last_sign_in_at,
    appMetadata: row.raw_app_meta_data ?? {},
    userMetadata: row.raw_user_meta_data ?? {},
    identities: (row.identities ?? []).map((identity) => ({
      identityId: identity.identity_id,
      providerId: identity.id,
      userId: identity.user_id,
      identityData: identity.identity_data ?? {},
      provider: identity.provider,
      email: identity.email,
      lastSignInAt: toDate(identity.last_sign_in_at),
      createdAt: toDate(identity.created_at),
      updatedAt: toDate(identity.updated_at),
    })),
    createdAt,
    updatedAt: row.updated_at ?? createdAt,
    bannedUntil: row.banned_until,
    deletedAt: row.deleted_at,
    isAnonymous: row.is_anonymous,
    isSsoUser: row.is_sso_user,
  };
}

/** GoTrue's User.IsBanned. */
export function isBanned(user: AuthUser, now: Date = new Date()): boolean {
  return user.bannedUntil !== null && now < user.bannedUntil;
}

export async function findUserById(db: SqlClient, id: string): Promise<AuthUser | null> {
  const { rows } = await db.query<UserRow>(`${USER_SELECT} WHERE u.id = $1::uuid`, [id]);
  return rows[0] ? fromRow(rows[0]) : null;
}

/**
 * GoTrue's FindUserByEmailAndAudience (`lower(email) = lower($1)`, non-SSO). Legacy data may hold
 * two rows differing only in case; the exact spelling wins, then the oldest row.
 */
export async function findUserByEmail(
  db: SqlClient,
  email: string,
  aud: string,
): Promise<AuthUser | null> {
  const { rows } = await db.query<UserRow>(
    `${USER_SELECT}
      WHERE lower(u.email) = lower($1) AND u.aud = $2 AND u.is_sso_user = false
      ORDER BY (u.email = $1) DESC, u.created_at ASC, u.id ASC
      LIMIT 1`,
    [email, aud],
  );
  return rows[0] ? fromRow(rows[0]) : null;
}

/** GoTrue's IsDuplicatedEmail: an identity or a user of the audience already has this address. */
export async function emailInUse(
  db: SqlClient,
  email: string,
  aud: string,
  exceptUserId?: string,
): Promise<boolean> {
  const { rows } = await db.query<{ taken: boolean }>(
    `SELECT EXISTS (
        SELECT 1 FROM auth.identities i JOIN auth.users u ON u.id = i.user_id
         WHERE i.email = lower($1) AND u.aud = $2 AND u.id IS DISTINCT FROM $3::uuid
      ) OR EXISTS (
        SELECT 1 FROM auth.users u
         WHERE lower(u.email) = lower($1) AND u.aud = $2 AND u.is_sso_user = false
           AND u.id IS DISTINCT FROM $3::uuid
      ) AS taken`,
    [email, aud, exceptUserId ?? null],
  );
  return rows[0]?.taken === true;
}

export interface NewUser {
  readonly id: string;
  readonly email: string | null;
  readonly phone?: string | null;
  readonly encryptedPassword: string | null;
  readonly aud: string;
  readonly role: string;
  readonly appMetadata: JsonObject;
  readonly userMetadata: JsonObject;
  readonly emailConfirmed: boolean;
  /** Without auto-confirm GoTrue mails a confirmation link and stamps confirmation_sent_at. */
  readonly confirmationSent?: boolean;
  readonly bannedUntil?: Date | null;
}

export async function insertUser(db: SqlClient, user: NewUser): Promise<void> {
  await db.query(
    `INSERT INTO auth.users (
        instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, phone,
        raw_app_meta_data, raw_user_meta_data, created_at, updated_at, banned_until,
        confirmation_token, recovery_token, email_change_token_new, email_change, is_sso_user,
        is_anonymous, confirmation_sent_at)
     VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, CASE WHEN $7::boolean THEN now() END, $8,
             $9::text::jsonb, $10::text::jsonb, now(), now(), $11::timestamptz,
             '', '', '', '', false, false, CASE WHEN $12::boolean THEN now() END)`,
    [
      NIL_UUID,
      user.id,
      user.aud,
      user.role,
      user.email,
      user.encryptedPassword,
      user.emailConfirmed,
      user.phone ?? null,
      JSON.stringify(user.appMetadata),
      JSON.stringify(user.userMetadata),
      user.bannedUntil ? user.bannedUntil.toISOString() : null,
      user.confirmationSent === true,
    ],
  );
}

export type FirstPartyProvider = "email" | "phone";

/** The identity GoTrue creates for an email or phone user (provider_id = the user's id). */
export async function insertIdentity(
  db: SqlClient,
  userId: string,
  provider: FirstPartyProvider,
  identityData: JsonObject,
): Promise<void> {
  await db.query(
    `INSERT INTO auth.identities (provider_id, user_id, identity_data, provider, created_at, updated_at)
     VALUES ($1::text, $4::uuid, $2::text::jsonb, $3, now(), now())`,
    [userId, JSON.stringify(identityData), provider, userId],
  );
}

/** Merges keys into an identity's identity_data (GoTrue's UpdateIdentityData); rows changed. */
export async function mergeIdentityData(
  db: SqlClient,
  userId: string,
  provider: FirstPartyProvider,
  updates: JsonObject,
): Promise<number> {
  const result = await db.query(
    `UPDATE auth.identities
        SET identity_data = identity_data || $3::text::jsonb, updated_at = now()
      WHERE user_id = $1::uuid AND provider = $2`,
    [userId, provider, JSON.stringify(updates)],
  );
  return result.rowCount;
}

/** GoTrue's IsDuplicatedPhone. */
export async function phoneInUse(
  db: SqlClient,
  phone: string,
  aud: string,
  exceptUserId?: string,
): Promise<boolean> {
  const { rows } = await db.query<{ taken: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM auth.users
                     WHERE phone = $1 AND aud = $2 AND id IS DISTINCT FROM $3::uuid) AS taken`,
    [phone, aud, exceptUserId ?? null],
  );
  return rows[0]?.taken === true;
}

/**
 * GoTrue's UpdateUserMetaData / UpdateAppMetaData: keys are merged, a null value removes the key.
 */
export function mergeMetadata(current: JsonObject, updates: JsonObject): JsonObject {
  const merged: JsonObject = { ...current };
  for (const [key, value] of Object.entries(updates)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

/** Columns an update may set; anything else is a programming error, never user input. */
export interface UserChanges {
  email?: string;
  phone?: string;
  encryptedPassword?: string | null;
  role?: string;
  appMetadata?: JsonObject;
  userMetadata?: JsonObject;
  confirmEmail?: boolean;
  bannedUntil?: Date | null;
  lastSignInNow?: boolean;
}

export async function updateUser(db: SqlClient, id: string, changes: UserChanges): Promise<void> {
  const sets: string[] = ["updated_at = now()"];
  const params: unknown[] = [id];
  const bind = (value: unknown, cast = "") => {
    params.push(value);
    return `$${params.length}${cast}`;
  };
  if (changes.email !== undefined) sets.push(`email = ${bind(changes.email)}`);
  if (changes.phone !== undefined) sets.push(`phone = ${bind(changes.phone)}`);
  if (changes.encryptedPassword !== undefined) {
    sets.push(`encrypted_password = ${bind(changes.encryptedPassword)}`);
  }
  if (changes.role !== undefined) sets.push(`role = ${bind(changes.role)}`);
  if (changes.appMetadata !== undefined) {
    sets.push(`raw_app_meta_data = ${bind(JSON.stringify(changes.appMetadata), "::text::jsonb")}`);
  }
  if (changes.userMetadata !== undefined) {
    sets.push(
      `raw_user_meta_data = ${bind(JSON.stringify(changes.userMetadata), "::text::jsonb")}`,
    );
  }
  if (changes.confirmEmail) sets.push("email_confirmed_at = COALESCE(email_confirmed_at, now())");
  if (changes.bannedUntil !== undefined) {
    sets.push(
      `banned_until = ${
        bind(changes.bannedUntil ? changes.bannedUntil.toISOString() : null, "::timestamptz")
      }`,
    );
  }
  if (changes.lastSignInNow) sets.push("last_sign_in_at = now()");
  await db.query(`UPDATE auth.users SET ${sets.join(", ")} WHERE id = $1::uuid`, params);
}

/** Marks a password sign-in on the user and its email identity. */
export async function recordSignIn(db: SqlClient, userId: string): Promise<void> {
  await db.query("UPDATE auth.users SET last_sign_in_at = now() WHERE id = $1::uuid", [userId]);
  await db.query(
    "UPDATE auth.identities SET last_sign_in_at = now() WHERE user_id = $1::uuid AND provider = 'email'",
    [userId],
  );
}

/**
 * GoTrue's FindUsersInAudience: one page ordered by created_at, optionally filtered like GoTrue's
 * `filter` parameter (email LIKE or full_name ILIKE), plus the total for X-Total-Count.
 */
export async function listUsers(
  db: SqlClient,
  options: {
    aud: string;
    page: number;
    perPage: number;
    ascending: boolean;
    filter?: string;
    /** false: `ORDER BY created_at` alone, as GoTrue (see below). Default true. */
    tiebreaker?: boolean;
  },
): Promise<{ users: AuthUser[]; total: number }> {
  const direction = options.ascending ? "ASC" : "DESC";
  // Without a tiebreaker PostgreSQL returns rows with equal created_at in whatever order its plan
  // yields ("rows that are equal according to the ORDER BY columns are returned in an
  // implementation-dependent order", SELECT docs), which can differ between two OFFSET queries.
  // The stand-in makes that visible: peers come in a fresh random order on every request.
  const peers = options.tiebreaker === false
    ? `md5(u.id::text || '${crypto.randomUUID()}')`
    : `u.id ${direction}`;
  const pattern = options.filter ? `%${options.filter}%` : null;
  const where = `u.aud = $1 AND ($2::text IS NULL
      OR u.email LIKE $2::text OR u.raw_user_meta_data ->> 'full_name' ILIKE $2::text)`;
  const page = await db.query<UserRow>(
    `${USER_SELECT} WHERE ${where} ORDER BY u.created_at ${direction}, ${peers}
      LIMIT $3 OFFSET $4`,
    [options.aud, pattern, options.perPage, (options.page - 1) * options.perPage],
  );
  const count = await db.query<{ total: number }>(
    `SELECT count(*) AS total FROM auth.users u WHERE ${where}`,
    [options.aud, pattern],
  );
  return { users: page.rows.map(fromRow), total: count.rows[0]?.total ?? 0 };
}

export async function deleteUser(db: SqlClient, id: string): Promise<void> {
  // refresh_tokens.user_id is text without a foreign key; sessions cascade their own tokens.
  await db.query("DELETE FROM auth.refresh_tokens WHERE user_id = $1", [id]);
  await db.query("DELETE FROM auth.users WHERE id = $1::uuid", [id]);
}

async function obfuscate(userId: string, value: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(userId + value));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * GoTrue's SoftDeleteUser: the row stays (deleted_at) but can never sign in again — address and
 * phone are replaced by hashes, the password is cleared, identities are obfuscated the same way,
 * and every session ends.
 */
export async function softDeleteUser(db: SqlClient, user: AuthUser): Promise<void> {
  if (user.deletedAt) return;
  await db.query(
    `UPDATE auth.users
        SET email = $2, phone = $3, encrypted_password = NULL, email_change = '',
            phone_change = '', confirmation_token = '', recovery_token = '',
            raw_app_meta_data = '{}'::jsonb, raw_user_meta_data = '{}'::jsonb,
            deleted_at = now(), updated_at = now()
      WHERE id = $1::uuid`,
    [
      user.id,
      user.email ? await obfuscate(user.id, user.email) : null,
      user.phone ? await obfuscate(user.id, user.phone) : null,
    ],
  );
  for (const identity of user.identities) {
    await db.query(
      `UPDATE auth.identities SET provider_id = $2, identity_data = '{}'::jsonb, updated_at = now()
        WHERE id = $1::uuid`,
      [identity.identityId, await obfuscate(user.id, identity.providerId)],
    );
  }
  await db.query("DELETE FROM auth.sessions WHERE user_id = $1::uuid", [user.id]);
  await db.query("DELETE FROM auth.refresh_tokens WHERE user_id = $1", [user.id]);
}

const iso = (value: Date | null) => value?.toISOString();

function omitUndefined(value: Record<string, unknown>): JsonObject {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

export function identityJson(identity: AuthIdentity): JsonObject {
  return omitUndefined({
    identity_id: identity.identityId,
    id: identity.providerId,
    user_id: identity.userId,
    identity_data: identity.identityData,
    provider: identity.provider,
    last_sign_in_at: iso(identity.lastSignInAt),
    created_at: iso(identity.createdAt),
    updated_at: iso(identity.updatedAt),
    email: identity.email ?? undefined,
  });
}

/** The user object of every GoTrue response (signup, token, /user, admin). */
export function userJson(user: AuthUser): JsonObject {
  return omitUndefined({
    id: user.id,
    aud: user.aud,
    role: user.role,
    email: user.email ?? "",
    email_confirmed_at: iso(user.emailConfirmedAt),
    invited_at: iso(user.invitedAt),
    phone: user.phone ?? "",
    phone_confirmed_at: iso(user.phoneConfirmedAt),
    confirmation_sent_at: iso(user.confirmationSentAt),
    confirmed_at: iso(user.confirmedAt),
    recovery_sent_at: iso(user.recoverySentAt),
    last_sign_in_at: iso(user.lastSignInAt),
    app_metadata: user.appMetadata,
    user_metadata: user.userMetadata,
    identities: user.identities.map(identityJson),
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
    banned_until: iso(user.bannedUntil),
    deleted_at: iso(user.deletedAt),
    is_anonymous: user.isAnonymous,
  });
}
