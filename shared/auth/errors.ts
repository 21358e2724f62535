/**
 * The auth error contract shared by every auth path (Supabase Auth, Better Auth, dual write), so
 * a client sees the same status and code whichever backend answered.
 */
import { type ErrorBody, errorBody, errorResponse } from "../http/errors.ts";

export type AuthErrorCode =
  | "validation_failed"
  | "invalid_credentials"
  | "user_banned"
  | "email_not_confirmed"
  | "user_already_exists"
  | "weak_password"
  | "rate_limited"
  | "invalid_token"
  | "auth_unavailable";

export const AUTH_ERROR_STATUS: Readonly<Record<AuthErrorCode, number>> = {
  validation_failed: 400,
  invalid_credentials: 400,
  user_banned: 400,
  email_not_confirmed: 400,
  user_already_exists: 422,
  weak_password: 422,
  rate_limited: 429,
  invalid_token: 401,
  auth_unavailable: 503,
};

/** One offending input field, as in `400 validation_failed` bodies. */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

export interface AuthErrorOptions {
  /** validation_failed: the offending fields. */
  readonly details?: readonly FieldIssue[];
  /** weak_password: why (GoTrue's words: "length", "characters", "pwned"). */
  readonly reasons?: readonly string[];
  /** rate_limited: seconds until the caller may try again. */
  readonly retryAfterSeconds?: number;
  /** Internal cause for logs (redacted there); never sent to a client. */
  readonly cause?: unknown;
}

export class AuthError extends Error {
  readonly status: number;
  readonly details?: readonly FieldIssue[];
  readonly reasons?: readonly string[];
  readonly retryAfterSeconds?: number;

  constructor(readonly code: AuthErrorCode, message: string, options: AuthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AuthError";
    this.status = AUTH_ERROR_STATUS[code];
    this.details = options.details;
    this.reasons = options.reasons;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /**
   * The project's HTTP error body (shared/http/errors.ts): `{ error: { code, message, details } }`.
   * details: the offending fields (validation_failed), `{ reasons }` (weak_password) or
   * `{ retry_after }` (rate_limited). Never the cause.
   */
  toBody(): ErrorBody {
    return errorBody(this.code, this.message, this.#details());
  }

  #details(): unknown {
    if (this.details) return this.details;
    if (this.reasons) return { reasons: this.reasons };
    if (this.retryAfterSeconds !== undefined) return { retry_after: this.retryAfterSeconds };
    return undefined;
  }

  /** Headers that belong with the body (Retry-After for 429). */
  headers(): Record<string, string> {
    return this.retryAfterSeconds !== undefined
      ? { "Retry-After": String(this.retryAfterSeconds) }
      : {};
  }

  toResponse(): Response {
    return errorResponse(this.status, this.code, this.message, this.#details(), this.headers());
  }
}

/** The one message for a failed login, whatever the reason (unknown email or wrong password). */
export const INVALID_CREDENTIALS_MESSAGE = "Invalid login credentials";

export const invalidCredentials = (cause?: unknown) =>
  new AuthError("invalid_credentials", INVALID_CREDENTIALS_MESSAGE, { cause });

/**
 * GoTrue's answers for an account that exists but may not log in (supabase/auth
 * internal/api/token.go, ResourceOwnerPasswordGrant): `400 user_banned` "User is banned" is
 * checked BEFORE the password, `400 email_not_confirmed` "Email not confirmed" only AFTER a
 * correct password (so it is no enumeration oracle). Both login paths answer with these codes.
 */
export const userBanned = (cause?: unknown) =>
  new AuthError("user_banned", "User is banned", { cause });

export const emailNotConfirmed = (cause?: unknown) =>
  new AuthError("email_not_confirmed", "Email not confirmed", { cause });

export const userAlreadyExists = (cause?: unknown) =>
  new AuthError("user_already_exists", "User already registered", { cause });

export const authUnavailable = (message: string, cause?: unknown) =>
  new AuthError("auth_unavailable", message, { cause });

export const invalidToken = (message = "Invalid or expired access token", cause?: unknown) =>
  new AuthError("invalid_token", message, { cause });

export function validationFailed(details: readonly FieldIssue[]): AuthError {
  const fields = details.map((issue) => issue.path).join(", ");
  return new AuthError("validation_failed", `Invalid input: ${fields}`, { details });
}

/**
 * Outcomes that are an answer about the user, not about the backend's health: the other system
 * would say the same, so neither login fallback nor a dual write should treat them as an outage.
 */
export function isDefinitive(error: AuthError): boolean {
  return error.code !== "auth_unavailable";
}

/** Anything thrown that is not an AuthError is an outage of the backend that threw it. */
export function asAuthError(error: unknown, system: string): AuthError {
  if (error instanceof AuthError) return error;
  return authUnavailable(`${system} is unavailable`, error);
}
