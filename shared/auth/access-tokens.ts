/**
 * One bearer-token contract for both auth systems.
 *
 * Better Auth sessions are opaque rows; clients and the other functions of the suite expect a
 * Supabase-style JWT. So a Better Auth login returns an access token we mint here with GoTrue's
 * claim set — supabase/auth internal/tokens/service.go AccessTokenClaims (aliased in
 * internal/api/token.go) filled by GenerateAccessToken: iss, sub (the user id, which is the
 * Supabase id), aud, exp, iat, email, phone, app_metadata, user_metadata, role, aal, amr,
 * session_id (the Better Auth session id), is_anonymous — and our own `iss`. The refresh token
 * is a rotating one of that session (shared/sessions/refresh-tokens.ts), never the Better Auth
 * session token itself.
 *
 * Signing (AccessTokenSigning, chosen by register-access-tokens.ts from the environment):
 * - ES256 with a private JWK (`es256`): the kid goes into the header as GoTrue's SignJWT puts it.
 *   Imported into the Supabase project's JWT signing keys (README "Key set-up"), its public key is
 *   in the project's JWKS, so PostgREST (RLS auth.uid()), Storage, Realtime and the gateway's
 *   verify_jwt accept these tokens like Supabase's own. jwksOf() is what /login/.well-known/jwks.json
 *   publishes.
 * - HS256 with `secret`: the project's legacy JWT secret (Supabase accepts them too), or a key
 *   derived from BETTER_AUTH_SECRET (only our functions accept them).
 *
 * verifyAccessToken() accepts both kinds: ours (by `iss`: ES256 by our public key and kid, or
 * HS256 with `secret`) and Supabase's (HS256 with the project's legacy JWT secret, or ES256/RS256
 * with the project's JWKS, or, when neither is configured, Auth's /user endpoint). Every function
 * authenticates through it. Tokens whose algorithm has no configured key are refused: the
 * algorithm picks the key, never the other way round.
 */
import { AuthError, invalidToken } from "./errors.ts";
import {
  checkTimeClaims,
  decodeJwt,
  type Es256SigningKey,
  type JwtClaims,
  type PublicJwk,
  signEs256,
  signHs256,
  verifyHs256Signature,
  verifyWithJwks,
} from "./jwt.ts";
import type { AuthSessionView, AuthSystem, JsonObject } from "./types.ts";
import { hmacSha256 } from "../crypto/hmac.ts";

export const DEFAULT_BETTER_AUTH_ISSUER = "urn:edge-migrator:better-auth";
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 3600;

export interface AccessTokenSigning {
  /**
   * HS256 key of our Better Auth tokens: what they are signed with when `es256` is absent, and
   * what verifies HS256 tokens carrying our issuer (so tokens minted before a switch to ES256
   * stay valid until they expire).
   */
  readonly secret: string;
  readonly issuer: string;
  readonly ttlSeconds: number;
  /** When set, tokens are ES256 with this key (ACCESS_TOKEN_SIGNING_JWK). */
  readonly es256?: Es256SigningKey;
}

/**
 * The public JWKS of our signing key, as GoTrue's WellKnownJwks answers
 * (supabase/auth internal/api/jwks.go): asymmetric public keys only, never an HMAC secret — so an
 * HS256 deployment publishes `{"keys":[]}`.
 */
export function jwksOf(signing: Pick<AccessTokenSigning, "es256">): { keys: PublicJwk[] } {
  return { keys: signing.es256 ? [signing.es256.publicJwk] : [] };
}

/**
 * A signing secret derived from BETTER_AUTH_SECRET, for deployments that set no dedicated one:
 * HMAC(BETTER_AUTH_SECRET, label), so the token key is never the Better Auth secret itself.
 */
export async function deriveAccessTokenSecret(betterAuthSecret: string): Promise<string> {
  const mac = await hmacSha256(betterAuthSecret, "edge-migrator/better-auth-access-token/v1");
  return [...mac].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

export interface TokenSubject {
  readonly userId: string;
  readonly email: string;
  readonly userMetadata: JsonObject;
  readonly appMetadata: JsonObject;
  readonly sessionId: string;
  /** The refresh token handed to the client: a rotating one (shared/sessions/refresh-tokens.ts). */
  readonly sessionToken: string;
  readonly authenticatedAt: Date;
  /**
   * After a second factor (totp-login-step.ts): "aal2" with the factor first in `amr`, as
   * GoTrue's tokens after /factors/{id}/verify (supabase/auth internal/models/sessions.go
   * CalculateAALAndAMR). Default: a password login, aal1.
   */
  readonly secondFactor?: "totp";
}

/** Mints the access token of a Better Auth session, in the response contract's shape. */
export async function issueSessionTokens(
  signing: AccessTokenSigning,
  subject: TokenSubject,
  now: Date = new Date(),
): Promise<AuthSessionView> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  const expiresAt = issuedAt + signing.ttlSeconds;
  const claims: JwtClaims = {
    iss: signing.issuer,
    sub: subject.userId,
    aud: "authenticated",
    exp: expiresAt,
    iat: issuedAt,
    email: subject.email,
    phone: "",
    app_metadata: { provider: "email", providers: ["email"], ...subject.appMetadata },
    user_metadata: subject.userMetadata,
    role: "authenticated",
    aal: subject.secondFactor ? "aal2" : "aal1",
    amr: [
      ...(subject.secondFactor ? [{ method: subject.secondFactor, timestamp: issuedAt }] : []),
      { method: "password", timestamp: Math.floor(subject.authenticatedAt.getTime() / 1000) },
    ],
    session_id: subject.sessionId,
    is_anonymous: false,
  };
  return {
    access_token: signing.es256
      ? await signEs256(claims, signing.es256)
      : await signHs256(claims, signing.secret),
    refresh_token: subject.sessionToken,
    token_type: "bearer",
    expires_in: signing.ttlSeconds,
    expires_at: expiresAt,
  };
}

