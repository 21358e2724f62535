/**
 * GoTrue's error wire format, so @supabase/auth-js parses the session surface's refusals exactly
 * as it parses Supabase Auth's (AuthApiError with `status` and `code`; `session_not_found` and
 * a 401/403/404 on /logout are what signOut tolerates).
 *
 * supabase/auth internal/api/errors.go HandleResponseError picks the body by the request's
 * `X-Supabase-Api-Version` header:
 * - 2024-01-01 or later (auth-js always sends it): `{ code: "<error_code>", message }`, with the
 *   version echoed in the response header;
 * - absent or older (curl): `{ code: <status>, error_code, msg }`.
 * OAuth-style errors (`refresh_token required`) are `{ error, error_description }` in both
 * (errors.go OAuthError). Codes: internal/api/apierrors/errorcode.go. The local stand-in's GoTrue
 * answers through the same code (local/standin/auth/errors.ts imports it; shared/ never imports
 * local/).
 */
import type { AuthError } from "../auth/errors.ts";

export const API_VERSION_HEADER = "X-Supabase-Api-Version";
const API_VERSION_2024_01_01 = "2024-01-01";
const API_VERSION_PATTERN = /^2[0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/;

/** GoTrue's error codes used by the session surface and the local stand-in. */
export type GoTrueErrorCode =
  | "bad_json"
  | "bad_jwt"
  | "email_exists"
  | "email_not_confirmed"
  | "email_provider_disabled"
  | "invalid_credentials"
  | "no_authorization"
  | "not_admin"
  | "not_found"
  | "otp_expired"
  | "over_email_send_rate_limit"
  | "over_request_rate_limit"
  | "phone_exists"
  | "phone_not_confirmed"
  | "phone_provider_disabled"
  | "refresh_token_already_used"
  | "refresh_token_not_found"
  | "request_entity_too_large"
  | "session_expired"
  | "session_not_found"
  | "unexpected_failure"
  | "user_already_exists"
  | "user_banned"
  | "user_not_found"
  | "validation_failed"
  | "weak_password";

/** GoTrue's HTTPError: a status, a machine code, a human message. */
export class GoTrueError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: GoTrueErrorCode,
    message: string,
    readonly extra?: Readonly<Record<string, unknown>>,
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = "GoTrueError";
  }
}

/** GoTrue's OAuthError: always 400, `{ error, error_description }`. */
export class OAuthStyleError extends Error {
  constructor(readonly error: string, readonly description: string) {
    super(description);
    this.name = "OAuthStyleError";
  }
}

export const badRequest = (code: GoTrueErrorCode, message: string) =>
  new GoTrueError(400, code, message);
export const forbidden = (code: GoTrueErrorCode, message: string) =>
  new GoTrueError(403, code, message);

/** GoTrue's extractBearerToken refusal (internal/api/auth.go). */
export const noAuthorization = () =>
  new GoTrueError(401, "no_authorization", "This endpoint requires a valid Bearer token");

/** GoTrue's parseJWTClaims refusal (internal/api/auth.go): 403 bad_jwt. */
export const badJwt = (reason: string) =>
  forbidden("bad_jwt", `invalid JWT: unable to parse or verify signature, ${reason}`);

export function usesModernErrorFormat(requested: string | null | undefined): boolean {
  if (!requested || !API_VERSION_PATTERN.test(requested)) return false;
  return Date.parse(`${requested}T00:00:00Z`) >= Date.parse("2024-01-01T00:00:00Z");
}

/** Headers GoTrue adds to every response for the request's API version. */
export function apiVersionHeaders(requested: string | null | undefined): Record<string, string> {
  return usesModernErrorFormat(requested) ? { [API_VERSION_HEADER]: API_VERSION_2024_01_01 } : {};
}

/** Serialises an error the way GoTrue's HandleResponseError does. */
export function gotrueErrorBody(
  error: GoTrueError | OAuthStyleError,
  requested: string | null | undefined,
): { status: number; body: Record<string, unknown> } {
  if (error instanceof OAuthStyleError) {
    return { status: 400, body: { error: error.error, error_description: error.description } };
  }
  const body = usesModernErrorFormat(requested)
    ? { code: error.errorCode, message: error.message, ...error.extra }
    : { code: error.status, error_code: error.errorCode, msg: error.message, ...error.extra };
  return { status: error.status, body };
}

/** The response GoTrue's HandleResponseError writes for `error`. */
export function gotrueErrorResponse(
  error: GoTrueError | OAuthStyleError,
  request: Request,
): Response {
  const requested = request.headers.get(API_VERSION_HEADER);
  const { status, body } = gotrueErrorBody(error, requested);
  const extraHeaders = error instanceof GoTrueError ? error.headers : undefined;
  return Response.json(body, {
    status,
    headers: { ...apiVersionHeaders(requested), ...extraHeaders },
  });
}

/**
 * The project's auth error (shared/auth/errors.ts) as GoTrue says it. The login contract already
 * uses GoTrue's codes for refusals; the rest map onto GoTrue's own:
 * rate_limited → 429 over_request_rate_limit, invalid_token → 403 bad_jwt, an outage → 503
 * unexpected_failure (retryable for auth-js, never a 500).
 */
export function fromAuthError(error: AuthError): GoTrueError {
  switch (error.code) {
    case "invalid_credentials":
    case "user_banned":
    case "email_not_confirmed":
      return new GoTrueError(400, error.code, error.message);
    case "validation_failed":
      return new GoTrueError(400, "validation_failed", error.message);
    case "weak_password":
      return new GoTrueError(422, "weak_password", error.message, {
        weak_password: { reasons: error.reasons ?? [] },
      });
    case "rate_limited":
      return new GoTrueError(
        429,
        "over_request_rate_limit",
        "Request rate limit reached",
        undefined,
        error.retryAfterSeconds !== undefined
          ? { "Retry-After": String(error.retryAfterSeconds) }
          : undefined,
      );
    case "invalid_token":
      return badJwt(error.message);
    case "user_already_exists":
      return new GoTrueError(422, "validation_failed", error.message);
    case "auth_unavailable":
      return new GoTrueError(503, "unexpected_failure", "Auth is temporarily unavailable");
  }
}
