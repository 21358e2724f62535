/**
 * Who may call what, as on Supabase:
 * - the API gateway in front of GoTrue lets a request through only with a known `apikey`
 *   (header or `?apikey=`), else 401 `{ message: "No API key found in request" | "Invalid API key" }`;
 * - user endpoints need `Authorization: Bearer <access token>` (GoTrue's requireAuthentication);
 * - admin endpoints need a bearer whose `role` is service_role (GoTrue's requireAdmin).
 */
import type { MiddlewareHandler } from "hono";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { gatewayCheck } from "../gateway-keys.ts";
import type { StandinKeys } from "../keys.ts";
import {
  API_VERSION_HEADER,
  apiKeyErrorBody,
  apiVersionHeaders,
  badRequest,
  forbidden,
  unauthorized,
} from "./errors.ts";
import { type GoTrueKeySet, type JwtPayload, verifyGoTrueJwt } from "./jwt.ts";
import { type AuthSession, findSession } from "./sessions.ts";
import { type AuthUser, findUserById } from "./users.ts";
import { isUuid } from "./validation.ts";

/** Roles GoTrue's default GOTRUE_JWT_ADMIN_ROLES accepts on admin endpoints. */
const ADMIN_ROLES = new Set(["service_role", "supabase_admin"]);

/**
 * The gateway's key check and key translation (../gateway-keys.ts): a known `apikey` or 401;
 * with the new API keys (hosted profile) the Authorization header GoTrue sees is the gateway's.
 */
export function requireApiKey(
  keys: StandinKeys,
  options: { newApiKeys: boolean },
): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === "OPTIONS") return await next();
    const outcome = await gatewayCheck(c.req.raw.headers, new URL(c.req.url), keys, {
      newApiKeys: options.newApiKeys,
      legacy: "exact",
    });
    if (!outcome.ok) {
      const body = outcome.reason === "secret_in_browser"
        ? { message: outcome.message }
        : apiKeyErrorBody(outcome.reason);
      return c.json(body, 401, apiVersionHeaders(c.req.header(API_VERSION_HEADER)));
    }
    if (outcome.authorization !== (c.req.header("authorization") ?? null)) {
      // What the gateway forwards; a served request's headers are immutable, so a new Request
      // (body not read yet) carries them on.
      const headers = new Headers(c.req.raw.headers);
      if (outcome.authorization === null) headers.delete("authorization");
      else headers.set("authorization", outcome.authorization);
      c.req.raw = new Request(c.req.raw, { headers });
    }
    await next();
  };
}

/** GoTrue's extractBearerToken. */
export function bearerToken(authorization: string | undefined): string {
  const match = /^\s*[Bb]earer\s+(\S+)\s*$/.exec(authorization ?? "");
  if (!match) throw unauthorized("no_authorization", "This endpoint requires a valid Bearer token");
  return match[1]!;
}

/** GoTrue's parseJWTClaims: a refused token is a 403 `bad_jwt` naming the reason. */
export async function verifiedClaims(
  authorization: string | undefined,
  keySet: GoTrueKeySet,
): Promise<JwtPayload> {
  const result = await verifyGoTrueJwt(bearerToken(authorization), keySet);
  if (!result.ok) {
    throw forbidden(
      "bad_jwt",
      `invalid JWT: unable to parse or verify signature, ${result.reason}`,
    );
  }
  return result.claims;
}

export interface Authenticated {
  readonly claims: JwtPayload;
  readonly user: AuthUser;
  readonly session: AuthSession | null;
}

/** GoTrue's requireAuthentication + maybeLoadUserOrSession. */
export async function authenticate(
  sql: SqlClient,
  authorization: string | undefined,
  keySet: GoTrueKeySet,
): Promise<Authenticated> {
  const claims = await verifiedClaims(authorization, keySet);
  const sub = typeof claims.sub === "string" ? claims.sub : "";
  if (sub === "") throw forbidden("bad_jwt", "invalid claim: missing sub claim");
  if (!isUuid(sub)) throw badRequest("bad_jwt", "invalid claim: sub claim must be a UUID");
  const user = await findUserById(sql, sub);
  // A soft-deleted user is gone for every non-admin purpose.
  if (!user || user.deletedAt) {
    throw forbidden("user_not_found", "User from sub claim in JWT does not exist");
  }
  let session: AuthSession | null = null;
  const sessionId = typeof claims.session_id === "string" ? claims.session_id : "";
  if (sessionId !== "" && sessionId !== "00000000-0000-0000-0000-000000000000") {
    if (!isUuid(sessionId)) {
      throw forbidden("bad_jwt", "invalid claim: session_id claim must be a UUID");
    }
    session = await findSession(sql, sessionId);
    if (!session) {
      throw forbidden("session_not_found", "Session from session_id claim in JWT does not exist");
    }
  }
  return { claims, user, session };
}

/** GoTrue's requireAdminCredentials: a bearer JWT whose role is an admin role. */
export async function requireAdmin(
  authorization: string | undefined,
  keySet: GoTrueKeySet,
): Promise<JwtPayload> {
  const claims = await verifiedClaims(authorization, keySet);
  if (typeof claims.role !== "string" || !ADMIN_ROLES.has(claims.role)) {
    throw forbidden("not_admin", "User not allowed");
  }
  return claims;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

function isIpv6(candidate: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(candidate) || !candidate.includes(":")) return false;
  try {
    // The WHATWG URL parser validates IPv6 literals exactly.
    new URL(`http://[${candidate}]/`);
    return true;
  } catch {
    return false;
  }
}

/** The client address for auth.sessions.ip, only when it is a well-formed IP (column is inet). */
export function clientIp(
  forwardedFor: string | undefined,
  remoteHostname: string | undefined,
): string | null {
  const candidate = (forwardedFor?.split(",")[0] ?? remoteHostname ?? "").trim();
  if (IPV4.test(candidate)) return candidate;
  if (isIpv6(candidate)) return candidate;
  return null;
}
