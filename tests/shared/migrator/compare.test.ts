import assert from "node:assert/strict";
import {
  BODY_PATH,
  compareResponses,
  DEFAULT_VOLATILE_PATHS,
  differingPaths,
  PathMatcher,
  readComparableBody,
  STATUS_PATH,
} from "../../../shared/migrator/compare.ts";

Deno.test("compare: wildcard path patterns", () => {
  const m = new PathMatcher(["user.id", "session.*", "*.created_at", "**.token"]);
  assert.ok(m.matches(["user", "id"]));
  assert.ok(!m.matches(["user", "email"]));
  assert.ok(m.matches(["session", "expires"]));
  assert.ok(!m.matches(["session"]));
  assert.ok(!m.matches(["session", "a", "b"]));
  assert.ok(m.matches(["user", "created_at"]));
  assert.ok(!m.matches(["a", "b", "created_at"]));
  assert.ok(m.matches(["token"]));
  assert.ok(m.matches(["a", "0", "b", "token"]));
});

Deno.test("compare: differing paths across objects and arrays, key order ignored", () => {
  const none = new PathMatcher([]);
  assert.deepEqual(differingPaths({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }, none), []);
  assert.deepEqual(
    differingPaths(
      { user: { email: "a", roles: ["x"] }, extra: null },
      { user: { email: "b", roles: ["x", "y"] } },
      none,
    ),
    ["extra", "user.email", "user.roles.1"],
  );
  assert.deepEqual(differingPaths({ a: 1 }, [1], none), [BODY_PATH]);
  assert.deepEqual(differingPaths({ a: { b: 1 } }, { a: "1" }, none), ["a"]);
});

Deno.test("compare: volatile paths (defaults + policy) are ignored", () => {
  const matcher = new PathMatcher([...DEFAULT_VOLATILE_PATHS, "user.id", "session.*"]);
  const a = {
    user: { id: "sb-1", email: "a@x.io", created_at: "2020" },
    session: { access_token: "t1", expires_at: 1 },
    request_id: "r1",
  };
  const b = {
    user: { id: "ba-9", email: "a@x.io", created_at: "2026" },
    session: { access_token: "t2", expires_at: 2 },
    request_id: "r2",
  };
  assert.deepEqual(differingPaths(a, b, matcher), []);
  assert.deepEqual(differingPaths(a, { ...b, user: { ...b.user, email: "B" } }, matcher), [
    "user.email",
  ]);
});

Deno.test("compare: status and non-JSON bodies", async () => {
  const m = new PathMatcher([]);
  const json = await readComparableBody(Response.json({ ok: true }), 1024);
  const text = await readComparableBody(new Response("hello"), 1024);
  assert.deepEqual(json, { json: true, value: { ok: true }, truncated: false });
  assert.deepEqual(text, { json: false, value: "hello", truncated: false });
  assert.deepEqual(
    compareResponses({ status: 200, body: json }, { status: 201, body: json }, m),
    { matched: false, differingPaths: [STATUS_PATH] },
  );
  assert.deepEqual(
    compareResponses({ status: 200, body: json }, { status: 200, body: text }, m).differingPaths,
    [BODY_PATH],
  );
  const cut = await readComparableBody(new Response("x".repeat(100)), 10);
  assert.deepEqual(cut, { json: false, value: "x".repeat(10), truncated: true });
});
