/**
 * HS256 JWTs for the stand-in's access tokens, on the suite's own JWT primitives
 * (shared/auth/jwt.ts). Verification reports WHY a token was refused in golang-jwt's words,
 * because GoTrue puts that reason into its 403 `bad_jwt` message
 * ("invalid JWT: unable to parse or verify signature, token has invalid claims: token is expired").
 */
import {
  decodeJwt,
  type JwtClaims,
  signHs256,
  verifyHs256Signature,
} from "../../../shared/auth/jwt.ts";

export type JwtPayload = JwtClaims;
export { signHs256 };

export type JwtVerification =
  | { readonly ok: true; readonly claims: JwtPayload }
  | { readonly ok: false; readonly reason: string };

/** Verifies signature (HS256 only) and the time claims exp / nbf / iat against `nowSeconds`. */
export async function verifyHs256(
  token: string,
  secret: string,
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
  if (jwt.header.alg !== "HS256") {
    return {
      ok: false,
      reason: `token is unverifiable: signing method ${String(jwt.header.alg)} is invalid`,
    };
  }
  if (!await verifyHs256Signature(jwt, secret)) {
    return { ok: false, reason: "token signature is invalid: signature is invalid" };
  }
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
