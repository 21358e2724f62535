/**
 * Supabase Auth users of every kind the migration must carry, generated set-based (one INSERT …
 * SELECT generate_series per table), so the same generator seeds the dev stand-in (a few of
 * each), the fidelity tests and the 200k/1M-user benchmark. User n has kind KINDS[n % KINDS.length]
 * and id md5(<prefix>n); password users share one documented password.
 *
 * The values follow what GoTrue writes: phone without "+" (internal/api/phone.go
 * formatPhoneNumber), a long ban as banned_until = now + 876000h (admin ban_duration), TOTP
 * secrets as unpadded base32 (internal/api/mfa.go, pquerna/otp), identities with provider_id and
 * identity_data, SSO identities as provider "sso:<provider uuid>" with is_sso_user.
 */
import type { SqlClient } from "../../shared/db/sql-client.ts";
import { DEMO_PASSWORDS } from "./demo-passwords.ts";
import { NIL_UUID } from "./auth/users.ts";

/** The password of every password user of this generator (its bcrypt hash is embedded). */
export const EVERY_KIND_PASSWORD = DEMO_PASSWORDS[0];

export const KINDS = [
  "email_password",
  "email_unconfirmed",
  "phone_only",
  "phone_password",
  "anonymous",
  "totp_verified",
  "totp_unverified",
  "phone_and_webauthn_factors",
  "admin_app_metadata",
  "super_admin",
  "banned_with_expiry",
  "banned_without_expiry",
  "ban_expired",
  "google",
  "github_and_password",
  "unconfigured_provider",
  "sso",
  "invited",
] as const;
export type Kind = (typeof KINDS)[number];

export interface EveryKindOptions {
  /** User numbers from..to (inclusive). */
  readonly from?: number;
  readonly to: number;
  /** Id and address namespace, so several generated sets can share a database. */
  readonly prefix?: string;
}

/** SQL of user n's kind index. */
const kindOf = (n: string) => `(${n} % ${KINDS.length})`;
const k = (kind: Kind) => String(KINDS.indexOf(kind));

/** Email, phone and TOTP secret of user n, as the generator writes them. */
export function everyKindUser(n: number, prefix = "kind-") {
  return {
    kind: KINDS[n % KINDS.length]!,
    email: `${prefix}${n}@example.com`,
    /** As GoTrue stores it (no "+"). */
    phone: `1555${String(n).padStart(7, "0")}`,
  };
}

