/**
 * Access tokens with Supabase's claims (supabase/auth internal/tokens/service.go
 * AccessTokenClaims, filled by GenerateAccessToken), signed as GoTrue's SignJWT does: with the
 * project's signing key — ES256 with its `kid` in the header when the project has one (the
 * hosted profile), else HS256 with the legacy JWT secret (the same secret as the legacy anon and
 * service-role keys, local/standin/keys.ts). conf.GetSigningJwk picks the one key whose key_ops
 * include "sign"; imported standby keys never sign.
 */
import { type Es256SigningKey, signEs256 } from "../../../shared/auth/jwt.ts";
import { signHs256 } from "./jwt.ts";
import type { AuthSession } from "./sessions.ts";
import { type AuthUser, userJson } from "./users.ts";
import type { JsonObject } from "./validation.ts";

export interface AccessTokenSettings {
  readonly jwtSecret: string;
  /** The project's asymmetric signing key; when set, access tokens are ES256. */
  readonly signingKey?: Es256SigningKey;
  /** `iss`: the Auth API's public URL, e.g. http://127.0.0.1:54321/auth/v1. */
  readonly issuer: string;
  readonly ttlSeconds: number;
}

/** GoTrue's AccessTokenClaims, in its field order. */
export function accessTokenClaims(
  settings: AccessTokenSettings,
  user: AuthUser,
  session: AuthSession,
  issuedAt: number,
): JsonObject {
  return {
    iss: settings.issuer,
    sub: user.id,
    aud: user.aud,
    exp: issuedAt + settings.ttlSeconds,
    iat: issuedAt,
    email: user.email ?? "",
    phone: user.phone ?? "",
    app_metadata: user.appMetadata,
    user_metadata: user.userMetadata,
    role: user.role,
    aal: "aal1",
    // Password is the only sign-in method the stand-in offers; GoTrue dates it to the sign-in.
    amr: [{ method: "password", timestamp: Math.floor(session.createdAt.getTime() / 1000) }],
    session_id: session.id,
    is_anonymous: user.isAnonymous,
  };
}

/** The body of a successful /token or auto-confirmed /signup (GoTrue's AccessTokenResponse). */
export async function tokenResponse(
  settings: AccessTokenSettings,
  user: AuthUser,
  session: AuthSession,
  refreshToken: string,
  extra: JsonObject = {},
): Promise<JsonObject> {
  const issuedAt = Math.floor(Date.now() / 1000);
  const claims = accessTokenClaims(settings, user, session, issuedAt);
  return {
    access_token: settings.signingKey
      ? await signEs256(claims, settings.signingKey)
      : await signHs256(claims, settings.jwtSecret),
    token_type: "bearer",
    expires_in: settings.ttlSeconds,
    expires_at: issuedAt + settings.ttlSeconds,
    refresh_token: refreshToken,
    user: userJson(user),
    ...extra,
  };
}
