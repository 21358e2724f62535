/**
 * JWTs of the stand-in's GoTrue, on the suite's own JWT primitives (shared/auth/jwt.ts): HS256
 * with the legacy JWT secret, ES256 with the project's signing key (hosted profile).
 *
 * Verification follows GoTrue's parseJWTClaims (supabase/auth internal/api/auth.go): a token
 * whose `kid` names a key of the project's key set is checked with that key
 * (conf.FindPublicKeyByKid); otherwise an HS256 token falls back to the legacy secret; anything
 * else is "unrecognized JWT kid". Only the algorithms of the key set are valid
 * (jwt.WithValidMethods), so an ES256 token on a legacy-only project is refused as golang-jwt
 * words it ("token signature is invalid: signing method ES256 is invalid"). The reason is
 * reported in golang-jwt's words because GoTrue puts it into its 403 `bad_jwt` message
 * ("invalid JWT: unable to parse or verify signature, token has invalid claims: token is expired").
 */
import {
  decodeJwt,
  type JwtClaims,
  type PublicJwk,
  signHs256,
  verifyHs256Signature,
  verifyWithJwks,
} from "../../../shared/auth/jwt.ts";

export type JwtPayload = JwtClaims;
export { signHs256 };

export type JwtVerification =
  | { readonly ok: true; readonly claims: JwtPayload }
  | { readonly ok: false; readonly reason: string };

/** GoTrue's JWT configuration: the legacy secret plus the asymmetric keys of its key set. */
export interface GoTrueKeySet {
  readonly secret: string;
  /** Public keys by kid (signing key and standby/imported keys); empty on a legacy project. */
  readonly keys: readonly PublicJwk[];
}

function algorithmOf(jwk: PublicJwk): string {
  return jwk.alg ?? (jwk.kty === "EC" ? "ES256" : "RS256");
}

/** Verifies a token against GoTrue's key set and checks exp / nbf / iat against `nowSeconds`. */
export async function verifyGoTrueJwt(
  token: string,
  keySet: GoTrueKeySet,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): Promise<JwtVerification> {
  if (token.split(".").length !== 3) {
    return {
      ok: false,
      reason: "token is malformed: token contains an invalid number of segments",
    };
  }
  const jwt = decodeJwt(token);
  if (!jwt) {
    return { ok: false, reason: "token is malformed: could not base64 decode or JSON parse" };
  }
  const alg = String(jwt.header.alg);
  const validMethods = new Set(["HS256", ...keySet.keys.map(algorithmOf)]);
  if (!validMethods.has(alg)) {
    return { ok: false, reason: `token signature is invalid: signing method ${alg} is invalid` };
  }
  const kid = typeof jwt.header.kid === "string" ? jwt.header.kid : undefined;
  const keyed = kid === undefined ? undefined : keySet.keys.find((key) => key.kid === kid);
  let valid: boolean;
  if (keyed) {
    valid = algorithmOf(keyed) === alg && await verifyWithJwks(jwt, [keyed]);
  } else if (alg === "HS256") {
    valid = await verifyHs256Signature(jwt, keySet.secret);
  } else {
    return {
      ok: false,
      reason:
        `token is unverifiable: error while executing keyfunc: unrecognized JWT kid ${kid} for algorithm ${alg}`,
    };
  }
  if (!valid) return { ok: false, reason: "token signature is invalid: signature is invalid" };
  const claims = jwt.claims;
  if (typeof claims.exp === "number" && nowSeconds >= claims.exp) {
    return { ok: false, reason: "token has invalid claims: token is expired" };
  }
  if (typeof claims.nbf === "number" && nowSeconds < claims.nbf) {
    return { ok: false, reason: "token has invalid claims: token is not valid yet" };
  }
  if (typeof claims.iat === "number" && nowSeconds < claims.iat - 60) {
    return { ok: false, reason: "token has invalid claims: token used before issued" };
  }
  return { ok: true, claims };
}

/** A legacy-only project's verification: HS256 with the JWT secret. */
export function verifyHs256(
  token: string,
  secret: string,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): Promise<JwtVerification> {
  return verifyGoTrueJwt(token, { secret, keys: [] }, nowSeconds);
}
