import assert from "node:assert/strict";
import {
  pgrst,
  pgrstErrorFromDatabase,
  statusForSqlState,
} from "../../../../local/standin/rest/errors.ts";
import { freshPglite } from "../../../helpers/db.ts";

Deno.test("SQLSTATEs map to PostgREST's HTTP statuses", () => {
  const table: [string, number][] = [
    ["08006", 503],
    ["09000", 500],
    ["0L000", 403],
    ["0P000", 403],
    ["23503", 409],
    ["23505", 409],
    ["23502", 400],
    ["23514", 400],
    ["22P02", 400],
    ["25006", 405],
    ["25P02", 500],
    ["28000", 403],
    ["2D000", 500],
    ["38000", 500],
    ["39000", 500],
    ["3B000", 500],
    ["40001", 500],
    ["53400", 500],
    ["53300", 503],
    ["54000", 500],
    ["55000", 500],
    ["57014", 500],
    ["58000", 500],
    ["F0000", 500],
    ["HV000", 500],
    ["P0001", 400],
    ["P0002", 500],
    ["XX000", 500],
    ["42883", 404],
    ["42P01", 404],
    ["42P17", 500],
    ["42703", 400],
    ["21000", 400],
  ];
  for (const [sqlstate, status] of table) {
    assert.equal(statusForSqlState(sqlstate, false), status, sqlstate);
  }
  assert.equal(statusForSqlState("42501", true), 401);
  assert.equal(statusForSqlState("42501", false), 403);
});

Deno.test("database errors keep PostgreSQL's message, detail and hint, as PostgREST forwards them", async () => {
  const db = await freshPglite();
  try {
    await db.exec("CREATE TABLE e (id int PRIMARY KEY)");
    await db.query("INSERT INTO e VALUES (1)");
    const error = await db.query("INSERT INTO e VALUES (1)").then(() => null, (e: unknown) => e);
    const mapped = pgrstErrorFromDatabase(error, false)!;
    assert.equal(mapped.status, 409);
    assert.deepEqual(mapped.body, {
      code: "23505",
      details: "Key (id)=(1) already exists.",
      hint: null,
      message: 'duplicate key value violates unique constraint "e_pkey"',
    });
    assert.equal(pgrstErrorFromDatabase(new Error("not a database error"), false), undefined);
  } finally {
    await db.close();
  }
});

Deno.test("PostgREST's own errors and the gateway's have their documented shapes", () => {
  assert.deepEqual(pgrst.singular(0).body, {
    code: "PGRST116",
    details: "The result contains 0 rows",
    hint: null,
    message: "Cannot coerce the result to a single JSON object",
  });
  assert.equal(pgrst.tableNotFound("public", "x").status, 404);
  assert.equal(
    pgrst.functionNotFound("public", "f", ["b", "a"]).message,
    "Could not find the function public.f(a, b) in the schema cache",
  );
  assert.deepEqual(pgrst.noApiKey().body, {
    message: "No API key found in request",
    hint: "No `apikey` request header or url param was found.",
  });
  assert.equal(pgrst.jwtInvalid(true).code, "PGRST303");
  assert.match(pgrst.jwtInvalid(false).headers["WWW-Authenticate"] ?? "", /invalid_token/);
});
