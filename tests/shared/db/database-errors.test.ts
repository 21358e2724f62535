import assert from "node:assert/strict";
import { appErrorFromPg, pgErrorFields, toAppError } from "../../../shared/db/database-errors.ts";
import { openPostgres } from "../../../shared/db/postgres-client.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { AppError } from "../../../shared/result.ts";
import { freshPglite, TEST_DATABASE_URL } from "../../helpers/db.ts";

/** Statements that fail with real PostgreSQL errors, and the AppError each must become. */
const CASES: { sql: string; code: AppError["code"]; message: RegExp; retryable?: boolean }[] = [
  {
    sql: "INSERT INTO err_t (email) VALUES ('secret@example.com'), ('secret@example.com')",
    code: "conflict",
    message: /^duplicate value violates unique constraint "err_t_email_key"$/,
  },
  {
    sql: "INSERT INTO err_child (parent) VALUES (42)",
    code: "validation_failed",
    message: /foreign key constraint "err_child_parent_fkey"/,
  },
  {
    sql: "INSERT INTO err_t (email, qty) VALUES ('a@b.c', -1)",
    code: "validation_failed",
    message: /check constraint "err_t_qty_check"/,
  },
  {
    sql: "INSERT INTO err_t (email) VALUES (NULL)",
    code: "validation_failed",
    message: /column "email" must not be null/,
  },
  {
    sql: "SELECT 'hunter2'::int",
    code: "validation_failed",
    message: /^invalid input syntax for type integer$/,
  },
  { sql: "SELECT * FROM err_missing", code: "validation_failed", message: /err_missing/ },
  { sql: "SELECT nope FROM err_t", code: "validation_failed", message: /unknown column "nope"/ },
  {
    sql:
      "DO $$ BEGIN RAISE EXCEPTION 'could not serialize' USING ERRCODE = 'serialization_failure'; END $$",
    code: "database_error",
    message: /retry/,
    retryable: true,
  },
  {
    sql: "DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = 'deadlock_detected'; END $$",
    code: "database_error",
    message: /retry/,
    retryable: true,
  },
  {
    sql: "DO $$ BEGIN RAISE EXCEPTION 'slow' USING ERRCODE = 'query_canceled'; END $$",
    code: "timeout",
    message: /timed out/,
    retryable: true,
  },
  {
    sql: "DO $$ BEGIN RAISE EXCEPTION 'too many' USING ERRCODE = 'too_many_connections'; END $$",
    code: "unavailable",
    message: /unavailable/,
    retryable: true,
  },
  {
    sql: "DO $$ BEGIN RAISE EXCEPTION 'quantity must be positive'; END $$",
    code: "validation_failed",
    message: /^quantity must be positive$/,
  },
  {
    sql: "DO $$ BEGIN RAISE EXCEPTION 'no' USING ERRCODE = 'insufficient_privilege'; END $$",
    code: "forbidden",
    message: /permission denied/,
  },
  {
    sql: "DO $$ BEGIN RAISE EXCEPTION 'odd' USING ERRCODE = 'XX000'; END $$",
    code: "database_error",
    message: /^database error$/,
  },
];

async function checkCases(db: SqlClient) {
  await db.exec(`
    CREATE TEMP TABLE err_t (id serial PRIMARY KEY, email text NOT NULL UNIQUE, qty int CHECK (qty >= 0));
    CREATE TEMP TABLE err_child (parent int REFERENCES err_t (id));`);
  for (const { sql, code, message, retryable } of CASES) {
    const error = await db.query(sql).then(() => undefined, (e: unknown) => e);
    assert.ok(error, `${sql} should fail`);
    assert.ok(pgErrorFields(error), `${sql}: a PostgreSQL error`);
    const mapped = toAppError(error);
    assert.equal(mapped.code, code, `${sql}: ${mapped.message}`);
    assert.match(mapped.message, message, sql);
    const details = mapped.details as Record<string, unknown>;
    assert.equal(typeof details.sqlstate, "string");
    assert.equal(details.retryable, retryable, sql);
    assert.doesNotMatch(JSON.stringify({ m: mapped.message, details }), /secret@|hunter2/);
  }
}

Deno.test("PGlite errors map to AppError codes without leaking row values", async () => {
  const db = await freshPglite();
  try {
    await checkCases(db);
  } finally {
    await db.close();
  }
});

Deno.test({
  name: "postgres.js errors map to the same AppError codes",
  ignore: !TEST_DATABASE_URL,
  fn: async () => {
    // One connection, so the temp tables stay visible; nothing outlives the session.
    const db = openPostgres({ url: TEST_DATABASE_URL!, max: 1 });
    try {
      await checkCases(db);
    } finally {
      await db.close();
    }
  },
});

Deno.test("connection failures are unavailable; AppErrors pass; other errors are rethrown", async () => {
  const dead = openPostgres({
    url: "postgres://nobody@127.0.0.1:1/none",
    connectTimeoutSeconds: 2,
  });
  try {
    const error = await dead.query("SELECT 1").then(() => undefined, (e: unknown) => e);
    const mapped = toAppError(error);
    assert.equal(mapped.code, "unavailable");
    assert.equal((mapped.details as { retryable: boolean }).retryable, true);
  } finally {
    await dead.close();
  }
  const own = new AppError("not_found", "x");
  assert.equal(toAppError(own), own);
  assert.throws(() => toAppError(new TypeError("bug")), TypeError);
  assert.throws(() => toAppError("string"));
});

Deno.test("PostgREST-style fields (no constraint field) map the same way", () => {
  const conflict = appErrorFromPg({
    code: "23505",
    message: 'duplicate key value violates unique constraint "users_email_key"',
  });
  assert.equal(conflict.code, "conflict");
  assert.deepEqual(conflict.details, { sqlstate: "23505", constraint: "users_email_key" });
  const column = appErrorFromPg({ code: "42703", message: "column items.colour does not exist" });
  assert.equal(column.message, 'unknown column "colour"');
});
