/**
 * PostgREST errors (and failed fetches) as the AppErrors the SQL providers give for the same
 * fault: schema-cache misses name the table, column or function; SQLSTATEs go through the shared
 * table in database-errors.ts.
 */
import { AppError } from "../result.ts";
import { appErrorFromPg } from "./database-errors.ts";
import { unknownColumn } from "./postgrest-filters.ts";

/** What postgrest-js resolves every request to. */
export interface PostgrestReply<T> {
  readonly data: T | null;
  readonly error: { code?: string; message: string; details?: string | null } | null;
  readonly count?: number | null;
  readonly status: number;
}

/** Names the failed request was about, for the error message. */
export interface PostgrestErrorContext {
  readonly table?: string;
  readonly fn?: string;
  readonly args?: readonly string[];
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** Maps a PostgREST error (or a failed fetch) to the AppError the SQL providers would give. */
export function appErrorFromPostgrest(
  reply: Pick<PostgrestReply<unknown>, "error" | "status">,
  context: PostgrestErrorContext = {},
): AppError {
  const error = reply.error ?? { message: `HTTP ${reply.status}` };
  const code = error.code ?? "";
  const message = error.message;
  switch (code) {
    case "PGRST205":
    case "42P01":
      return new AppError("validation_failed", `unknown table "${context.table}"`, {
        table: context.table,
      });
    case "PGRST204": {
      const column = /Could not find the '(.+)' column of/.exec(message)?.[1] ?? "";
      return unknownColumn(context.table, column);
    }
    case "42703": {
      const column = /column (?:[^ ]+\.)?"?([^" ]+)"? does not exist/.exec(message)?.[1] ?? "";
      return unknownColumn(context.table, column);
    }
    case "PGRST202":
      return new AppError(
        "validation_failed",
        `unknown function "${context.fn}" with arguments (${(context.args ?? []).join(", ")})`,
        { function: context.fn, arguments: context.args },
      );
    case "PGRST301":
    case "PGRST302":
    case "PGRST303":
      return new AppError("unauthorized", message, { code });
  }
  if (code.startsWith("PGRST1")) return new AppError("validation_failed", message, { code });
  if (SQLSTATE.test(code)) return appErrorFromPg({ code, message });
  if (reply.status === 0) {
    return new AppError("unavailable", "PostgREST unreachable", { retryable: true });
  }
  if (reply.status === 401) return new AppError("unauthorized", message, { status: 401 });
  if (reply.status === 403) return new AppError("forbidden", message, { status: 403 });
  if (reply.status >= 500) {
    return new AppError("unavailable", message, { status: reply.status, retryable: true });
  }
  return new AppError("database_error", message, { status: reply.status, code });
}
