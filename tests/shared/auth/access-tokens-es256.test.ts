/**
 * Better Auth-path access tokens signed ES256 by a private JWK (ACCESS_TOKEN_SIGNING_JWK): GoTrue's
 * header and claims, verified by our public key and kid, published as a JWKS; and the HS256
 * options (the project's legacy secret, a derived key) as configuration picks them.
 */
import assert from "node:assert/strict";
import { verify } from "hono/jwt";
import {
  type AccessTokenSigning,
  type AccessTokenVerifierConfig,
  DEFAULT_BETTER_AUTH_ISSUER,
  issueSessionTokens,
  jwksOf,
  type TokenSubject,
  verifyAccessToken,
} from "../../../shared/auth/access-tokens.ts";
import { AuthError } from "../../../shared/auth/errors.ts";
import {
  base64UrlEncode,
  decodeJwt,
  generateEs256PrivateJwk,
  importEs256SigningJwk,
  signEs256,
  signHs256,
} from "../../../shared/auth/jwt.ts";
import { jwksResponse } from "../../../shared/auth/jwks-route.ts";
import { registerAccessTokens } from "../../../shared/auth/register-access-tokens.ts";
import { AccessTokenSigningToken, AccessTokenVerifierToken } from "../../../shared/auth/tokens.ts";
import { loadConfig } from "../../../shared/config/env.ts";
import { Container } from "../../../shared/di/container.ts";
import { ConfigToken } from "../../../shared/di/tokens.ts";

const USER = "3f1c2b7e-8d1a-4c1e-9a3b-2b7e8d1a4c1e";
const SESSION = "5e6f7a8b-1c2d-4e3f-8a9b-0c1d2e3f4a5b";
const PROJECT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
const BETTER_AUTH_SECRET = "test-better-auth-secret-with-at-least-32-chars";

const subject: TokenSubject = {
  userId: USER,
  email: "ada@example.com",
  userMetadata: { theme: "dark" },
  appMetadata: {},
  sessionId: SESSION,
  sessionToken: "opaque-session-token",
  authenticatedAt: new Date(),
};

const privateJwk = await generateEs256PrivateJwk("our-key-1");
const key = await importEs256SigningJwk(JSON.stringify(privateJwk));
const signing: AccessTokenSigning = {
  secret: "hs-key-for-tokens-minted-before-the-switch-0123",
  issuer: DEFAULT_BETTER_AUTH_ISSUER,
  ttlSeconds: 600,
  es256: key,
};
const verifier: AccessTokenVerifierConfig = {
  betterAuth: { secret: signing.secret, issuer: signing.issuer, publicKeys: [key.publicJwk] },
  supabase: { jwtSecret: PROJECT_SECRET },
};

async function refusal(token: string, config = verifier): Promise<AuthError> {
  try {
    await verifyAccessToken(token, config);
  } catch (error) {
    assert.ok(error instanceof AuthError, String(error));
    return error;
  }
  throw new Error("token was accepted");
}

/** The token's claims with an edit applied. */
function editedClaims(token: string, edit: (claims: Record<string, unknown>) => void) {
  const claims = { ...decodeJwt(token)!.claims };
  edit(claims);
  return claims;
}

Deno.test("ES256 tokens: GoTrue's header and claim set, verified by our public key", async () => {
  const session = await issueSessionTokens(signing, subject);
  const jwt = decodeJwt(session.access_token)!;
  // supabase/auth internal/tokens/service.go SignJWT: golang-jwt's header plus the key's kid.
  assert.deepEqual(jwt.header, { alg: "ES256", kid: "our-key-1", typ: "JWT" });
  // AccessTokenClaims: every claim GoTrue writes for a password session.
  assert.deepEqual(Object.keys(jwt.claims).sort(), [
    "aal",
    "amr",
    "app_metadata",
    "aud",
    "email",
    "exp",
    "iat",
    "is_anonymous",
    "iss",
    "phone",
    "role",
    "session_id",
    "sub",
    "user_metadata",
  ]);
  assert.equal(jwt.claims.sub, USER);
  assert.equal(jwt.claims.role, "authenticated");
  assert.equal(jwt.claims.aud, "authenticated");
  assert.equal(jwt.claims.aal, "aal1");
  assert.equal(jwt.claims.session_id, SESSION);
  assert.equal(jwt.claims.is_anonymous, false);
  assert.equal(jwt.signature.length, 64, "JWS ECDSA signature: r‖s");

  const verified = await verifyAccessToken(session.access_token, verifier);
  assert.equal(verified.system, "better_auth");
  assert.equal(verified.userId, USER);
  // An independent ES256 implementation (hono/jwt) accepts it with the published key.
  const publicKey = await crypto.subtle.importKey(
    "jwk",
    key.publicJwk,
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["verify"],
  );
  const claims = await verify(session.access_token, publicKey, "ES256");
  assert.equal(claims.sub, USER);
});

