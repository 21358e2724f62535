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
 * The format itself lives in shared/sessions/gotrue-errors.ts (the login function's session
 * surface answers the same way); the helpers below are the stand-in's own.
 */
import { GoTrueError, type GoTrueErrorCode } from "../../../shared/sessions/gotrue-errors.ts";

// One wire format for the stand-in and the login function's session surface.
export {
  API_VERSION_HEADER,
  apiVersionHeaders,
  badRequest,
  forbidden,
  GoTrueError,
  gotrueErrorBody,
  type GoTrueErrorCode,
  OAuthStyleError,
  usesModernErrorFormat,
} from "../../../shared/sessions/gotrue-errors.ts";

export const unauthorized = (code: GoTrueErrorCode, message: string) =>
  new GoTrueError(401, code, message);
export const notFound = (code: GoTrueErrorCode, message: string) =>
  new GoTrueError(404, code, message);
export const unprocessable = (code: GoTrueErrorCode, message: string) =>
  new GoTrueError(422, code, message);

export function weakPasswordError(message: string, reasons: readonly string[]): GoTrueError {
  return new GoTrueError(422, "weak_password", message, { weak_password: { reasons } });
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
