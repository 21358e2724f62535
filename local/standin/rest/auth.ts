/**
 * Who a REST request runs as — the API gateway's key check, then PostgREST's JWT check.
 *
 * Gateway (../gateway-keys.ts): the `apikey` header (or `?apikey=`) must be a project key, else
 * 401; with the new API keys (hosted profile) the gateway sets the Authorization PostgREST sees
 * (sb_secret_ → service_role JWT, sb_publishable_ → anon JWT, a user's JWT untouched).
 *
 * PostgREST (src/library/PostgREST/Auth/Jwt.hs parseToken / validateClaims, messages and codes
 * from src/library/PostgREST/Error.hs): its jwt-secret is a JWKS — on hosted Supabase the
 * project's signing keys (GoTrue's key, keys imported into the project) plus the legacy secret as
 * an `oct` key — and the token's kid and algorithm pick the candidate keys (jose-jwt findKeys):
 *   - not three parts                → 401 PGRST301 "Expected 3 parts in JWT; got n"
 *   - header/claims not JSON         → 401 PGRST301 "JWT cryptographic operation failed"
 *   - alg none / unknown             → 401 PGRST301 "Wrong or unsupported encoding algorithm"
 *   - no key with that kid/algorithm → 401 PGRST301 "No suitable key or wrong key type",
 *                                      details "No suitable key was found to decode the JWT"
 *   - no candidate verifies          → the same message, details "None of the keys was able to
 *                                      decode the JWT" (test/spec/Feature/Query/ErrorSpec.hs)
 *   - then the claims, with 30 s of clock skew: exp → PGRST303 "JWT expired", nbf → "JWT not
 *     yet valid", iat → "JWT issued at future" — signature first, so a forged expired token is
 *     a 301, never a 303.
 * Without a bearer the role comes from the apikey. The claims reach PostgreSQL as
 * `request.jwt.claims`, so RLS policies and auth.uid() work.
 */
import {
  decodeJwt,
  type PublicJwk,
  verifyHs256Signature,
  verifyWithJwks,
} from "../../../shared/auth/jwt.ts";
import { gatewayCheck } from "../gateway-keys.ts";
import { type JwtClaims, projectJwks, type StandinKeys, verifyJwt } from "../keys.ts";
import { pgrst } from "./errors.ts";

export interface RequestIdentity {
  readonly role: string;
  readonly claims: JwtClaims;
}

export interface AuthOptions {
  readonly jwtSecret: string;
  /** Roles a token may name (default anon, authenticated, service_role). */
  readonly roles: ReadonlySet<string>;
  /** Role for a token without a `role` claim. */
  readonly anonRole: string;
  /**
   * The project's keys with its signing keys in use (hosted profile): bearer tokens are verified
   * against the project JWKS plus the legacy secret, and sb_ API keys are accepted. Without it, a
   * legacy-key project: the JWT secret alone.
   */
  readonly keys?: StandinKeys;
}

/** PostgREST's allowed clock skew (Auth/Jwt.hs allowedSkewSeconds). */
const SKEW_SECONDS = 30;

type Candidate = { readonly kind: "oct"; readonly secret: string } | {
  readonly kind: "asymmetric";
  readonly jwk: PublicJwk;
};

function candidatesFor(
  header: Record<string, unknown>,
  options: AuthOptions,
): Candidate[] {
  const kid = typeof header.kid === "string" ? header.kid : undefined;
  const alg = header.alg;
  const out: Candidate[] = [];
  // The legacy secret carries no kid: a token naming a kid never matches it (keyIdCompatible).
  if (alg === "HS256" && kid === undefined) out.push({ kind: "oct", secret: options.jwtSecret });
  if (options.keys && (alg === "ES256" || alg === "RS256")) {
    for (const jwk of projectJwks(options.keys).keys) {
      const keyAlg = jwk.kty === "EC" ? "ES256" : "RS256";
      if (keyAlg === alg && (kid === undefined || jwk.kid === kid)) {
        out.push({ kind: "asymmetric", jwk });
      }
    }
  }
  return out;
}

