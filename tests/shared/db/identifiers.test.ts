import assert from "node:assert/strict";
import { isIdentifier, quoteIdentifier } from "../../../shared/db/identifiers.ts";

Deno.test("plain and schema-qualified identifiers are quoted", () => {
  assert.equal(quoteIdentifier("users"), '"users"');
  assert.equal(quoteIdentifier("auth.users"), '"auth"."users"');
  assert.equal(quoteIdentifier("userId"), '"userId"');
});

Deno.test("anything that could smuggle SQL is rejected", () => {
  for (
    const bad of [
      "",
      'users"; DROP TABLE x; --',
      "a.b.c",
      "1abc",
      "name with space",
      "x".repeat(64),
      "tbl;",
      "a-b",
    ]
  ) {
    assert.equal(isIdentifier(bad) && !bad.includes("."), false, bad);
    assert.throws(() => quoteIdentifier(bad), /invalid SQL identifier/, bad);
  }
});