Deno.test("tampered, unknown-kid, untrusted-key and expired ES256 tokens are refused", async () => {
  const { access_token } = await issueSessionTokens(signing, subject);
  const [header, , signature] = access_token.split(".") as [string, string, string];

  // Tampered claims under the original signature.
  const claims = editedClaims(access_token, (c) => c.sub = "00000000-0000-4000-8000-000000000001");
  const forgedBody = base64UrlEncode(new TextEncoder().encode(JSON.stringify(claims)));
  assert.equal((await refusal(`${header}.${forgedBody}.${signature}`)).code, "invalid_token");

  // The same claims signed by a key nobody imported, once under our kid, once under another.
  const stranger = await importEs256SigningJwk(await generateEs256PrivateJwk("our-key-1"));
  assert.equal((await refusal(await signEs256(claims, stranger))).code, "invalid_token");
  const otherKid = await importEs256SigningJwk(await generateEs256PrivateJwk("someone-else"));
  assert.equal((await refusal(await signEs256(claims, otherKid))).code, "invalid_token");

  const expired = await issueSessionTokens(
    signing,
    subject,
    new Date(Date.now() - 2 * 3600_000),
  );
  assert.match((await refusal(expired.access_token)).message, /expired/);

  // A verifier that knows no public key of ours refuses every ES256 token with our issuer.
  const noKeys = { ...verifier, betterAuth: { ...verifier.betterAuth, publicKeys: [] } };
  assert.equal((await refusal(access_token, noKeys)).code, "invalid_token");
});

Deno.test("the JWKS publishes the public key only, with GoTrue's members and cache header", async () => {
  const response = jwksResponse(signing);
  assert.equal(response.headers.get("cache-control"), "public, max-age=600");
  const body = await response.json() as { keys: Record<string, unknown>[] };
  assert.equal(body.keys.length, 1);
  const [published] = body.keys as [Record<string, unknown>];
  assert.equal(published.d, undefined, "never the private key");
  assert.deepEqual(published, {
    kty: "EC",
    crv: "P-256",
    x: privateJwk.x,
    y: privateJwk.y,
    kid: "our-key-1",
    alg: "ES256",
    use: "sig",
    key_ops: ["verify"],
  });
  // HS256 deployments publish nothing, as GoTrue hides HMAC keys.
  assert.deepEqual(jwksOf({}), { keys: [] });
});

Deno.test("importEs256SigningJwk names what is wrong with a key, never echoing it", async () => {
  const cases: Array<[unknown, RegExp]> = [
    ["not json", /not valid JSON/],
    [{ ...privateJwk, kid: undefined }, /kid/],
    [{ ...privateJwk, d: undefined }, /private JWK/],
    [{ ...privateJwk, crv: "P-384" }, /P-256/],
    [{ kty: "RSA", n: "x", e: "AQAB", d: "y", kid: "r" }, /EC P-256/],
    [{ ...privateJwk, alg: "RS256" }, /ES256/],
    [{ ...privateJwk, x: privateJwk.y }, /not a usable/],
  ];
  for (const [input, expected] of cases) {
    await assert.rejects(
      importEs256SigningJwk(typeof input === "string" ? input : JSON.stringify(input)),
      (error: Error) => {
        assert.match(error.message, expected);
        assert.ok(!error.message.includes(String(privateJwk.d)), "the key is never echoed");
        return true;
      },
    );
  }
});

function container(env: Record<string, string>): Container {
  const config = loadConfig(env);
  const c = new Container();
  c.value(ConfigToken, config);
  return registerAccessTokens(c);
}

