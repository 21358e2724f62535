import assert from "node:assert/strict";
import { bearerClaims, extractRoutingIdentity } from "../../../shared/migrator/routing-key.ts";

function jwt(claims: Record<string, unknown>): string {
  const encode = (value: unknown) =>
    btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${encode({ alg: "HS256", typ: "JWT" })}.${encode(claims)}.c2lnbmF0dXJl`;
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

Deno.test("routing key: lower-cased email from a JSON body", () => {
  const req = new Request("http://x/signup", {
    method: "POST",
    headers: { "content-type": "application/json" },
  });
  const identity = extractRoutingIdentity(
    req,
    json({ email: "  Alice@Example.COM ", password: "p" }),
  );
  assert.deepEqual(identity, { key: "alice@example.com", email: "alice@example.com" });
});

Deno.test("routing key: JWT sub from the bearer token, email claim preferred as key", () => {
  const withEmail = new Request("http://x/login", {
    headers: { authorization: `Bearer ${jwt({ sub: "U-1", email: "Bob@Example.com" })}` },
  });
  assert.deepEqual(extractRoutingIdentity(withEmail, null), {
    key: "bob@example.com",
    email: "bob@example.com",
    userId: "u-1",
  });
  const subOnly = new Request("http://x/login", {
    headers: { authorization: `Bearer ${jwt({ sub: "0f1e2d3c-aaaa-bbbb-cccc-123456789abc" })}` },
  });
  assert.deepEqual(extractRoutingIdentity(subOnly, null), {
    key: "0f1e2d3c-aaaa-bbbb-cccc-123456789abc",
    userId: "0f1e2d3c-aaaa-bbbb-cccc-123456789abc",
  });
});

Deno.test("routing key: the configured header wins", () => {
  const req = new Request("http://x/coordinator", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-user-key": "Tenant-7",
      authorization: `Bearer ${jwt({ sub: "u-1" })}`,
    },
  });
  const identity = extractRoutingIdentity(req, json({ email: "a@b.co" }), { header: "x-user-key" });
  assert.deepEqual(identity, { key: "tenant-7", email: "a@b.co", userId: "tenant-7" });
});

Deno.test("routing key: anon keys, garbage and non-JSON bodies give no key", () => {
  const anon = new Request("http://x/signup", {
    headers: { authorization: `Bearer ${jwt({ role: "anon", iss: "supabase" })}` },
  });
  assert.deepEqual(extractRoutingIdentity(anon, null), {});
  const garbage = new Request("http://x", {
    method: "POST",
    headers: { authorization: "Bearer not-a-jwt", "content-type": "application/json" },
  });
  assert.deepEqual(extractRoutingIdentity(garbage, new TextEncoder().encode("{nope")), {});
  const text = new Request("http://x", {
    method: "POST",
    headers: { "content-type": "text/plain" },
  });
  assert.deepEqual(extractRoutingIdentity(text, json({ email: "a@b.co" })), {});
  const notEmail = new Request("http://x", {
    method: "POST",
    headers: { "content-type": "application/json" },
  });
  assert.deepEqual(extractRoutingIdentity(notEmail, json({ email: "no-at-sign" })), {});
  assert.equal(bearerClaims("Basic abc"), undefined);
  assert.equal(bearerClaims(`Bearer ${jwt({ sub: 1 }).replace(/\..*\./, ".!!.")}`), undefined);
});
