/**
 * One translation from PostgreSQL errors (SQLSTATE) to AppError codes, shared by every provider:
 * the SQL providers read the fields off the driver's error, the supabase provider off PostgREST's
 * `{code, message, details, hint}` body. Messages are built from the SQLSTATE and object names
 * only: PostgreSQL's DETAIL (which quotes row values, e.g. the duplicate email) never travels.
 */
import { AppError, type ErrorCode } from "../result.ts";

/** The parts of a PostgreSQL error this module reads; both drivers and PostgREST provide them. */
export interface PgErrorFields {
  readonly code: string;
  readonly message: string;
  readonly constraint?: string;
  readonly table?: string;
  readonly column?: string;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** Connection-level failures of postgres.js / Deno sockets (not SQLSTATEs). */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

function stringField(value: unknown, key: string): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === "string" && field !== "" ? field : undefined;
}

/** The PostgreSQL error fields of a PGlite `DatabaseError` or a postgres.js `PostgresError`. */
export function pgErrorFields(error: unknown): PgErrorFields | undefined {
  const code = stringField(error, "code");
  if (!code || !SQLSTATE.test(code) || !(error instanceof Error)) return undefined;
  return {
    code,
    message: error.message,
    constraint: stringField(error, "constraint") ?? stringField(error, "constraint_name"),
    table: stringField(error, "table") ?? stringField(error, "table_name"),
    column: stringField(error, "column") ?? stringField(error, "column_name"),
  };
}

function quoted(pattern: RegExp, text: string): string | undefined {
  return pattern.exec(text)?.[1];
}

/** Drops the `: "value"` tail PostgreSQL appends to input-syntax errors (it may be a secret). */
function withoutQuotedValue(message: string): string {
  return message.replace(/:\s*".*$/s, "");
}

function make(code: ErrorCode, message: string, details: Record<string, unknown>): AppError {
  const clean = Object.fromEntries(Object.entries(details).filter(([, v]) => v !== undefined));
  return new AppError(code, message, clean);
}

/** Maps a PostgreSQL error to the AppError the data layer returns. */
export function appErrorFromPg(fields: PgErrorFields): AppError {
  const { code: sqlstate, message } = fields;
  const constraint = fields.constraint ?? quoted(/constraint "([^"]+)"/, message);
  const base = { sqlstate, table: fields.table };
  switch (sqlstate) {
    case "23505":
      return make("conflict", `duplicate value violates unique constraint "${constraint}"`, {
        ...base,
        constraint,
      });
    case "23503":
      return make("validation_failed", `foreign key constraint "${constraint}" violated`, {
        ...base,
        constraint,
      });
    case "23514":
      return make("validation_failed", `check constraint "${constraint}" violated`, {
        ...base,
        constraint,
      });
    case "23502": {
      const column = fields.column ?? quoted(/column "([^"]+)"/, message);
      return make("validation_failed", `column "${column}" must not be null`, {
        ...base,
        column,
      });
    }
    case "23P01":
      return make("conflict", `exclusion constraint "${constraint}" violated`, {
        ...base,
        constraint,
      });
    case "42703": {
      const column = fields.column ??
        quoted(/column (?:[^ ]+\.)?"?([^" ]+)"? does not exist/, message);
      return make("validation_failed", `unknown column "${column}"`, { ...base, column });
    }
    case "42P01": {
      const table = quoted(/relation "([^"]+)" does not exist/, message);
      return make("validation_failed", `unknown table "${table}"`, { sqlstate, table });
    }
    case "42883":
      return make("validation_failed", withoutQuotedValue(message), base);
    case "42501":
      return make("forbidden", "permission denied", base);
    case "40001":
    case "40P01":
      return make("database_error", "transaction conflict; retry the operation", {
        ...base,
        retryable: true,
      });
    case "57014":
      return make("timeout", "statement timed out", { ...base, retryable: true });
    case "P0001":
      // RAISE EXCEPTION in a database function: its message is written for the caller.
      return make("validation_failed", message, base);
  }
  if (sqlstate.startsWith("22")) {
    return make("validation_failed", withoutQuotedValue(message), base);
  }
  if (sqlstate.startsWith("08") || sqlstate.startsWith("53") || sqlstate.startsWith("57P")) {
    return make("unavailable", "database unavailable", { ...base, retryable: true });
  }
  return make("database_error", "database error", base);
}

/**
 * Any error thrown while talking to the database, as an AppError: AppErrors pass through,
 * PostgreSQL errors are mapped, connection failures become `unavailable`. Anything else is a
 * programming error and is rethrown so it surfaces instead of hiding inside a Result.
 */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const fields = pgErrorFields(error);
  if (fields) return appErrorFromPg(fields);
  const code = stringField(error, "code");
  if (code && CONNECTION_CODES.has(code)) {
    return new AppError("unavailable", "database connection failed", {
      reason: code,
      retryable: true,
    }, { cause: error });
  }
  if (error instanceof Deno.errors.ConnectionRefused || error instanceof Deno.errors.TimedOut) {
    return new AppError("unavailable", "database connection failed", { retryable: true }, {
      cause: error,
    });
  }
  throw error;
}