/** How Supabase's own access tokens are verified; the first configured method is used. */
export interface SupabaseTokenVerification {
  /** The project's legacy JWT secret (HS256): the local stand-in, legacy projects. */
  readonly jwtSecret?: string;
  /** The project's signing keys (SUPABASE_JWKS, or fetched from /auth/v1/.well-known/jwks.json). */
  readonly jwks?: () => Promise<readonly PublicJwk[]>;
  /** Last resort: ask the Auth API who the token belongs to (a network call per verification). */
  readonly getUser?: (token: string) => Promise<{ id: string; email?: string } | null>;
}

export interface AccessTokenVerifierConfig {
  /** Our tokens: HS256 by `secret`, ES256 by `publicKeys` (kid-matched). */
  readonly betterAuth: Pick<AccessTokenSigning, "secret" | "issuer"> & {
    readonly publicKeys?: readonly PublicJwk[];
  };
  readonly supabase: SupabaseTokenVerification;
  readonly clockSkewSeconds?: number;
}

export interface VerifiedAccessToken {
  /** Which system issued it. */
  readonly system: AuthSystem;
  readonly userId: string;
  readonly email: string | null;
  readonly sessionId: string | null;
  readonly role: string;
  readonly claims: JwtClaims;
}

/**
 * Verifies a user's access token from either system. Only user tokens pass: the anon and
 * service-role keys (no `sub`) are refused, as are expired, malformed and foreign tokens.
 */
export async function verifyAccessToken(
  token: string,
  config: AccessTokenVerifierConfig,
  now: Date = new Date(),
): Promise<VerifiedAccessToken> {
  const jwt = decodeJwt(token.trim());
  if (!jwt) throw invalidToken("Malformed access token");
  const { header, claims } = jwt;
  const nowSeconds = Math.floor(now.getTime() / 1000);
  let system: AuthSystem;
  if (claims.iss === config.betterAuth.issuer) {
    const publicKeys = config.betterAuth.publicKeys ?? [];
    const valid = header.alg === "ES256"
      ? publicKeys.length > 0 && await verifyWithJwks(jwt, publicKeys)
      : await verifyHs256Signature(jwt, config.betterAuth.secret);
    if (!valid) throw invalidToken("Invalid access token signature");
    system = "better_auth";
  } else {
    await verifySupabaseSignature(token, jwt, header, config.supabase);
    system = "supabase";
  }
  const timeProblem = checkTimeClaims(claims, nowSeconds, config.clockSkewSeconds);
  if (timeProblem) throw invalidToken(`Invalid access token: ${timeProblem}`);
  const userId = claims.sub;
  if (typeof userId !== "string" || userId.length === 0) {
    throw invalidToken("Access token does not belong to a user");
  }
  if (claims.role !== "authenticated") throw invalidToken("Access token is not a user token");
  return {
    system,
    userId,
    email: typeof claims.email === "string" && claims.email !== "" ? claims.email : null,
    sessionId: typeof claims.session_id === "string" ? claims.session_id : null,
    role: claims.role,
    claims,
  };
}

async function verifySupabaseSignature(
  token: string,
  jwt: NonNullable<ReturnType<typeof decodeJwt>>,
  header: JwtClaims,
  supabase: SupabaseTokenVerification,
): Promise<void> {
  if (header.alg === "HS256" && supabase.jwtSecret) {
    if (await verifyHs256Signature(jwt, supabase.jwtSecret)) return;
    throw invalidToken("Invalid access token signature");
  }
  if ((header.alg === "ES256" || header.alg === "RS256") && supabase.jwks) {
    let keys: readonly PublicJwk[];
    try {
      keys = await supabase.jwks();
    } catch (error) {
      throw new AuthError("auth_unavailable", "Signing keys are unavailable", { cause: error });
    }
    if (await verifyWithJwks(jwt, keys)) return;
    throw invalidToken("Invalid access token signature");
  }
  if (supabase.getUser) {
    let user: { id: string } | null;
    try {
      user = await supabase.getUser(token);
    } catch (error) {
      throw new AuthError("auth_unavailable", "Supabase Auth is unavailable", { cause: error });
    }
    if (user && user.id === jwt.claims.sub) return;
    throw invalidToken();
  }
  throw invalidToken("Access token cannot be verified");
}

/**
 * A JWKS fetched from Supabase Auth and cached for 10 minutes, as GoTrue's own Cache-Control
 * says (internal/api/jwks.go). Enough for rotation: Supabase publishes a new key as a standby key
 * before it signs with it (signing-keys guide), so a cache refreshed within minutes has it.
 */
export function remoteJwks(
  url: string,
  options: { ttlMs?: number; fetch?: typeof fetch } = {},
): () => Promise<readonly PublicJwk[]> {
  const ttl = options.ttlMs ?? 10 * 60_000;
  const fetchImpl = options.fetch ?? fetch;
  let cached: { keys: readonly PublicJwk[]; at: number } | undefined;
  let pending: Promise<readonly PublicJwk[]> | undefined;
  return () => {
    if (cached && Date.now() - cached.at < ttl) return Promise.resolve(cached.keys);
    pending ??= (async () => {
      try {
        const response = await fetchImpl(url, { signal: AbortSignal.timeout(5000) });
        if (!response.ok) throw new Error(`JWKS request failed with ${response.status}`);
        const body = await response.json() as { keys?: PublicJwk[] };
        const keys = Array.isArray(body.keys) ? body.keys : [];
        cached = { keys, at: Date.now() };
        return keys;
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };
}