Deno.test("ACCESS_TOKEN_SIGNING picks ES256 (the JWK), HS256 with the project secret, or a derived key", async () => {
  const jwkEnv = { BETTER_AUTH_SECRET, ACCESS_TOKEN_SIGNING_JWK: JSON.stringify(privateJwk) };

  // A JWK alone means ES256; every function's verifier knows our public key.
  const es = container(jwkEnv);
  const esSigning = await es.get(AccessTokenSigningToken);
  assert.equal(esSigning.es256?.kid, "our-key-1");
  const esToken = (await issueSessionTokens(esSigning, subject)).access_token;
  assert.equal(decodeJwt(esToken)!.header.alg, "ES256");
  const esVerifier = await es.get(AccessTokenVerifierToken);
  assert.equal((await verifyAccessToken(esToken, esVerifier)).system, "better_auth");

  // A verify-only function (no BETTER_AUTH_SECRET) still verifies ES256 tokens by the key.
  const verifyOnly = container({ ACCESS_TOKEN_SIGNING_JWK: JSON.stringify(privateJwk) });
  const onlyVerifier = await verifyOnly.get(AccessTokenVerifierToken);
  assert.equal((await verifyAccessToken(esToken, onlyVerifier)).userId, USER);

  // hs256-project: HS256 with the project's legacy JWT secret — what Supabase itself accepts.
  const project = container({
    BETTER_AUTH_SECRET,
    PROJECT_JWT_SECRET: PROJECT_SECRET,
    ACCESS_TOKEN_SIGNING: "hs256-project",
    ACCESS_TOKEN_SIGNING_JWK: JSON.stringify(privateJwk),
  });
  const projectSigning = await project.get(AccessTokenSigningToken);
  assert.equal(projectSigning.es256, undefined, "the explicit mode wins over a configured JWK");
  const hsToken = (await issueSessionTokens(projectSigning, subject)).access_token;
  assert.equal(decodeJwt(hsToken)!.header.alg, "HS256");
  assert.equal((await verify(hsToken, PROJECT_SECRET, "HS256")).sub, USER);
  assert.equal(
    (await verifyAccessToken(hsToken, await project.get(AccessTokenVerifierToken))).system,
    "better_auth",
  );

  // Default without a JWK: HS256 with a key derived from BETTER_AUTH_SECRET (never the secret).
  const derived = container({ BETTER_AUTH_SECRET });
  const derivedSigning = await derived.get(AccessTokenSigningToken);
  assert.equal(derivedSigning.es256, undefined);
  assert.notEqual(derivedSigning.secret, BETTER_AUTH_SECRET);
  const derivedToken = (await issueSessionTokens(derivedSigning, subject)).access_token;
  await assert.rejects(verify(derivedToken, PROJECT_SECRET, "HS256"));
  // After a switch to ES256, HS256 tokens minted before it (same BETTER_AUTH_SECRET) stay valid
  // until they expire; a deployment that never had that key refuses them.
  assert.equal((await verifyAccessToken(derivedToken, esVerifier)).userId, USER);
  assert.equal((await refusal(derivedToken, onlyVerifier)).code, "invalid_token");
});

Deno.test("a bad signing configuration stops start-up naming the variable", () => {
  assert.throws(
    () => loadConfig({ ACCESS_TOKEN_SIGNING: "es256" }),
    /ACCESS_TOKEN_SIGNING_JWK: required when ACCESS_TOKEN_SIGNING is es256/,
  );
  assert.throws(
    () => loadConfig({ ACCESS_TOKEN_SIGNING: "hs256-project" }),
    /PROJECT_JWT_SECRET: required when ACCESS_TOKEN_SIGNING is hs256-project/,
  );
  assert.throws(() => loadConfig({ ACCESS_TOKEN_SIGNING: "rs512" }), /ACCESS_TOKEN_SIGNING/);
  const publicOnly = { ...privateJwk, d: undefined };
  assert.throws(
    () => loadConfig({ ACCESS_TOKEN_SIGNING_JWK: JSON.stringify(publicOnly) }),
    (error: Error) =>
      /ACCESS_TOKEN_SIGNING_JWK: expected a private key/.test(error.message) &&
      !error.message.includes(String(privateJwk.x)),
  );
  assert.throws(() => loadConfig({ ACCESS_TOKEN_SIGNING_JWK: "{" }), /ACCESS_TOKEN_SIGNING_JWK/);
});

Deno.test("bad tokens of every kind are a 401 invalid_token, never another error", async () => {
  const now = Math.floor(Date.now() / 1000);
  const ours = {
    iss: DEFAULT_BETTER_AUTH_ISSUER,
    sub: USER,
    role: "authenticated",
    aud: "authenticated",
    iat: now,
    exp: now + 600,
  };
  const segment = (value: unknown) =>
    base64UrlEncode(new TextEncoder().encode(JSON.stringify(value)));
  const bad: Record<string, string> = {
    empty: "",
    garbage: "not a token",
    "two segments": "abc.def",
    "non-JSON segments": "!!.??.**",
    "alg none with our issuer": `${segment({ alg: "none", typ: "JWT" })}.${segment(ours)}.`,
    // Algorithm confusion: HS256 keyed by our public key's text must not pass as ours.
    "HS256 keyed by the public key": await signHs256(ours, JSON.stringify(key.publicJwk)),
    "no expiry": await signEs256({ ...ours, exp: undefined }, key),
    "not yet valid": await signEs256({ ...ours, nbf: now + 3600 }, key),
    "no subject": await signEs256({ ...ours, sub: undefined }, key),
    "a service_role token": await signEs256({ ...ours, role: "service_role" }, key),
    "an anon key (legacy)": await signHs256(
      { role: "anon", iss: "supabase", exp: now + 600 },
      PROJECT_SECRET,
    ),
    "a refresh token (opaque)": "opaque-session-token",
    "an RS256 header on an ES256 signature": (await signEs256(ours, key)).replace(
      /^[^.]+/,
      segment({ alg: "RS256", kid: key.kid, typ: "JWT" }),
    ),
  };
  for (const [label, token] of Object.entries(bad)) {
    const error = await refusal(token);
    assert.equal(error.code, "invalid_token", label);
    assert.equal(error.status, 401, label);
    assert.ok(!error.message.includes(token) || token === "", `${label}: the token is not echoed`);
  }
});
