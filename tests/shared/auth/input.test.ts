import assert from "node:assert/strict";
import { parseSignInInput, parseSignUpInput } from "../../../shared/auth/input.ts";

Deno.test("signup input: emails are trimmed, NFC-normalised and lower-cased", () => {
  const parsed = parseSignUpInput({
    email: "  Ada@Example.COM ",
    password: "pw",
    metadata: { a: 1 },
  });
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value, { email: "ada@example.com", password: "pw", metadata: { a: 1 } });
  const viaData = parseSignUpInput({ email: "a@b.co", password: "pw", data: { b: 2 } });
  assert.ok(viaData.ok);
  assert.deepEqual(viaData.value.metadata, { b: 2 });
});

Deno.test("bad input: every offending field is named, never a throw", () => {
  const cases: [unknown, string[]][] = [
    [null, ["body"]],
    [[], ["body"]],
    ["text", ["body"]],
    [{}, ["email", "password"]],
    [{ email: 42, password: true }, ["email", "password"]],
    [{ email: "not-an-email", password: "pw" }, ["email"]],
    [{ email: "a@b.co", password: "" }, ["password"]],
    [{ email: "a@b.co", password: "pw", metadata: "x" }, ["metadata"]],
    [{ email: "a@b.co", password: "pw", metadata: [1, 2] }, ["metadata"]],
    [{ email: `${"a".repeat(250)}@b.co`, password: "pw" }, ["email"]],
    [{ email: "a@b.co", password: "pw", metadata: { big: "x".repeat(9000) } }, ["metadata"]],
    [{ email: "a@b.co", password: "pw", metadata: { a: { b: { c: { d: { e: { f: 1 } } } } } } }, [
      "metadata",
    ]],
    [{ email: "a@b.co", password: "pw", metadata: {}, data: {} }, ["data"]],
  ];
  for (const [body, paths] of cases) {
    const parsed = parseSignUpInput(body);
    assert.ok(!parsed.ok, JSON.stringify(body)?.slice(0, 80));
    assert.equal(parsed.error.code, "validation_failed");
    assert.equal(parsed.error.status, 400);
    assert.deepEqual(
      parsed.error.details?.map((d) => d.path),
      paths,
      JSON.stringify(body)?.slice(0, 80),
    );
  }
});

Deno.test("injection and unicode strings are data, not code", () => {
  for (const email of ['x\'; DROP TABLE "user"; --@b.co', "<script>@b.co", "a@b.co\u0000"]) {
    const parsed = parseSignUpInput({ email, password: "pw" });
    assert.ok(!parsed.ok, email);
    assert.equal(parsed.error.code, "validation_failed");
  }
  const unicode = parseSignUpInput({
    email: "zoe@example.com",
    password: "pässwörd-🔑",
    metadata: { name: "Zoë 🚀", sql: "'; DROP TABLE users; --", "__proto__": { admin: true } },
  });
  assert.ok(unicode.ok);
  assert.equal(unicode.value.password, "pässwörd-🔑");
  assert.equal(({} as Record<string, unknown>).admin, undefined, "no prototype pollution");
});

Deno.test("login input needs an email and a password", () => {
  assert.ok(parseSignInInput({ email: "A@B.co", password: "x" }).ok);
  const bad = parseSignInInput({ email: "a@b.co" });
  assert.ok(!bad.ok);
  assert.deepEqual(bad.error.details, [{ path: "password", message: "password is required" }]);
});
