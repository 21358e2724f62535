import assert from "node:assert/strict";
import { sign } from "hono/jwt";
import { createStandinKeys } from "../../../../local/standin/keys.ts";
import { authenticate, type AuthOptions } from "../../../../local/standin/rest/auth.ts";
import { PgrstError } from "../../../../local/standin/rest/errors.ts";

const keys = await createStandinKeys();
const options: AuthOptions = {
  jwtSecret: keys.jwtSecret,
  roles: new Set(["anon", "authenticated", "service_role"]),
  anonRole: "anon",
};

function request(headers: Record<string, string>, query = ""): Request {
  return new Request(`http://local/rest/v1/t${query}`, { headers });
}

async function rejected(req: Request, status: number, code: string, message?: RegExp) {
  const error = await authenticate(req, options).then(() => null, (e: unknown) => e);
  assert.ok(error instanceof PgrstError, "expected a PgrstError");
  assert.equal(error.status, status);
  assert.equal(error.code, code);
  if (message) assert.match(error.message, message);
}

Deno.test("the apikey decides the role unless a bearer token is given", async () => {
  const anon = await authenticate(request({ apikey: keys.anonKey }), options);
  assert.equal(anon.role, "anon");
  const service = await authenticate(request({}, `?apikey=${keys.serviceRoleKey}`), options);
  assert.equal(service.role, "service_role");
  const now = Math.floor(Date.now() / 1000);
  const user = await sign(
    { sub: "u1", role: "authenticated", exp: now + 60 },
    keys.jwtSecret,
    "HS256",
  );
  const asUser = await authenticate(
    request({ apikey: keys.anonKey, Authorization: `bearer ${user}` }),
    options,
  );
  assert.equal(asUser.role, "authenticated");
  assert.equal(asUser.claims.sub, "u1");
  const roleless = await sign({ sub: "u2", exp: now + 60 }, keys.jwtSecret, "HS256");
  assert.equal(
    (await authenticate(
      request({ apikey: keys.anonKey, Authorization: `Bearer ${roleless}` }),
      options,
    )).role,
    "anon",
  );
});

Deno.test("missing or bad keys and tokens are 401s", async () => {
  await rejected(request({}), 401, "", /No API key/);
  await rejected(request({ apikey: "not-a-jwt" }), 401, "", /Invalid API key/);
  const foreign = await sign(
    { role: "service_role" },
    "some-other-secret-with-32-characters",
    "HS256",
  );
  await rejected(request({ apikey: foreign }), 401, "", /Invalid API key/);
  await rejected(
    request({ apikey: keys.anonKey, Authorization: `Bearer ${foreign}` }),
    401,
    "PGRST301",
  );
  await rejected(request({ apikey: keys.anonKey, Authorization: "Basic abc" }), 401, "PGRST301");
  const now = Math.floor(Date.now() / 1000);
  // PostgREST allows 30 s of clock skew (Auth/Jwt.hs allowedSkewSeconds).
  const expired = await sign({ role: "authenticated", exp: now - 31 }, keys.jwtSecret, "HS256");
  await rejected(
    request({ apikey: keys.anonKey, Authorization: `Bearer ${expired}` }),
    401,
    "PGRST303",
  );
  const superuser = await sign({ role: "postgres", exp: now + 60 }, keys.jwtSecret, "HS256");
  await rejected(
    request({ apikey: keys.anonKey, Authorization: `Bearer ${superuser}` }),
    401,
    "PGRST301",
  );
});
