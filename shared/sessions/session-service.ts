/**
 * GoTrue's session surface on the login function, so @supabase/auth-js works unchanged with the
 * login function as its Auth URL (routes.ts mounts it):
 *
 * - POST /token?grant_type=password — the same login as POST /login (the migrator's routing,
 *   the system-of-record rule, fallback, rate limiting: `login` below IS that handler), answered
 *   as GoTrue's AccessTokenResponse `{ access_token, token_type, expires_in, expires_at,
 *   refresh_token, user }` (supabase/auth internal/api/token.go).
 * - POST /token?grant_type=refresh_token — per token, in order:
 *   1. one of our Better Auth refresh tokens → the system-of-record rule is asked first (a
 *      refusal writes nothing), then rotation with reuse detection (refresh-tokens.ts); a Better
 *      Auth session token (the refresh token of POST /login before rotation existed) is
 *      exchanged once for the session's first rotating token;
 *   2. otherwise a Supabase refresh token: exchanged at GoTrue ONCE (that verifies it and rotates
 *      it). If the user's system of record is Supabase, GoTrue's answer is passed through as is.
 *      If it is Better Auth (the user was cut over since the token was issued), a Better Auth
 *      session is opened for the same user id and the Supabase session is ended with GoTrue's
 *      own logout (scope=local) using the access token just obtained — so the old refresh token,
 *      its child and the reuse interval are all dead. Should that logout fail, the Better Auth
 *      session is removed again and the client gets a retryable 503: GoTrue hands the active
 *      child back to a retry of the same token (the parent rule), so nobody is logged out.
 * - GET /user (internal/api/user.go UserGet behind requireAuthentication, auth.go) — the
 *   token's issuer checks it (GoTrue for its tokens, our verifier plus the session row for
 *   ours); the user JSON comes from the user's system of record.
 * - POST /logout?scope=global|local|others — GoTrue's scopes (internal/api/logout.go), across
 *   BOTH systems: `local` ends the presented session, `others` every other session of the user in
 *   either system, `global` all of them. 204.
 *
 * Errors are GoTrue's codes, statuses and body formats (gotrue-errors.ts). Bad input never
 * reaches a database write and never becomes a 500.
 */
import { type AccessTokenVerifierConfig, verifyAccessToken } from "../auth/access-tokens.ts";
import type { BetterAuthService, RefreshedSession } from "../auth/better-auth-service.ts";
import { AuthError, authUnavailable, invalidCredentials } from "../auth/errors.ts";
import type { AuthSessionView } from "../auth/types.ts";
import type { SqlClient } from "../db/sql-client.ts";
import { clientIpFrom } from "../http/client-ip.ts";
import type { IdentityDecision, SystemOfRecord } from "../identity/system-of-record.ts";
import { endSupabaseSessions, type GoTrueAnswer, GoTrueClient } from "./gotrue-client.ts";
import {
  API_VERSION_HEADER,
  apiVersionHeaders,
  badJwt,
  badRequest,
  forbidden,
  fromAuthError,
  GoTrueError,
  gotrueErrorResponse,
  noAuthorization,
  OAuthStyleError,
} from "./gotrue-errors.ts";
import { betterAuthUserJson } from "./gotrue-user.ts";
import { REFUSAL_MESSAGES } from "./refresh-tokens.ts";
import { isUuid } from "../uuid.ts";

type Json = Record<string, unknown>;
export type LogoutScope = "global" | "local" | "others";

