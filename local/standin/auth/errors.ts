/**
 * GoTrue's error wire formats, reproduced so supabase-js parses the stand-in's errors exactly as
 * it parses Supabase's (AuthApiError with `status` and `code`, AuthWeakPasswordError with
 * `reasons`, AuthSessionMissingError for `session_not_found`).
 *
 * GoTrue picks the body shape from the request's `X-Supabase-Api-Version` header:
 * - 2024-01-01 or later (supabase-js always sends it): `{ code: "invalid_credentials", message }`
 *   and the version is echoed back in the response header;
 * - absent or older (curl, old clients): `{ code: 400, error_code: "invalid_credentials", msg }`.
 * OAuth-style errors (`refresh_token required`) are `{ error, error_description }` in both.
 */
export const API_VERSION_HEADER = "X-Supabase-Api-Version";
const API_VERSION_2024_01_01 = "2024-01-01";
const API_VERSION_PATTERN = /^2[0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/;

/** The subset of GoTrue's error codes the stand-in returns. */
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

/** GoTrue's HTTPError: a status, a machine code and a human message. */
export class GoTrueError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: GoTrueErrorCode,
    message: string,
    /** Extra top-level fields (only `weak_password` today). */
    readonly extra?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = "GoTrueError";
  }
}

/** GoTrue's OAuthError: always HTTP 400, `{ error, error_description }`. */
export class OAuthStyleError extends Error {
  constructor(readonly error: string, readonly description: string) {
    super(description);
    this.name = "OAuthStyleError";
  }
}

export const badRequest = (code: GoTrueErrorCode, message: string) =>
  new GoTrueError(400, code, message);
export const unauthorized = (code: GoTrueErrorCode, message: string) =>
  new GoTrueError(401, code, message);
export const forbidden = (code: GoTrueErrorCode, message: string) =>
  new GoTrueError(403, code, message);
export const notFound = (code: GoTrueErrorCode, message: string) =>
  new GoTrueError(404, code, message);
export const unprocessable = (code: GoTrueErrorCode, message: string) =>
  new GoTrueError(422, code, message);

export function weakPasswordError(message: string, reasons: readonly string[]): GoTrueError {
  return new GoTrueError(422, "weak_password", message, { weak_password: { reasons } });
}

/** True when the request opted into the 2024-01-01 error format. */
export function usesModernErrorFormat(requestedVersion: string | null | undefined): boolean {
  if (!requestedVersion || !API_VERSION_PATTERN.test(requestedVersion)) return false;
  return Date.parse(`${requestedVersion}T00:00:00Z`) >= Date.parse("2024-01-01T00:00:00Z");
}

/** Headers GoTrue adds to every response for the request's API version. */
export function apiVersionHeaders(
  requestedVersion: string | null | undefined,
): Record<string, string> {
  return usesModernErrorFormat(requestedVersion)
    ? { [API_VERSION_HEADER]: API_VERSION_2024_01_01 }
    : {};
}

/** Serialises an error the way GoTrue's HandleResponseError does. */
export function gotrueErrorBody(
  error: GoTrueError | OAuthStyleError,
  requestedVersion: string | null | undefined,
): { status: number; body: Record<string, unknown> } {
  if (error instanceof OAuthStyleError) {
    return { status: 400, body: { error: error.error, error_description: error.description } };
  }
  const body = usesModernErrorFormat(requestedVersion)
    ? { code: error.errorCode, message: error.message, ...error.extra }
    : { code: error.status, error_code: error.errorCode, msg: error.message, ...error.extra };
  return { status: error.status, body };
}

/** The body Supabase's API gateway answers when the `apikey` is missing or unknown. */
export function apiKeyErrorBody(kind: "missing" | "invalid"): Record<string, string> {
  return kind === "missing"
    ? {
      message: "No API key found in request",
      hint: "No `apikey` request header or url param was found.",
    }
    : {
      message: "Invalid API key",
      hint: "Double check your Supabase `anon` or `service_role` API key.",
    };
}
