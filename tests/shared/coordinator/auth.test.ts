import assert from "node:assert/strict";
import { sign } from "hono/jwt";
import { issueSessionTokens } from "../../../shared/auth/access-tokens.ts";
import { verifyTokenWith } from "../../../shared/coordinator/auth.ts";
import { createStandinKeys } from "../../../local/standin/keys.ts";

const keys = await createStandinKeys();
const signing = { secret: "b".repeat(40), issuer: "urn:test:better-auth", ttlSeconds: 600 };
const verify = verifyTokenWith({
  betterAuth: signing,
  supabase: { jwtSecret: keys.jwtSecret },
});
const USER = "00000000-0000-4000-c000-000000000001";

Deno.test("a Supabase user token yields its user", async () => {
  const token = await sign(
    { sub: USER, role: "authenticated", aud: "authenticated", exp: Date.now() / 1000 + 60 },
    keys.jwtSecret,
    "HS256",
  );
  assert.deepEqual(await verify(token), { userId: USER });
});

Deno.test("a Better Auth access token yields its user", async () => {
  const session = await issueSessionTokens(signing, {
    userId: USER,
    email: "ada@example.com",
    userMetadata: {},
    appMetadata: {},
    sessionId: "00000000-0000-4000-c000-000000000002",
    sessionToken: "opaque",
    authenticatedAt: new Date(),
  });
  assert.deepEqual(await verify(session.access_token), { userId: USER });
});

Deno.test("API keys, expired, forged and malformed tokens are refused (null, not a throw)", async () => {
  const expired = await sign(
    { sub: USER, role: "authenticated", exp: Math.floor(Date.now() / 1000) - 120 },
    keys.jwtSecret,
    "HS256",
  );
  const forged = await sign(
    { sub: USER, role: "authenticated", exp: Date.now() / 1000 + 60 },
    "another-secret-that-is-at-least-32-characters",
    "HS256",
  );
  for (const token of [keys.anonKey, keys.serviceRoleKey, expired, forged, "garbage", ""]) {
    assert.equal(await verify(token), null);
  }
});