export interface SessionServiceDeps {
  /** The login handler (the migrator over both implementations) that answers POST /login. */
  readonly login: (request: Request) => Promise<Response>;
  readonly identity: SystemOfRecord;
  readonly tokens: AccessTokenVerifierConfig;
  readonly betterAuth?: BetterAuthService;
  /** Better Auth's database. */
  readonly betterAuthDb?: SqlClient;
  readonly gotrue?: GoTrueClient;
  /** The shared database with auth.sessions (ending Supabase sessions by user id). */
  readonly supabaseDb?: SqlClient;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_TOKEN_LENGTH = 4096;

/** GoTrue's unmarshal failure on a wrong-typed field (internal/api/helpers.go). */
const badJson = (message: string) => badRequest("bad_json", message);

async function readJsonObject(request: Request): Promise<Json> {
  const text = await request.text();
  let parsed: unknown;
  try {
    parsed = text === "" ? {} : JSON.parse(text);
  } catch (error) {
    throw badJson(
      `Could not parse request body as JSON: ${error instanceof Error ? error.message : "invalid"}`,
    );
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw badJson("Could not parse request body as JSON: expected an object");
  }
  return parsed as Json;
}

function stringField(body: Json, field: string, struct: string): string {
  const value = body[field];
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") {
    throw badJson(
      `Could not parse request body as JSON: json: cannot unmarshal ${typeof value} into Go struct field ${struct}.${field} of type string`,
    );
  }
  return value;
}

function bearer(request: Request): string {
  const match = /^\s*[Bb]earer\s+(\S+)\s*$/.exec(request.headers.get("authorization") ?? "");
  if (!match) throw noAuthorization();
  return match[1]!;
}

/** GoTrue's Logout scope parameter (internal/api/logout.go). */
export function parseLogoutScope(raw: string | null): LogoutScope {
  if (raw === null || raw === "" || raw === "global") return "global";
  if (raw === "local" || raw === "others") return raw;
  throw badRequest("validation_failed", `Unsupported logout scope ${JSON.stringify(raw)}`);
}

export class SessionService {
  constructor(private readonly deps: SessionServiceDeps) {}

  /** Every route's wrapper: GoTrue errors as GoTrue writes them, anything else a 503. */
  async handle(request: Request, work: () => Promise<Response>): Promise<Response> {
    try {
      const response = await work();
      const headers = new Headers(response.headers);
      for (
        const [k, v] of Object.entries(apiVersionHeaders(request.headers.get(API_VERSION_HEADER)))
      ) {
        headers.set(k, v);
      }
      return new Response(response.body, { status: response.status, headers });
    } catch (error) {
      if (error instanceof GoTrueError || error instanceof OAuthStyleError) {
        return gotrueErrorResponse(error, request);
      }
      if (error instanceof AuthError) return gotrueErrorResponse(fromAuthError(error), request);
      return gotrueErrorResponse(fromAuthError(authUnavailable("session surface", error)), request);
    }
  }

  // ---- POST /token -------------------------------------------------------------------------

  token(request: Request): Promise<Response> {
    return this.handle(request, async () => {
      // GoTrue reads grant_type with r.FormValue: the query string (auth-js) or a form body.
      const grantType = new URL(request.url).searchParams.get("grant_type") ?? "";
      if (grantType === "password") return await this.#passwordGrant(request);
      if (grantType === "refresh_token") return await this.#refreshGrant(request);
      // supabase/auth internal/api/token.go Token: the default case.
      throw badRequest("invalid_credentials", "unsupported_grant_type");
    });
  }

