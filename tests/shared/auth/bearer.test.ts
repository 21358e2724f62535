import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  type AccessTokenVerifierConfig,
  DEFAULT_BETTER_AUTH_ISSUER,
  issueSessionTokens,
} from "../../../shared/auth/access-tokens.ts";
import { type AuthUserVariables, bearerToken, requireUser } from "../../../shared/auth/bearer.ts";
import { signHs256 } from "../../../shared/auth/jwt.ts";

const config: AccessTokenVerifierConfig = {
  betterAuth: {
    secret: "ba-token-secret-0123456789abcdef0123",
    issuer: DEFAULT_BETTER_AUTH_ISSUER,
  },
  supabase: { jwtSecret: "super-secret-jwt-token-with-at-least-32-characters-long" },
};

Deno.test("requireUser lets tokens of both systems through and refuses the rest", async () => {
  const app = new Hono<{ Variables: AuthUserVariables }>();
  app.use("*", requireUser(config));
  app.get("/me", (c) => c.json({ id: c.get("authUser").userId, system: c.get("authUser").system }));

  const id = crypto.randomUUID();
  const supabaseToken = await signHs256({
    sub: id,
    role: "authenticated",
    aud: "authenticated",
    exp: Math.floor(Date.now() / 1000) + 60,
  }, config.supabase.jwtSecret!);
  const betterAuthToken = (await issueSessionTokens(
    { ...config.betterAuth, ttlSeconds: 60 },
    {
      userId: id,
      email: "a@example.com",
      userMetadata: {},
      appMetadata: {},
      sessionId: crypto.randomUUID(),
      sessionToken: "s",
      authenticatedAt: new Date(),
    },
  )).access_token;

  for (const [token, system] of [[supabaseToken, "supabase"], [betterAuthToken, "better_auth"]]) {
    const response = await app.request("/me", { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { id, system });
  }
  const refused: Record<string, string>[] = [
    {},
    { Authorization: "Basic abc" },
    { Authorization: "Bearer garbage" },
  ];
  for (const headers of refused) {
    const response = await app.request("/me", { headers });
    assert.equal(response.status, 401);
    assert.equal((await response.json()).error.code, "invalid_token");
    assert.match(response.headers.get("WWW-Authenticate") ?? "", /invalid_token/);
  }
});

Deno.test("bearerToken parses the Authorization header", () => {
  const request = (value: string) => new Request("http://x", { headers: { Authorization: value } });
  assert.equal(bearerToken(request("Bearer abc.def.ghi")), "abc.def.ghi");
  assert.equal(bearerToken(request("bearer   xyz ")), "xyz");
  assert.equal(bearerToken(request("Bearer a b")), null);
  assert.equal(bearerToken(new Request("http://x")), null);
});