export async function insertEveryKind(db: SqlClient, options: EveryKindOptions): Promise<void> {
  const from = options.from ?? 1;
  const prefix = options.prefix ?? "kind-";
  const id = (n: string) => `md5($3::text || ${n})::uuid`;
  const kind = kindOf("n");
  const noEmail = `${kind} IN (${k("phone_only")}, ${k("phone_password")}, ${k("anonymous")})`;
  const noPassword = `${kind} IN (${k("phone_only")}, ${k("anonymous")}, ${k("google")}, ` +
    `${k("unconfigured_provider")}, ${k("sso")}, ${k("invited")})`;
  const hasPhone = `${kind} IN (${k("phone_only")}, ${k("phone_password")})`;
  await db.query(
    `INSERT INTO auth.users (instance_id, id, aud, role, email, encrypted_password,
       email_confirmed_at, invited_at, last_sign_in_at, raw_app_meta_data, raw_user_meta_data,
       is_super_admin, created_at, updated_at, phone, phone_confirmed_at, banned_until,
       is_sso_user, is_anonymous)
     SELECT '${NIL_UUID}', ${id("n::text")}, 'authenticated', 'authenticated',
       CASE WHEN ${noEmail} THEN NULL ELSE $3::text || n || '@example.com' END,
       CASE WHEN ${noPassword} THEN '' ELSE $4 END,
       CASE WHEN ${noEmail} OR ${kind} IN (${k("email_unconfirmed")}, ${k("invited")}) THEN NULL
            ELSE ts + interval '5 minutes' END,
       CASE WHEN ${kind} = ${k("invited")} THEN ts END,
       CASE WHEN ${kind} NOT IN (${k("invited")}, ${k("email_unconfirmed")})
            THEN ts + interval '1 day' END,
       jsonb_build_object('provider', CASE WHEN ${hasPhone} THEN 'phone'
                                           WHEN ${kind} = ${k("google")} THEN 'google'
                                           ELSE 'email' END)
         || CASE WHEN ${kind} = ${k("admin_app_metadata")} THEN '{"role": "admin"}'::jsonb
                 ELSE '{}'::jsonb END,
       CASE WHEN ${kind} IN (${k("google")}, ${k("anonymous")}) THEN '{}'::jsonb
            ELSE jsonb_build_object('full_name', 'Kind User ' || n) END,
       CASE WHEN ${kind} = ${k("super_admin")} THEN true ELSE false END,
       ts, ts,
       CASE WHEN ${hasPhone} THEN '1555' || lpad(n::text, 7, '0') END,
       CASE WHEN ${hasPhone} THEN ts + interval '1 minute' END,
       CASE ${kind} WHEN ${k("banned_with_expiry")} THEN now() + interval '30 days'
                    WHEN ${k("banned_without_expiry")} THEN timestamptz 'infinity'
                    WHEN ${k("ban_expired")} THEN timestamptz '2024-06-01' END,
       ${kind} = ${k("sso")}, ${kind} = ${k("anonymous")}
     FROM generate_series($1::integer, $2::integer) AS n,
          LATERAL (SELECT timestamptz '2024-01-01 00:00:00.123456+00' + n * interval '1 second'
                   AS ts) t`,
    [from, options.to, prefix, EVERY_KIND_PASSWORD.hash],
  );
  // GoTrue's own email/phone identity for credential users, plus the social and SSO ones.
  await db.query(
    `INSERT INTO auth.identities (provider_id, user_id, identity_data, provider, created_at,
                                  updated_at)
     SELECT ${id("n::text")}::text, ${id("n::text")},
            jsonb_build_object('sub', ${id("n::text")}::text),
            CASE WHEN ${kind} IN (${k("phone_only")}, ${k("phone_password")}) THEN 'phone'
                 ELSE 'email' END,
            timestamptz '2024-01-01' + n * interval '1 second',
            timestamptz '2024-01-01' + n * interval '1 second'
     FROM generate_series($1::integer, $2::integer) AS n
     WHERE ${kind} NOT IN (${k("anonymous")}, ${k("google")}, ${k("unconfigured_provider")},
                           ${k("sso")})
     UNION ALL
     SELECT p.provider_id || n, ${id("n::text")},
            jsonb_build_object('sub', p.provider_id || n, 'name', 'Social User ' || n,
                               'avatar_url', 'https://avatars.example.com/' || n || '.png'),
            p.provider, timestamptz '2024-01-01' + n * interval '1 second',
            timestamptz '2024-01-01' + n * interval '1 second'
     FROM generate_series($1::integer, $2::integer) AS n
     JOIN (VALUES (${k("google")}, 'google', 'g-'),
                  (${k("github_and_password")}, 'github', 'gh-'),
                  (${k("unconfigured_provider")}, 'keycloak', 'kc-'),
                  (${k("sso")}, 'sso:6d2c7c6e-4a44-4b5e-9d7e-1d2f3a4b5c6d', 'saml-'))
       AS p(kind, provider, provider_id) ON p.kind = ${kind}`,
    [from, options.to, prefix],
  );
  // Factors: a verified TOTP (base32 secret), an unverified TOTP, a verified phone factor and a
  // WebAuthn one. The secret is user n's own: 32 base32 characters = 160 bits, GoTrue's size.
  await db.query(
    `INSERT INTO auth.mfa_factors (id, user_id, friendly_name, factor_type, status, created_at,
                                   updated_at, secret, phone)
     SELECT md5($3::text || 'factor' || n || f.type)::uuid, ${id("n::text")}, f.type,
            f.type::auth.factor_type, f.status::auth.factor_status, ts, ts,
            CASE WHEN f.type = 'totp' THEN ${totpSecretSql("$3::text", "n")} END,
            CASE WHEN f.type = 'phone' THEN '1666' || lpad(n::text, 7, '0') END
     FROM generate_series($1::integer, $2::integer) AS n,
          LATERAL (SELECT timestamptz '2024-01-01' + n * interval '1 second' AS ts) t,
          LATERAL (VALUES (${k("totp_verified")}, 'totp', 'verified'),
                          (${k("totp_unverified")}, 'totp', 'unverified'),
                          (${k("phone_and_webauthn_factors")}, 'phone', 'verified'),
                          (${k("phone_and_webauthn_factors")}, 'webauthn', 'verified'))
            AS f(kind, type, status)
     WHERE f.kind = ${kind}`,
    [from, options.to, prefix],
  );
}

/** A 32-character base32 secret from md5 (hex digits 0, 1, 8, 9 mapped into base32's alphabet). */
function totpSecretSql(prefix: string, n: string): string {
  return `translate(upper(md5(${prefix} || 'totp' || ${n})), '0189', 'QRST')`;
}
