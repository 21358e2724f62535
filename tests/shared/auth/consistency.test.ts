import assert from "node:assert/strict";
import { canonicalJson, compareUsers } from "../../../shared/auth/consistency.ts";

const user = (over: Record<string, unknown> = {}) => ({
  id: "u1",
  email: "ada@example.com",
  user_metadata: { plan: "pro", prefs: { a: 1, b: 2 } },
  created_at: "2026-01-01T00:00:00.000Z",
  ...over,
});

Deno.test("equal users: key order, created_at and Supabase's own metadata keys do not count", () => {
  const supabase = user({
    user_metadata: { prefs: { b: 2, a: 1 }, plan: "pro", email_verified: true },
  });
  const betterAuth = user({ created_at: "2026-01-01T00:00:00.123Z" });
  assert.deepEqual(compareUsers(supabase, betterAuth), []);
});

Deno.test("differences in id, email and metadata are reported, without values", () => {
  const found = compareUsers(
    user(),
    user({ id: "u2", email: "eve@example.com", user_metadata: { plan: "free" } }),
  );
  assert.deepEqual(found.map((d) => d.field), ["id", "email", "user_metadata"]);
  assert.ok(!JSON.stringify(found).includes("eve@"));
});

Deno.test("canonicalJson sorts keys at every depth", () => {
  assert.equal(canonicalJson({ b: [{ d: 1, c: 2 }], a: null }), '{"a":null,"b":[{"c":2,"d":1}]}');
});
