/**
 * A Better Auth user as GoTrue's `models.User` JSON (supabase/auth internal/models/user.go; the
 * stand-in's userJson in local/standin/auth/users.ts is the same shape), so `user` in a token
 * response and GET /user look the same whichever system answered. Read straight from Better
 * Auth's tables: "user" (with the admin / phone-number / anonymous plugin columns), the
 * credential account, and the newest session for last_sign_in_at. The password hash is never read.
 */
import type { SqlClient } from "../db/sql-client.ts";
import { isUuid } from "../uuid.ts";

type Json = Record<string, unknown>;

interface UserRow {
  id: string;
  email: string;
  emailVerified: boolean;
  createdAt: Date | string;
  updatedAt: Date | string;
  userMetadata: Json | string | null;
  appMetadata: Json | string | null;
  role: string | null;
  isAnonymous: boolean | null;
  phoneNumber: string | null;
  phoneNumberVerified: boolean | null;
  banExpires: Date | string | null;
  banned: boolean | null;
  lastSignInAt: Date | string | null;
}

const asJson = (value: Json | string | null): Json =>
  typeof value === "string" ? JSON.parse(value) : value ?? {};
const iso = (value: Date | string | null | undefined) =>
  value === null || value === undefined ? undefined : new Date(value).toISOString();

/** GoTrue's user JSON for the Better Auth user `id`, or null when there is none. */
export async function betterAuthUserJson(db: SqlClient, id: string): Promise<Json | null> {
  if (!isUuid(id)) return null;
  const { rows } = await db.query<UserRow>(
    `SELECT u.id::text AS id, u.email, u."emailVerified", u."createdAt", u."updatedAt",
            u."userMetadata", u."appMetadata", u.role, u."isAnonymous", u."phoneNumber",
            u."phoneNumberVerified", u."banExpires", u.banned,
            (SELECT max(s."createdAt") FROM "session" s WHERE s."userId" = u.id) AS "lastSignInAt"
       FROM "user" u WHERE u.id = $1::uuid`,
    [id],
  );
  const row = rows[0];
  if (!row) return null;
  const created = iso(row.createdAt)!;
  const updated = iso(row.updatedAt)!;
  const confirmedAt = row.emailVerified ? created : undefined;
  const userMetadata = asJson(row.userMetadata);
  const appMetadata = { provider: "email", providers: ["email"], ...asJson(row.appMetadata) };
  const lastSignIn = iso(row.lastSignInAt);
  const identityData = {
    email: row.email,
    email_verified: row.emailVerified,
    phone_verified: false,
    sub: row.id,
  };
  // omitempty fields of models.User are left out when unset, as GoTrue's JSON does.
  return Object.fromEntries(
    Object.entries({
      id: row.id,
      aud: "authenticated",
      role: "authenticated",
      email: row.email,
      email_confirmed_at: confirmedAt,
      phone: row.phoneNumber ?? "",
      phone_confirmed_at: row.phoneNumberVerified ? created : undefined,
      confirmed_at: confirmedAt,
      last_sign_in_at: lastSignIn,
      app_metadata: appMetadata,
      user_metadata: userMetadata,
      identities: row.isAnonymous ? [] : [{
        identity_id: row.id,
        id: row.id,
        user_id: row.id,
        identity_data: identityData,
        provider: "email",
        last_sign_in_at: lastSignIn,
        created_at: created,
        updated_at: updated,
        email: row.email,
      }],
      created_at: created,
      updated_at: updated,
      banned_until: row.banned ? (iso(row.banExpires) ?? "9999-12-31T00:00:00Z") : undefined,
      is_anonymous: row.isAnonymous ?? false,
    }).filter(([, value]) => value !== undefined),
  );
}
