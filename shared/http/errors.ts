/**
 * The project's one HTTP error shape, `{ "error": { "code", "message", "details"? } }`, and the
 * mapping from AppError codes (shared/result.ts) to HTTP statuses. Server-side failures (5xx)
 * never expose their internal message or details: the client gets a generic message and the
 * request id; the real cause goes to the log and Sentry.
 */
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { reportFault } from "../observability/faults.ts";
import { redactSecrets } from "../observability/redact.ts";
import { AppError, type ErrorCode, type Result } from "../result.ts";

/** AppError codes plus the ones only the HTTP layer produces. */
export type HttpErrorCode =
  | ErrorCode
  | "bad_request"
  | "invalid_json"
  | "unsupported_media_type"
  | "payload_too_large"
  | "method_not_allowed"
  | "not_implemented";

export const STATUS_BY_CODE: Readonly<Record<HttpErrorCode, ContentfulStatusCode>> = {
  bad_request: 400,
  validation_failed: 400,
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  database_error: 500,
  not_implemented: 501,
  unavailable: 503,
  timeout: 504,
};

/** What a client sees instead of a server-side failure's own message. */
const PUBLIC_MESSAGE: Partial<Record<HttpErrorCode, string>> = {
  internal_error: "Internal server error",
  database_error: "Internal server error",
  unavailable: "Service temporarily unavailable",
  timeout: "The request timed out",
};

/** The message a client sees for a server-side failure with this code. */
export function publicMessage(code: string): string {
  return PUBLIC_MESSAGE[code as HttpErrorCode] ?? "Internal server error";
}

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly details?: unknown;
  };
}

/** An error that already knows its HTTP response. Throw it from a route, or return toResponse(). */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: HttpErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = "HttpError";
  }

  toResponse(): Response {
    return errorResponse(this.status, this.code, this.message, this.details, this.headers);
  }
}

export function statusForCode(code: HttpErrorCode): ContentfulStatusCode {
  return STATUS_BY_CODE[code] ?? 500;
}

export function errorBody(code: string, message: string, details?: unknown): ErrorBody {
  return {
    error: {
      code,
      message,
      // A safety net: details never carry a secret, even when they echo input back.
      ...(details !== undefined && { details: redactSecrets(details) }),
    },
  };
}

export function errorResponse(
  status: number,
  code: string,
  message: string,
  details?: unknown,
  headers?: Readonly<Record<string, string>>,
): Response {
  return Response.json(errorBody(code, message, details), { status, headers });
}

const MAX_PATH_IN_MESSAGE = 200;

/** 404 in the one error shape, for any app (the base app's and mounted sub-apps' notFound). */
export function notFoundResponse(method: string, path: string): Response {
  return errorResponse(404, "not_found", `No route for ${method} ${clippedPath(path)}`);
}

/** A path short enough to echo in a message. */
export function clippedPath(path: string): string {
  return path.length > MAX_PATH_IN_MESSAGE ? `${path.slice(0, MAX_PATH_IN_MESSAGE)}…` : path;
}

/** SQLSTATEs whose cause is the request's data, not the server (see shared/db/database-errors). */
const INPUT_SQLSTATE = /^(22|23|40|P0001$|57014$)/;
const UNKNOWN_OBJECT = /^unknown (table|column|function)\b/;

/**
 * A data-layer error no client input can cause: the functions name their tables, columns and
 * database functions in code, so an unknown one (a missing table, a migration not applied), a
 * syntax or permission error (SQLSTATE class 42) or any other non-input SQLSTATE is the server's
 * fault, although the data layer reports an unknown name as `validation_failed` (it cannot tell
 * who picked the name).
 */
export function isDatabaseFault(error: AppError): boolean {
  const details = error.details as { sqlstate?: unknown; table?: unknown } | undefined;
  if (typeof details?.sqlstate === "string") return !INPUT_SQLSTATE.test(details.sqlstate);
  return error.code === "validation_failed" && details?.table !== undefined &&
    UNKNOWN_OBJECT.test(error.message);
}

/**
 * The code the client is answered with: a database fault becomes `database_error` (500), or
 * stays `unavailable` / `timeout`; anything else keeps its own code.
 */
export function publicErrorCode(error: AppError): ErrorCode {
  if (statusForCode(error.code) >= 500) return error.code;
  return isDatabaseFault(error) ? "database_error" : error.code;
}

/**
 * The HTTP form of an AppError. 4xx keep their message and details (they describe the client's
 * input); 5xx (database faults included) are replaced by a generic message without details.
 */
export function appErrorToHttpError(error: AppError): HttpError {
  const code = publicErrorCode(error);
  if (code !== error.code) return new HttpError(500, code, publicMessage(code));
  const status = statusForCode(error.code);
  if (status >= 500) {
    return new HttpError(status, error.code, PUBLIC_MESSAGE[error.code] ?? "Internal server error");
  }
  return new HttpError(status, error.code, error.message, error.details);
}

export function appErrorResponse(error: AppError): Response {
  return appErrorToHttpError(error).toResponse();
}

const INTERNAL_DETAIL_KEYS = new Set(["sqlstate", "table", "column", "constraint"]);

/**
 * The body of an AppError a route answers with, `{ code, message, details? }`, and its status.
 * 4xx keep message and details; a database fault becomes 500 `database_error`; `unavailable` and
 * `timeout` keep their message and details without the database's internals (SQLSTATE, table,
 * column, constraint); other 5xx get a generic message. Every 5xx is reported to the request's
 * fault sink (one log line and one Sentry event in the request's scope).
 */
export function routeError(
  error: AppError,
): { status: ContentfulStatusCode; body: ErrorBody["error"] } {
  const code = publicErrorCode(error);
  const status = statusForCode(code);
  if (status < 500) return { status, body: { code, message: error.message, ...detailsOf(error) } };
  reportFault(error, { code });
  if (code !== "unavailable" && code !== "timeout") {
    return { status, body: { code, message: publicMessage(code) } };
  }
  const details = error.details && typeof error.details === "object"
    ? Object.fromEntries(
      Object.entries(error.details).filter(([key]) => !INTERNAL_DETAIL_KEYS.has(key)),
    )
    : undefined;
  return {
    status,
    body: {
      code,
      message: error.message,
      ...(details && Object.keys(details).length > 0 && { details }),
    },
  };
}

function detailsOf(error: AppError): { details?: unknown } {
  return error.details === undefined ? {} : { details: error.details };
}

/** The value as JSON with `successStatus` (undefined becomes null), or the mapped error. */
export function resultResponse<T>(
  result: Result<T, AppError>,
  successStatus: ContentfulStatusCode = 200,
): Response {
  return result.ok
    ? Response.json(result.value ?? null, { status: successStatus })
    : appErrorResponse(result.error);
}

const CODE_BY_STATUS: Readonly<Record<number, HttpErrorCode>> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "rate_limited",
  501: "not_implemented",
  503: "unavailable",
  504: "timeout",
};

/**
 * Errors that carry their own client-facing meaning: HttpError, AppError and Hono's
 * HTTPException. Anything else is an unexpected failure (null): the caller answers 500.
 */
export function toHttpError(error: unknown): HttpError | null {
  if (error instanceof HttpError) return error;
  if (error instanceof AppError) return appErrorToHttpError(error);
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    const code = CODE_BY_STATUS[status] ?? (status >= 500 ? "internal_error" : "bad_request");
    const message = status >= 500
      ? PUBLIC_MESSAGE[code] ?? "Internal server error"
      : error.message || "Bad request";
    return new HttpError(status, code, message);
  }
  return null;
}
