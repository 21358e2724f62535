import assert from "node:assert/strict";
import { sign } from "hono/jwt";
import { GoTrueError } from "../../../../local/standin/auth/errors.ts";
import { bearerToken, clientIp, requireAdmin } from "../../../../local/standin/auth/guards.ts";

const secret = "super-secret-jwt-token-with-at-least-32-characters-long";
/** A legacy-key project: the JWT secret and no asymmetric keys. */
const keySet = { secret, keys: [] };

Deno.test("bearerToken: GoTrue's 401 no_authorization without a Bearer credential", () => {
  assert.equal(bearerToken("Bearer abc.def.ghi"), "abc.def.ghi");
  assert.equal(bearerToken("bearer   abc"), "abc");
  for (const header of [undefined, "", "Basic abc", "Bearer", "Bearer a b"]) {
    assert.throws(
      () => bearerToken(header),
      (e: GoTrueError) => e.status === 401 && e.errorCode === "no_authorization",
    );
  }
});

Deno.test("requireAdmin admits service_role and supabase_admin only", async () => {
  const now = Math.floor(Date.now() / 1000);
  for (const role of ["service_role", "supabase_admin"]) {
    const token = await sign({ role, exp: now + 60 }, secret, "HS256");
    assert.equal((await requireAdmin(`Bearer ${token}`, keySet)).role, role);
  }
  const anon = await sign({ role: "anon", exp: now + 60 }, secret, "HS256");
  await assert.rejects(
    requireAdmin(`Bearer ${anon}`, keySet),
    (e: GoTrueError) => e.errorCode === "not_admin",
  );
  const expired = await sign({ role: "service_role", exp: now - 1 }, secret, "HS256");
  await assert.rejects(
    requireAdmin(`Bearer ${expired}`, keySet),
    (e: GoTrueError) => e.errorCode === "bad_jwt",
  );
});

Deno.test("clientIp keeps only well-formed addresses (auth.sessions.ip is inet)", () => {
  assert.equal(clientIp(undefined, "127.0.0.1"), "127.0.0.1");
  assert.equal(clientIp("203.0.113.7, 10.0.0.1", "127.0.0.1"), "203.0.113.7");
  assert.equal(clientIp(undefined, "::1"), "::1");
  assert.equal(clientIp(undefined, "2001:db8::8a2e:370:7334"), "2001:db8::8a2e:370:7334");
  assert.equal(clientIp("not-an-ip", undefined), null);
  assert.equal(clientIp(":::::", undefined), null);
  assert.equal(clientIp("999.1.1.1", undefined), null);
});
