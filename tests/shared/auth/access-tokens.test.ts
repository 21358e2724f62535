import assert from "node:assert/strict";
import {
  type AccessTokenVerifierConfig,
  DEFAULT_BETTER_AUTH_ISSUER,
  deriveAccessTokenSecret,
  issueSessionTokens,
  remoteJwks,
  verifyAccessToken,
} from "../../../shared/auth/access-tokens.ts";
import { AuthError } from "../../../shared/auth/errors.ts";
import { signHs256 } from "../../../shared/auth/jwt.ts";

const BA_SECRET = "better-auth-token-secret-for-tests-0123456789";
const SUPABASE_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
const config: AccessTokenVerifierConfig = {
  betterAuth: { secret: BA_SECRET, issuer: DEFAULT_BETTER_AUTH_ISSUER },
  supabase: { jwtSecret: SUPABASE_SECRET },
};
const now = () => Math.floor(Date.now() / 1000);
const USER = "3f1c2b7e-8d1a-4c1e-9a3b-2b7e8d1a4c1e";

async function betterAuthToken() {
  return await issueSessionTokens(
    { secret: BA_SECRET, issuer: DEFAULT_BETTER_AUTH_ISSUER, ttlSeconds: 600 },
    {
      userId: USER,
      email: "ada@example.com",
      userMetadata: { theme: "dark" },
      appMetadata: { role_hint: "x" },
      sessionId: "5e6f7a8b-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
      sessionToken: "opaque-session-token",
      authenticatedAt: new Date(),
    },
  );
}

async function rejects(token: string, cfg = config): Promise<AuthError> {
  try {
    await verifyAccessToken(token, cfg);
  } catch (error) {
    assert.ok(error instanceof AuthError);
    return error;
  }
  throw new Error("token was accepted");
}

Deno.test("a Better Auth session becomes a Supabase-shaped bearer token", async () => {
  const session = await betterAuthToken();
  assert.equal(session.token_type, "bearer");
  assert.equal(session.expires_in, 600);
  assert.equal(session.refresh_token, "opaque-session-token");
  const verified = await verifyAccessToken(session.access_token, config);
  assert.equal(verified.system, "better_auth");
  assert.equal(verified.userId, USER);
  assert.equal(verified.sessionId, "5e6f7a8b-1c2d-4e3f-8a9b-0c1d2e3f4a5b");
  for (
    const claim of ["iss", "sub", "aud", "exp", "iat", "email", "role", "aal", "amr", "session_id"]
  ) {
    assert.ok(claim in verified.claims, claim);
  }
  assert.deepEqual(verified.claims.user_metadata, { theme: "dark" });
  assert.equal((verified.claims.app_metadata as Record<string, unknown>).provider, "email");
});

Deno.test("Supabase tokens (HS256 with the project secret) are accepted too", async () => {
  const token = await signHs256({
    iss: "http://127.0.0.1:54321/auth/v1",
    sub: USER,
    aud: "authenticated",
    role: "authenticated",
    email: "ada@example.com",
    exp: now() + 60,
    iat: now(),
  }, SUPABASE_SECRET);
  const verified = await verifyAccessToken(token, config);
  assert.equal(verified.system, "supabase");
  assert.equal(verified.userId, USER);
});

Deno.test("refused: wrong key, our issuer with the Supabase key, expired, anon key, garbage", async () => {
  const claims = { sub: USER, role: "authenticated", aud: "authenticated", exp: now() + 60 };
  assert.equal(
    (await rejects(await signHs256(claims, "some-other-secret-value-xxxxxxxx"))).code,
    "invalid_token",
  );
  // A token claiming our issuer must carry OUR signature, even if signed with the Supabase key.
  await rejects(await signHs256({ ...claims, iss: DEFAULT_BETTER_AUTH_ISSUER }, SUPABASE_SECRET));
  assert.match(
    (await rejects(await signHs256({ ...claims, exp: now() - 3600 }, SUPABASE_SECRET))).message,
    /expired/,
  );
  const anon = await signHs256(
    { iss: "supabase-demo", role: "anon", exp: now() + 60 },
    SUPABASE_SECRET,
  );
  assert.match((await rejects(anon)).message, /does not belong to a user/);
  await rejects("not.a.jwt");
  const error = await rejects("");
  assert.equal(error.status, 401);
});

Deno.test("without a local key, Supabase tokens are checked with Auth's /user (getUser)", async () => {
  const token = await signHs256(
    { sub: USER, role: "authenticated", exp: now() + 60 },
    SUPABASE_SECRET,
  );
  const seen: string[] = [];
  const cfg: AccessTokenVerifierConfig = {
    betterAuth: config.betterAuth,
    supabase: {
      getUser: (t) => {
        seen.push(t);
        return Promise.resolve(t === token ? { id: USER } : null);
      },
    },
  };
  assert.equal((await verifyAccessToken(token, cfg)).userId, USER);
  assert.deepEqual(seen, [token]);
  const down: AccessTokenVerifierConfig = {
    ...cfg,
    supabase: { getUser: () => Promise.reject(new Error("connection refused")) },
  };
  assert.equal((await rejects(token, down)).code, "auth_unavailable");
});

Deno.test("JWKS: ES256 Supabase tokens verify with the fetched, cached signing keys", async () => {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const jwk = { ...(await crypto.subtle.exportKey("jwk", pair.publicKey)), kid: "key-1" };
  let fetches = 0;
  const abort = new AbortController();
  const server = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    signal: abort.signal,
    onListen: () => {},
  }, () => {
    fetches++;
    return Response.json({ keys: [jwk] });
  });
  try {
    const enc = (v: unknown) =>
      btoa(JSON.stringify(v)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const input = `${enc({ alg: "ES256", kid: "key-1", typ: "JWT" })}.${
      enc({ sub: USER, role: "authenticated", exp: now() + 60 })
    }`;
    const signature = new Uint8Array(
      await crypto.subtle.sign(
        { name: "ECDSA", hash: "SHA-256" },
        pair.privateKey,
        new TextEncoder().encode(input),
      ),
    );
    const token = `${input}.${
      btoa(String.fromCharCode(...signature)).replace(/\+/g, "-").replace(/\//g, "_").replace(
        /=+$/,
        "",
      )
    }`;
    const cfg: AccessTokenVerifierConfig = {
      betterAuth: config.betterAuth,
      supabase: {
        jwks: remoteJwks(`http://127.0.0.1:${server.addr.port}/auth/v1/.well-known/jwks.json`),
      },
    };
    assert.equal((await verifyAccessToken(token, cfg)).system, "supabase");
    assert.equal((await verifyAccessToken(token, cfg)).userId, USER);
    assert.equal(fetches, 1, "cached");
  } finally {
    abort.abort();
    await server.finished;
  }
});

Deno.test("the derived token secret is stable and is not the Better Auth secret", async () => {
  const a = await deriveAccessTokenSecret("x".repeat(40));
  assert.equal(a, await deriveAccessTokenSecret("x".repeat(40)));
  assert.notEqual(a, await deriveAccessTokenSecret("y".repeat(40)));
  assert.match(a, /^[0-9a-f]{64}$/);
});
