/**
 * The TOTP second step of a login on the Better Auth path: `POST /login/mfa/verify
 * { email, password, code }` → `200 { user, session }` with an `aal2` access token.
 *
 * GoTrue's contract is two calls: a password login answers an aal1 session, then
 * `POST /factors/{id}/verify { challenge_id, code }` with that token upgrades it
 * (supabase/auth internal/api/mfa.go verifyTOTPFactor). Better Auth's two-factor plugin creates
 * no session before the second factor — sign-in answers `{ twoFactorRedirect: true }` and a
 * signed two-factor cookie, and `/two-factor/verify-totp` creates the session
 * (better-auth src/plugins/two-factor/index.ts, totp/index.ts) — so there is no aal1 token to
 * upgrade. This step therefore takes the password and the code in one call and runs both of
 * Better Auth's steps on the server; the code is checked by Better Auth's own verifyTOTP
 * (RFC 6238, ±1 step, lockout after repeated failures). Errors follow GoTrue's words:
 * `422 mfa_verification_failed` for a wrong code, `404 mfa_factor_not_found` for a user without
 * a verified TOTP factor; a wrong password is the login's `400 invalid_credentials`, and every
 * failure counts against the login rate limiter.
 */
import { z } from "zod";
import { errorResponse } from "../http/errors.ts";
import { readJson } from "../http/validation.ts";
import type { SqlClient } from "../db/sql-client.ts";
import { type AccessTokenSigning, issueSessionTokens } from "./access-tokens.ts";
import type { BetterAuthInstance } from "./better-auth.ts";
import { AuthError, invalidCredentials, validationFailed } from "./errors.ts";
import type { LoginRateLimiter } from "./rate-limiter.ts";
import type { AuthResult, JsonObject } from "./types.ts";
import { RefreshTokenStore } from "../sessions/refresh-tokens.ts";

export interface TotpLoginStepDeps {
  readonly auth: BetterAuthInstance;
  /** Better Auth's database (the session row's id goes into the access token). */
  readonly db: SqlClient;
  readonly signing: AccessTokenSigning;
  readonly rateLimiter: LoginRateLimiter;
  /**
   * Where the session's refresh token is kept (hashed, rotating: shared/sessions/). Default: one
   * over `db` keyed from the Better Auth instance's secret.
   */
  readonly refreshTokens?: RefreshTokenStore;
}

async function storeOf(deps: TotpLoginStepDeps): Promise<RefreshTokenStore> {
  if (deps.refreshTokens) return deps.refreshTokens;
  const context = await deps.auth.$context;
  return new RefreshTokenStore({
    db: deps.db,
    secret: context.secret,
    sessionTtlSeconds: context.sessionConfig.expiresIn,
  });
}

const inputSchema = z.object({
  email: z.email(),
  password: z.string().min(1).max(1024),
  code: z.string().regex(/^\d{6}$/, "expected the 6-digit code of the authenticator app"),
});

const cookiesOf = (response: Response) =>
  response.headers.getSetCookie().map((cookie) => cookie.split(";")[0]).join("; ");

export async function totpLoginStep(
  deps: TotpLoginStepDeps,
  request: Request,
  ip?: string,
): Promise<Response> {
  const body = await readJson(request);
  if (!body.ok) return body.error.toResponse();
  const parsed = inputSchema.safeParse(body.value);
  if (!parsed.success) {
    return validationFailed(parsed.error.issues.map((issue) => ({
      path: issue.path.join("."),
      message: issue.message,
    }))).toResponse();
  }
  const { email, password, code } = parsed.data;
  try {
    await deps.rateLimiter.assertAllowed(email, ip);
    const first = await deps.auth.api.signInEmail({
      body: { email, password },
      asResponse: true,
    });
    if (first.status !== 200) return await refuse(deps, email, ip, invalidCredentials());
    const signedIn = await first.json() as { twoFactorRedirect?: boolean; token?: string };
    if (!signedIn.twoFactorRedirect) {
      // Signed in without a second factor: this step grants nothing to such a user.
      if (signedIn.token) {
        await deps.db.query(`DELETE FROM session WHERE token = $1`, [signedIn.token]);
      }
      return errorResponse(404, "mfa_factor_not_found", "No verified TOTP factor");
    }
    const second = await deps.auth.api.verifyTOTP({
      body: { code },
      headers: new Headers({ cookie: cookiesOf(first) }),
      asResponse: true,
    });
    if (second.status !== 200) {
      await deps.rateLimiter.recordFailure(email, ip).catch(() => {});
      return errorResponse(422, "mfa_verification_failed", "Invalid TOTP code entered");
    }
    const verified = await second.json() as {
      token: string;
      user: {
        id: string;
        email: string;
        userMetadata?: JsonObject;
        appMetadata?: JsonObject;
        createdAt: string | Date;
      };
    };
    const { rows } = await deps.db.query<{ id: string }>(
      `SELECT id FROM session WHERE token = $1`,
      [verified.token],
    );
    await deps.rateLimiter.recordSuccess(email).catch(() => {});
    const user = verified.user;
    const authenticatedAt = new Date();
    const result: AuthResult = {
      user: {
        id: user.id,
        email: user.email,
        user_metadata: user.userMetadata ?? {},
        created_at: new Date(user.createdAt).toISOString(),
      },
      session: await issueSessionTokens(deps.signing, {
        userId: user.id,
        email: user.email,
        userMetadata: user.userMetadata ?? {},
        appMetadata: user.appMetadata ?? {},
        sessionId: rows[0]!.id,
        // The refresh token of an aal2 session: a refresh keeps aal2 (refresh-tokens.ts).
        sessionToken: await (await storeOf(deps)).issue(rows[0]!.id, user.id, {
          secondFactor: "totp",
          authenticatedAt,
        }),
        authenticatedAt,
        secondFactor: "totp",
      }),
    };
    return Response.json(result);
  } catch (error) {
    if (error instanceof AuthError) return error.toResponse();
    throw error;
  }
}

async function refuse(
  deps: TotpLoginStepDeps,
  email: string,
  ip: string | undefined,
  error: AuthError,
): Promise<Response> {
  await deps.rateLimiter.recordFailure(email, ip).catch(() => {});
  return error.toResponse();
}
