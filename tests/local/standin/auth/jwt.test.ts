import assert from "node:assert/strict";
import { sign, verify } from "hono/jwt";
import { signHs256, verifyHs256 } from "../../../../local/standin/auth/jwt.ts";

const secret = "super-secret-jwt-token-with-at-least-32-characters-long";

Deno.test("signHs256 tokens verify with an independent HS256 implementation", async () => {
  const token = await signHs256(
    { sub: "abc", exp: 4_000_000_000, nested: { a: [1, "é"] } },
    secret,
  );
  const claims = await verify(token, secret, "HS256");
  assert.equal(claims.sub, "abc");
  assert.deepEqual(claims.nested, { a: [1, "é"] });
});

Deno.test("verifyHs256 accepts valid tokens and names why others are refused", async () => {
  const now = 1_700_000_000;
  const valid = await sign({ sub: "x", iat: now, exp: now + 60 }, secret, "HS256");
  assert.deepEqual(await verifyHs256(valid, secret, now), {
    ok: true,
    claims: { sub: "x", iat: now, exp: now + 60 },
  });
  assert.deepEqual(await verifyHs256(valid, secret, now + 60), {
    ok: false,
    reason: "token has invalid claims: token is expired",
  });
  assert.deepEqual(await verifyHs256(valid, "another-secret-another-secret-another", now), {
    ok: false,
    reason: "token signature is invalid: signature is invalid",
  });
  const notYet = await sign({ nbf: now + 10 }, secret, "HS256");
  assert.equal((await verifyHs256(notYet, secret, now)).ok, false);
  assert.match(
    (await verifyHs256("a.b", secret, now) as { reason: string }).reason,
    /invalid number of segments/,
  );
  assert.match(
    (await verifyHs256("!!.??.**", secret, now) as { reason: string }).reason,
    /malformed/,
  );
  const hs512 = await sign({ sub: "x" }, secret, "HS512");
  assert.match(
    (await verifyHs256(hs512, secret, now) as { reason: string }).reason,
    /signing method HS512/,
  );
});