  async #passwordGrant(request: Request): Promise<Response> {
    const body = await readJsonObject(request);
    const email = stringField(body, "email", "PasswordGrantParams");
    const password = stringField(body, "password", "PasswordGrantParams");
    const phone = stringField(body, "phone", "PasswordGrantParams");
    if (email !== "" && phone !== "") {
      throw badRequest(
        "validation_failed",
        "Only an email address or phone number should be provided on login.",
      );
    }
    if (email === "") throw badRequest("validation_failed", "missing email or phone");
    // The very handler behind POST /login: same routing, rule, limits and events.
    const headers = new Headers(request.headers);
    headers.set("Content-Type", "application/json");
    headers.delete("content-length");
    const answer = await this.deps.login(
      new Request(new URL("/login", request.url), {
        method: "POST",
        headers,
        body: JSON.stringify({ email, password }),
      }),
    );
    const result = await answer.json().catch(() => null) as
      | { user?: { id: string }; session?: AuthSessionView | null; error?: Json }
      | null;
    if (!answer.ok || !result?.session || !result.user) {
      throw this.#loginError(answer.status, result?.error);
    }
    const session = result.session;
    const user = await this.#userJsonForSession(request, session.access_token, result.user.id);
    return Response.json({ ...tokenFields(session), user });
  }

  /** POST /login's error contract `{ error: { code, message } }` in GoTrue's words. */
  #loginError(status: number, error: Json | undefined): GoTrueError {
    const code = typeof error?.code === "string" ? error.code : "";
    const message = typeof error?.message === "string" ? error.message : "";
    switch (code) {
      case "invalid_credentials":
        return fromAuthError(invalidCredentials());
      case "user_banned":
      case "email_not_confirmed":
      case "validation_failed":
        return new GoTrueError(400, code, message);
      case "rate_limited":
        return new GoTrueError(429, "over_request_rate_limit", "Request rate limit reached");
      case "invalid_json":
      case "unsupported_media_type":
      case "bad_request":
        return badRequest("bad_json", message || "Could not read password grant params");
    }
    return status >= 400 && status < 500
      ? new GoTrueError(status, "validation_failed", message || "Invalid request")
      : new GoTrueError(503, "unexpected_failure", "Auth is temporarily unavailable");
  }

  /** `user` of a fresh password-grant response, from the system that issued the session. */
  async #userJsonForSession(request: Request, accessToken: string, userId: string): Promise<Json> {
    const verified = await verifyAccessToken(accessToken, this.deps.tokens);
    if (verified.system === "better_auth" && this.deps.betterAuthDb) {
      const json = await betterAuthUserJson(this.deps.betterAuthDb, userId);
      if (json) return json;
    }
    if (verified.system === "supabase" && this.deps.gotrue) {
      const answer = await this.deps.gotrue.user(accessToken, this.#context(request));
      if (answer.status === 200 && answer.body) return answer.body;
    }
    throw new GoTrueError(503, "unexpected_failure", "Auth is temporarily unavailable");
  }

  #context(request: Request) {
    return {
      clientIp: clientIpFrom(request.headers),
      apiVersion: request.headers.get(API_VERSION_HEADER),
    };
  }

  async #refreshGrant(request: Request): Promise<Response> {
    const body = await readJsonObject(request);
    const presented = stringField(body, "refresh_token", "RefreshTokenGrantParams");
    // token_refresh.go: an empty token is an OAuth-style invalid_request.
    if (presented === "") throw new OAuthStyleError("invalid_request", "refresh_token required");
    const notFound = () =>
      badRequest("refresh_token_not_found", REFUSAL_MESSAGES.refresh_token_not_found);
    // An access token (a JWT) or anything oversized is no refresh token of either system:
    // refused without asking anyone.
    if (presented.length > MAX_TOKEN_LENGTH || JWT_SHAPE.test(presented)) throw notFound();

    const betterAuth = this.deps.betterAuth;
    if (betterAuth) {
      const refreshed = await this.#betterAuthRefresh(betterAuth, presented);
      if (refreshed) return refreshed;
    }
    if (this.deps.gotrue) return await this.#supabaseRefresh(request, presented);
    throw notFound();
  }

  /** Our token: the rule first (nothing written on a refusal), then rotation. Null: not ours. */
  async #betterAuthRefresh(
    betterAuth: BetterAuthService,
    presented: string,
  ): Promise<Response | null> {
    const store = await betterAuth.refreshTokens();
    // A Better Auth session token handed out as the refresh token by an earlier release is
    // exchanged once for a rotating token (better-auth-service.ts adoptLegacySessionToken).
    const rotating = await store.sessionOf(presented);
    const owner = rotating ?? await betterAuth.legacySessionOwner(presented);
    if (!owner) return null;
    const stored = await betterAuth.findUserById(owner.userId);
    if (!stored) {
      throw badRequest("refresh_token_not_found", REFUSAL_MESSAGES.refresh_token_not_found);
    }
    const decision = await this.deps.identity.decide(stored.email);
    this.#refuseBySystemOfRecord(decision, owner.userId);
    const rotated = rotating
      ? await betterAuth.refreshSession(presented)
      : await betterAuth.adoptLegacySessionToken(presented);
    if (!rotated.ok) {
      if (rotated.error instanceof AuthError) throw rotated.error;
      throw badRequest(rotated.error, REFUSAL_MESSAGES[rotated.error]);
    }
    return await this.#betterAuthTokenResponse(rotated.value);
  }

  /**
   * A Better Auth session stays usable while the user's system of record (either system) does
   * not refuse them: changes pending both ways → 503 (the rule's "nobody answers"); a system of
   * record that holds the user deleted or banned → GoTrue's refresh refusals.
   */
  #refuseBySystemOfRecord(decision: IdentityDecision, userId: string): void {
    if (decision.blocked) {
      throw new GoTrueError(503, "unexpected_failure", "Auth is temporarily unavailable");
    }
    const record = decision.systemOfRecord === "supabase" ? decision.supabase : decision.betterAuth;
    if (record === undefined) return; // not readable: the issuer's own checks decide
    if (record === null || record.deleted || record.id !== userId) {
      throw badRequest("refresh_token_not_found", REFUSAL_MESSAGES.refresh_token_not_found);
    }
    if (record.banned) throw badRequest("user_banned", REFUSAL_MESSAGES.user_banned);
  }

  async #betterAuthTokenResponse(refreshed: RefreshedSession): Promise<Response> {
    const user = this.deps.betterAuthDb
      ? await betterAuthUserJson(this.deps.betterAuthDb, refreshed.user.id)
      : null;
    if (!user) {
      throw badRequest("refresh_token_not_found", REFUSAL_MESSAGES.refresh_token_not_found);
    }
    return Response.json({ ...tokenFields(refreshed.session), user });
  }

  async #supabaseRefresh(request: Request, presented: string): Promise<Response> {
    const gotrue = this.deps.gotrue!;
    const context = this.#context(request);
    let answer: GoTrueAnswer;
    try {
      answer = await gotrue.refresh(presented, context);
    } catch (error) {
      throw authUnavailable("Supabase Auth is unavailable", error);
    }
    if (answer.status >= 500) {
      throw new GoTrueError(503, "unexpected_failure", "Auth is temporarily unavailable");
    }
    // GoTrue's own refusal (not found, already used, banned…): its answer, verbatim.
    if (answer.status !== 200 || !answer.body) return passThrough(answer);
    const user = answer.body.user as { id?: string; email?: string } | undefined;
    const accessToken = answer.body.access_token;
    if (!user?.id || typeof accessToken !== "string") return passThrough(answer);
    const decision = await this.deps.identity.decide((user.email ?? "").toLowerCase());
    if (decision.blocked) {
      throw new GoTrueError(503, "unexpected_failure", "Auth is temporarily unavailable");
    }
    if (decision.systemOfRecord === "supabase" || !this.deps.betterAuth) return passThrough(answer);
    if (decision.betterAuth && decision.betterAuth.id !== user.id) {
      // Another user holds this email in Better Auth: never hand out their session.
      throw new GoTrueError(503, "unexpected_failure", "Auth is temporarily unavailable");
    }
    // Cut over: the same user id gets a Better Auth session; the Supabase one ends.
    const opened = await this.deps.betterAuth.openSession(user.id);
    if (!opened.ok) throw opened.error;
    let ended: GoTrueAnswer | null = null;
    try {
      ended = await gotrue.logout(accessToken, "local", context);
    } catch {
      ended = null;
    }
    if (!ended || ended.status !== 204) {
      await this.deps.betterAuth.revokeSession(opened.value.session.refresh_token);
      throw new GoTrueError(503, "unexpected_failure", "Auth is temporarily unavailable");
    }
    return await this.#betterAuthTokenResponse(opened.value);
  }

  // ---- GET /user ---------------------------------------------------------------------------

  user(request: Request): Promise<Response> {
    return this.handle(request, async () => {
      const token = bearer(request);
      const verified = await this.#verify(token);
      if (verified.system === "supabase") {
        if (!this.deps.gotrue) throw badJwt("Supabase tokens are not accepted here");
        const answer = await this.deps.gotrue.user(token, this.#context(request));
        if (answer.status >= 500) {
          throw new GoTrueError(503, "unexpected_failure", "Auth is temporarily unavailable");
        }
        if (answer.status !== 200) return passThrough(answer);
        // The user as their system of record holds them now.
        const email = typeof answer.body?.email === "string" ? answer.body.email : "";
        const decision = await this.deps.identity.decide(email.toLowerCase());
        if (decision.systemOfRecord === "better_auth" && this.deps.betterAuthDb) {
          const json = await betterAuthUserJson(this.deps.betterAuthDb, verified.userId);
          if (json) return Response.json(json);
        }
        return passThrough(answer);
      }
      await this.#requireBetterAuthSession(verified.sessionId);
      const json = this.deps.betterAuthDb
        ? await betterAuthUserJson(this.deps.betterAuthDb, verified.userId)
        : null;
      if (!json) throw forbidden("user_not_found", "User from sub claim in JWT does not exist");
      return Response.json(json);
    });
  }

  async #verify(token: string) {
    try {
      return await verifyAccessToken(token, this.deps.tokens);
    } catch (error) {
      if (error instanceof AuthError && error.code === "auth_unavailable") throw error;
      throw badJwt(error instanceof Error ? error.message : "invalid token");
    }
  }

  /** GoTrue's maybeLoadUserOrSession: a token whose session is gone is refused (403). */
  async #requireBetterAuthSession(sessionId: string | null): Promise<void> {
    const db = this.deps.betterAuthDb;
    if (!db) throw badJwt("Better Auth tokens are not accepted here");
    if (!sessionId || !isUuid(sessionId)) {
      throw forbidden("bad_jwt", "invalid claim: session_id claim must be a UUID");
    }
    const { rows } = await db.query(
      `SELECT 1 FROM "session" WHERE id = $1::uuid AND "expiresAt" > now()`,
      [sessionId],
    );
    if (rows.length === 0) {
      throw forbidden("session_not_found", "Session from session_id claim in JWT does not exist");
    }
  }

  // ---- POST /logout ------------------------------------------------------------------------

  logout(request: Request): Promise<Response> {
    return this.handle(request, async () => {
      const token = bearer(request);
      const verified = await this.#verify(token);
      if (verified.system === "supabase") {
        if (!this.deps.gotrue) throw badJwt("Supabase tokens are not accepted here");
        const rawScope = new URL(request.url).searchParams.get("scope");
        const answer = await this.deps.gotrue.logout(
          token,
          rawScope ?? "global",
          this.#context(request),
        );
        if (answer.status >= 500) {
          throw new GoTrueError(503, "unexpected_failure", "Auth is temporarily unavailable");
        }
        if (answer.status !== 204) return passThrough(answer);
        const scope = parseLogoutScope(rawScope);
        // Every Better Auth session is "another" session from a Supabase session's view.
        if (scope !== "local" && this.deps.betterAuth) {
          await (await this.deps.betterAuth.refreshTokens()).endSessions(
            verified.userId,
            "global",
            null,
          );
        }
        return new Response(null, { status: 204 });
      }
      await this.#requireBetterAuthSession(verified.sessionId);
      const scope = parseLogoutScope(new URL(request.url).searchParams.get("scope"));
      const store = await this.deps.betterAuth!.refreshTokens();
      await store.endSessions(verified.userId, scope, verified.sessionId);
      if (scope !== "local" && this.deps.supabaseDb) {
        await endSupabaseSessions(this.deps.supabaseDb, verified.userId);
      }
      return new Response(null, { status: 204 });
    });
  }
}

function tokenFields(session: AuthSessionView) {
  return {
    access_token: session.access_token,
    token_type: "bearer",
    expires_in: session.expires_in,
    expires_at: session.expires_at,
    refresh_token: session.refresh_token,
  };
}

/** GoTrue's answer, status and body as it gave them. */
function passThrough(answer: GoTrueAnswer): Response {
  if (answer.status === 204) return new Response(null, { status: 204 });
  return Response.json(answer.body ?? {}, { status: answer.status });
}