/** PostgREST's verification of a bearer token; throws its PgrstError. */
async function verifyBearer(token: string, options: AuthOptions): Promise<JwtClaims> {
  const parts = token.split(".").length;
  if (token === "") throw pgrst.jwtDecode("Empty JWT is sent in Authorization header");
  if (parts !== 3) throw pgrst.jwtDecode(`Expected 3 parts in JWT; got ${parts}`);
  const jwt = decodeJwt(token);
  if (!jwt) throw pgrst.jwtDecode("JWT cryptographic operation failed");
  const alg = jwt.header.alg;
  if (alg !== "HS256" && alg !== "ES256" && alg !== "RS256") {
    throw pgrst.jwtDecode("Wrong or unsupported encoding algorithm");
  }
  const candidates = candidatesFor(jwt.header, options);
  if (candidates.length === 0) {
    throw pgrst.jwtDecode(
      "No suitable key or wrong key type",
      "No suitable key was found to decode the JWT",
    );
  }
  let verified = false;
  for (const candidate of candidates) {
    verified = candidate.kind === "oct"
      ? await verifyHs256Signature(jwt, candidate.secret)
      : await verifyWithJwks(jwt, [candidate.jwk]);
    if (verified) break;
  }
  if (!verified) {
    throw pgrst.jwtDecode(
      "No suitable key or wrong key type",
      "None of the keys was able to decode the JWT",
    );
  }
  const claims = jwt.claims as JwtClaims;
  const now = Math.floor(Date.now() / 1000);
  const exp = claims.exp as unknown;
  const nbf = claims.nbf as unknown;
  const iat = claims.iat as unknown;
  if (exp !== undefined && typeof exp !== "number") {
    throw pgrst.jwtClaims("The JWT 'exp' claim must be a number");
  }
  if (typeof exp === "number" && now - SKEW_SECONDS > exp) throw pgrst.jwtClaims("JWT expired");
  if (nbf !== undefined && typeof nbf !== "number") {
    throw pgrst.jwtClaims("The JWT 'nbf' claim must be a number");
  }
  if (typeof nbf === "number" && now + SKEW_SECONDS < nbf) {
    throw pgrst.jwtClaims("JWT not yet valid");
  }
  if (iat !== undefined && typeof iat !== "number") {
    throw pgrst.jwtClaims("The JWT 'iat' claim must be a number");
  }
  if (typeof iat === "number" && now + SKEW_SECONDS < iat) {
    throw pgrst.jwtClaims("JWT issued at future");
  }
  return claims;
}

/** The request's role and claims; throws a PgrstError (401) for a missing or bad key/token. */
export async function authenticate(
  request: Request,
  options: AuthOptions,
): Promise<RequestIdentity> {
  const url = new URL(request.url);
  let apikey: string;
  let authorization: string | null;
  let keyClaims: JwtClaims | null = null;
  if (options.keys) {
    const outcome = await gatewayCheck(request.headers, url, options.keys, {
      newApiKeys: true,
      legacy: "signed",
    });
    if (!outcome.ok) {
      if (outcome.reason === "missing") throw pgrst.noApiKey();
      if (outcome.reason === "invalid") throw pgrst.invalidApiKey();
      throw pgrst.secretKeyInBrowser();
    }
    apikey = request.headers.get("apikey") ?? url.searchParams.get("apikey")!;
    authorization = outcome.authorization;
    if (outcome.kind === "legacy") keyClaims = await verifyJwt(apikey, options.jwtSecret);
  } else {
    const presented = request.headers.get("apikey") ?? url.searchParams.get("apikey");
    if (!presented) throw pgrst.noApiKey();
    keyClaims = await verifyJwt(presented, options.jwtSecret);
    if (!keyClaims) throw pgrst.invalidApiKey();
    apikey = presented;
    authorization = request.headers.get("authorization");
  }

  let claims: JwtClaims = keyClaims ?? {};
  if (authorization !== null) {
    // PostgREST takes the token after "Bearer " (either case); anything else is an empty token.
    const bearer = /^bearer\s+(\S*)\s*$/i.exec(authorization.trim())?.[1] ?? "";
    claims = bearer === apikey && keyClaims ? keyClaims : await verifyBearer(bearer, options);
  }
  const role = typeof claims.role === "string" && claims.role !== ""
    ? claims.role
    : options.anonRole;
  if (!options.roles.has(role)) throw pgrst.roleNotAllowed(role);
  return { role, claims };
}
