/**
 * Who a REST request runs as. As on Supabase: the `apikey` header (or `?apikey=`) must be a key
 * signed with the project's JWT secret, else the gateway answers 401; the database role comes
 * from the `Authorization: Bearer` JWT when present, else from the apikey, and the claims are
 * handed to PostgreSQL as `request.jwt.claims` so RLS policies and auth.uid() work.
 */
import { type JwtClaims, verifyJwt } from "../keys.ts";
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
}

/** True when the token's payload says it has expired (decoded without trusting it). */
function looksExpired(token: string): boolean {
  const payload = token.split(".")[1];
  if (!payload) return false;
  try {
    const json = atob(payload.replaceAll("-", "+").replaceAll("_", "/"));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === "number" && exp * 1000 < Date.now();
  } catch {
    return false;
  }
}

/** The request's role and claims; throws a PgrstError (401) for a missing or bad key/token. */
export async function authenticate(
  request: Request,
  options: AuthOptions,
): Promise<RequestIdentity> {
  const apikey = request.headers.get("apikey") ?? new URL(request.url).searchParams.get("apikey");
  if (!apikey) throw pgrst.noApiKey();
  const keyClaims = await verifyJwt(apikey, options.jwtSecret);
  if (!keyClaims) throw pgrst.invalidApiKey();

  let claims = keyClaims;
  const authorization = request.headers.get("authorization");
  const bearer = authorization ? /^bearer\s+(.+)$/i.exec(authorization.trim())?.[1] : undefined;
  if (authorization && !bearer) throw pgrst.jwtInvalid(false);
  if (bearer && bearer !== apikey) {
    const tokenClaims = await verifyJwt(bearer, options.jwtSecret);
    if (!tokenClaims) throw pgrst.jwtInvalid(looksExpired(bearer));
    claims = tokenClaims;
  }
  const role = typeof claims.role === "string" && claims.role !== ""
    ? claims.role
    : options.anonRole;
  if (!options.roles.has(role)) throw pgrst.roleNotAllowed(role);
  return { role, claims };
}
