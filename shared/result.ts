/** A typed success-or-failure value: expected failures travel as data, not as exceptions. */
export type Result<T, E = AppError> = { readonly ok: true; readonly value: T } | {
  readonly ok: false;
  readonly error: E;
};

export function ok<T>(value: T): Result<T, never> {
  return { ok: true, value };
}

export function err<E>(error: E): Result<never, E> {
  return { ok: false, error };
}

/** Error codes shared by every layer; HTTP status is derived from the code at the edge. */
export type ErrorCode =
  | "validation_failed"
  | "not_found"
  | "conflict"
  | "unauthorized"
  | "forbidden"
  | "rate_limited"
  | "unavailable"
  | "timeout"
  | "database_error"
  | "internal_error";

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "AppError";
  }
}

/** Unwraps a Result, throwing its error: for call sites where failure is truly exceptional. */
export function unwrap<T, E>(result: Result<T, E>): T {
  if (result.ok) return result.value;
  throw result.error;
}
