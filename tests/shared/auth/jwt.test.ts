import assert from "node:assert/strict";
import {
  base64UrlEncode,
  checkTimeClaims,
  decodeJwt,
  signHs256,
  verifyHs256Signature,
  verifyWithJwks,
} from "../../../shared/auth/jwt.ts";

const encoder = new TextEncoder();

async function signAsymmetric(
  claims: Record<string, unknown>,
  alg: "ES256" | "RS256",
  kid: string,
) {
  const params = alg === "ES256" ? { name: "ECDSA", namedCurve: "P-256" } : {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  };
  const pair = await crypto.subtle.generateKey(params, true, ["sign", "verify"]) as CryptoKeyPair;
  const header = base64UrlEncode(encoder.encode(JSON.stringify({ alg, kid, typ: "JWT" })));
  const body = base64UrlEncode(encoder.encode(JSON.stringify(claims)));
  const signature = await crypto.subtle.sign(
    alg === "ES256" ? { name: "ECDSA", hash: "SHA-256" } : { name: "RSASSA-PKCS1-v1_5" },
    pair.privateKey,
    encoder.encode(`${header}.${body}`),
  );
  const jwk = { ...(await crypto.subtle.exportKey("jwk", pair.publicKey)), kid };
  return { token: `${header}.${body}.${base64UrlEncode(new Uint8Array(signature))}`, jwk };
}

Deno.test("HS256 round trip; a different secret or a tampered body fails", async () => {
  const token = await signHs256({ sub: "u1" }, "secret-one");
  const decoded = decodeJwt(token)!;
  assert.equal(decoded.claims.sub, "u1");
  assert.equal(await verifyHs256Signature(decoded, "secret-one"), true);
  assert.equal(await verifyHs256Signature(decoded, "secret-two"), false);
  const [h, , s] = token.split(".");
  const forged = `${h}.${base64UrlEncode(encoder.encode(JSON.stringify({ sub: "admin" })))}.${s}`;
  assert.equal(await verifyHs256Signature(decodeJwt(forged)!, "secret-one"), false);
});

Deno.test("alg none and malformed tokens are refused", async () => {
  const none = `${base64UrlEncode(encoder.encode('{"alg":"none"}'))}.${
    base64UrlEncode(encoder.encode('{"sub":"x"}'))
  }.`;
  assert.equal(await verifyHs256Signature(decodeJwt(none)!, "secret"), false);
  for (const bad of ["", "a.b", "a.b.c.d", "!!.??.**", "e30.e30"]) {
    assert.equal(decodeJwt(bad), null, bad);
  }
});

Deno.test("ES256 and RS256 verify with the JWKS key named by kid; the key type decides alg", async () => {
  for (const alg of ["ES256", "RS256"] as const) {
    const { token, jwk } = await signAsymmetric({ sub: "u" }, alg, `k-${alg}`);
    const decoded = decodeJwt(token)!;
    assert.equal(await verifyWithJwks(decoded, [jwk]), true, alg);
    assert.equal(
      await verifyWithJwks(decoded, [{ ...jwk, kid: "other" }]),
      false,
      `${alg} wrong kid`,
    );
    const { jwk: stranger } = await signAsymmetric({}, alg, `k-${alg}`);
    assert.equal(await verifyWithJwks(decoded, [stranger]), false, `${alg} wrong key`);
  }
});

Deno.test("time claims: exp required, skew tolerated", () => {
  assert.equal(checkTimeClaims({ exp: 1000 }, 999), null);
  assert.equal(checkTimeClaims({ exp: 1000 }, 1020, 30), null);
  assert.equal(checkTimeClaims({ exp: 1000 }, 1031, 30), "token is expired");
  assert.equal(checkTimeClaims({}, 1), "token has no expiry");
  assert.equal(checkTimeClaims({ exp: 9999, nbf: 2000 }, 1000), "token is not valid yet");
});
