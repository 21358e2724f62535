/**
 * API keys and JWT signing keys of the local Supabase stand-in — both generations a hosted
 * project has:
 *
 * - Legacy: the project's JWT secret (HS256) and the anon / service_role keys, HS256 JWTs signed
 *   with it. Still accepted everywhere (on hosted Supabase until the legacy key is revoked).
 * - Signing keys (the `hosted` profile signs with these): GoTrue's ES256 key, published at
 *   /auth/v1/.well-known/jwks.json, plus public keys the project was told to trust — what the
 *   dashboard's "import an existing private key" does with a key like the one that signs our
 *   Better Auth-path tokens (importSigningKey). GoTrue publishes every asymmetric key of its key
 *   set, signing or standby (supabase/auth internal/api/jwks.go WellKnownJwks), and PostgREST is
 *   given that JWKS as its jwt-secret, so a token signed by an imported key passes everywhere.
 * - New API keys `sb_publishable_…` / `sb_secret_…`: opaque strings (not JWTs), which the API
 *   gateway maps to an internal anon / service_role JWT signed by the signing key
 *   (supabase/supabase docker/volumes/api/kong-entrypoint.sh, LUA_AUTH_EXPR); see gateway-keys.ts.
 */
import { sign, verify } from "hono/jwt";
import {
  type Es256SigningKey,
  importEs256SigningJwk,
  type PublicJwk,
  signEs256,
} from "../../shared/auth/jwt.ts";
import { hmacSha256 } from "../../shared/crypto/hmac.ts";

/** The secret `supabase start` uses locally; only ever for the local stand-in. */
export const DEFAULT_LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";

/**
 * GoTrue's ES256 signing key in the stand-in: fixed, like DEFAULT_LOCAL_JWT_SECRET, so access
 * tokens survive a dev-server restart. Local only — never a production key.
 */
export const DEFAULT_LOCAL_SIGNING_JWK: JsonWebKey & { kid: string } = {
  kty: "EC",
  crv: "P-256",
  x: "9zPkwk1ncc71ceq9a3TDzd__lxthdPdGGdA2b9e9cdk",
  y: "XTkyvtnmo7VH9KYniysAZ1BzhycwB8L0ceyxg8Zx1Ss",
  d: "fzy_Sf1uG_STjdMzY4IAJPDQyt-ivbR8uFzVIsl1icw",
  kid: "standin-gotrue-es256-1",
  alg: "ES256",
};

export type StandinRole = "anon" | "authenticated" | "service_role";

export interface StandinKeys {
  readonly jwtSecret: string;
  /** Legacy API keys: HS256 JWTs signed with jwtSecret. */
  readonly anonKey: string;
  readonly serviceRoleKey: string;
  /** New API keys (opaque): anon and service_role through the gateway (gateway-keys.ts). */
  readonly publishableKey: string;
  readonly secretKey: string;
  /** GoTrue's current signing key (ES256) in the hosted profile. */
  readonly signingKey: Es256SigningKey;
  /**
   * Public keys imported into the project's JWT signing keys (standby keys on hosted Supabase):
   * published in the JWKS and accepted by REST and Auth; never used to sign here.
   */
  readonly importedKeys: PublicJwk[];
  /** The gateway's internal JWTs for the new API keys, signed with signingKey. */
  readonly internalAnonJwt: string;
  readonly internalServiceRoleJwt: string;
}

export type JwtClaims = Record<string, unknown> & {
  role?: string;
  sub?: string;
  exp?: number;
  iat?: number;
};

const TEN_YEARS_S = 10 * 365 * 24 * 3600;

async function opaqueKey(secret: string, label: string): Promise<string> {
  const mac = await hmacSha256(secret, `standin/${label}`);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return [...mac.slice(0, 22)].map((byte) => alphabet[byte % alphabet.length]).join("");
}

export interface StandinKeyOptions {
  /** GoTrue's signing key (private JWK); default DEFAULT_LOCAL_SIGNING_JWK. */
  readonly signingJwk?: JsonWebKey;
  /** Keys imported into the project's signing keys from the start (private or public JWKs). */
  readonly importedJwks?: readonly JsonWebKey[];
}

/** Derives every key for a secret (deterministic for a fixed `issuedAt`). */
export async function createStandinKeys(
  jwtSecret: string = DEFAULT_LOCAL_JWT_SECRET,
  issuedAt = 1_700_000_000,
  options: StandinKeyOptions = {},
): Promise<StandinKeys> {
  const base = { iss: "supabase-demo", iat: issuedAt, exp: issuedAt + TEN_YEARS_S };
  const signingKey = await importEs256SigningJwk(options.signingJwk ?? DEFAULT_LOCAL_SIGNING_JWK);
  // The gateway's internal "API key" JWTs (kong-entrypoint.sh ANON_KEY_ASYMMETRIC /
  // SERVICE_ROLE_KEY_ASYMMETRIC): role claims signed by the asymmetric key.
  const internal = { iss: "supabase", iat: issuedAt, exp: issuedAt + TEN_YEARS_S };
  const keys: StandinKeys = {
    jwtSecret,
    anonKey: await sign({ ...base, role: "anon" }, jwtSecret, "HS256"),
    serviceRoleKey: await sign({ ...base, role: "service_role" }, jwtSecret, "HS256"),
    publishableKey: `sb_publishable_${await opaqueKey(jwtSecret, "publishable")}`,
    secretKey: `sb_secret_${await opaqueKey(jwtSecret, "secret")}`,
    signingKey,
    importedKeys: [],
    internalAnonJwt: await signEs256({ ...internal, role: "anon" }, signingKey),
    internalServiceRoleJwt: await signEs256({ ...internal, role: "service_role" }, signingKey),
  };
  for (const jwk of options.importedJwks ?? []) importSigningKey(keys, jwk);
  return keys;
}

/**
 * The stand-in's version of the dashboard's "import an existing private key" as a standby key:
 * only the public half is kept (the stand-in never signs with it), with GoTrue's public-key
 * members (internal/conf/jwk.go decodePublicKey: use "sig", key_ops ["verify"]).
 */
export function importSigningKey(keys: StandinKeys, jwk: JsonWebKey & { kid?: string }): void {
  if (jwk.kty !== "EC" && jwk.kty !== "RSA") throw new Error("only asymmetric keys are imported");
  if (typeof jwk.kid !== "string" || jwk.kid === "") throw new Error("an imported key needs a kid");
  if (
    jwk.kid === keys.signingKey.kid || keys.importedKeys.some((key) => key.kid === jwk.kid)
  ) {
    throw new Error(`a key with kid ${jwk.kid} is already in the project's key set`);
  }
  const { kty, crv, x, y, n, e, kid } = jwk;
  keys.importedKeys.push({
    kty,
    ...(crv ? { crv, x, y } : { n, e }),
    kid,
    alg: kty === "EC" ? "ES256" : "RS256",
    use: "sig",
    key_ops: ["verify"],
  } as PublicJwk);
}

/** The project's JWKS: the signing key and every imported key (GoTrue's WellKnownJwks). */
export function projectJwks(keys: StandinKeys): { keys: PublicJwk[] } {
  return { keys: [keys.signingKey.publicJwk, ...keys.importedKeys] };
}

/** Verifies an HS256 token (signature and exp); null when invalid or expired. */
export async function verifyJwt(token: string, jwtSecret: string): Promise<JwtClaims | null> {
  try {
    return await verify(token, jwtSecret, "HS256") as JwtClaims;
  } catch {
    return null;
  }
}
