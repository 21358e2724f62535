import assert from "node:assert/strict";
import { appErrorFromPostgrest } from "../../../shared/db/postgrest-errors.ts";

Deno.test("PostgREST errors map to the SQL providers' AppErrors", () => {
  const cases: [Parameters<typeof appErrorFromPostgrest>[0], string, RegExp][] = [
    [
      {
        status: 404,
        error: {
          code: "PGRST205",
          message: "Could not find the table 'public.x' in the schema cache",
        },
      },
      "validation_failed",
      /unknown table "x"/,
    ],
    [
      {
        status: 400,
        error: {
          code: "PGRST204",
          message: "Could not find the 'colour' column of 'x' in the schema cache",
        },
      },
      "validation_failed",
      /unknown column "colour" in table "x"/,
    ],
    [
      { status: 400, error: { code: "42703", message: "column x.colour does not exist" } },
      "validation_failed",
      /unknown column "colour"/,
    ],
    [
      { status: 404, error: { code: "PGRST202", message: "Could not find the function" } },
      "validation_failed",
      /unknown function "f" with arguments \(a\)/,
    ],
    [
      {
        status: 409,
        error: { code: "23505", message: 'duplicate key value violates unique constraint "x_key"' },
      },
      "conflict",
      /"x_key"/,
    ],
    [
      {
        status: 409,
        error: {
          code: "23503",
          message: 'insert or update on table "c" violates foreign key constraint "c_fkey"',
        },
      },
      "validation_failed",
      /c_fkey/,
    ],
    [
      {
        status: 400,
        error: { code: "22P02", message: 'invalid input syntax for type integer: "hunter2"' },
      },
      "validation_failed",
      /^invalid input syntax for type integer$/,
    ],
    [
      { status: 401, error: { code: "42501", message: "permission denied for table x" } },
      "forbidden",
      /permission denied/,
    ],
    [
      { status: 500, error: { code: "40001", message: "could not serialize access" } },
      "database_error",
      /retry/,
    ],
    [
      { status: 401, error: { code: "PGRST303", message: "JWT expired" } },
      "unauthorized",
      /JWT expired/,
    ],
    [{ status: 401, error: { message: "Invalid API key" } }, "unauthorized", /Invalid API key/],
    [
      { status: 400, error: { code: "PGRST100", message: "failed to parse filter" } },
      "validation_failed",
      /parse/,
    ],
    [
      { status: 0, error: { code: "", message: "TypeError: fetch failed" } },
      "unavailable",
      /unreachable/,
    ],
    [{ status: 503, error: { message: "schema cache loading" } }, "unavailable", /schema cache/],
  ];
  for (const [reply, code, message] of cases) {
    const error = appErrorFromPostgrest(reply, { table: "x", fn: "f", args: ["a"] });
    assert.equal(error.code, code, JSON.stringify(reply));
    assert.match(error.message, message, JSON.stringify(reply));
  }
});
