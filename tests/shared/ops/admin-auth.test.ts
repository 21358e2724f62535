import assert from "node:assert/strict";
import {
  adminKeyVerifier,
  authenticate,
  cookieValue,
  DashboardSessions,
  presentedKey,
} from "../../../shared/ops/admin-auth.ts";

const SERVICE = "sb_secret_service_role_key_for_tests";
const ADMIN = "admin-secret-for-operations-0123456789";

Deno.test("adminKeyVerifier accepts the configured keys only", async () => {
  const verify = adminKeyVerifier({ serviceRoleKeys: [SERVICE, undefined], adminSecret: ADMIN });
  assert.deepEqual(await verify(SERVICE), { id: "service_role", via: "key" });
  assert.deepEqual(await verify(ADMIN), { id: "admin", via: "key" });
  assert.equal(await verify(SERVICE.slice(0, -1)), null);
  assert.equal(await verify(""), null);
  assert.equal(await adminKeyVerifier({})("anything"), null, "no keys configured: nobody");
});

Deno.test("presentedKey reads Bearer, then apikey", () => {
  const headers = (init: Record<string, string>) => new Headers(init);
  assert.equal(presentedKey(headers({ authorization: "Bearer abc" })), "abc");
  assert.equal(presentedKey(headers({ authorization: "bearer  abc " })), "abc");
  assert.equal(presentedKey(headers({ apikey: " k " })), "k");
  assert.equal(presentedKey(headers({ authorization: "Basic abc" })), null);
  assert.equal(presentedKey(headers({})), null);
  assert.equal(cookieValue("a=1; ops_session=x.y=; b=2", "ops_session"), "x.y=");
  assert.equal(cookieValue(null, "ops_session"), null);
});

Deno.test("DashboardSessions: signed, expiring, tamper-evident", async () => {
  let now = 1_000_000;
  const sessions = new DashboardSessions(ADMIN, { ttlSeconds: 60, now: () => now });
  const { token, session } = await sessions.issue({ id: "admin", via: "key" });
  assert.equal(session.principal.via, "session");
  const verified = await sessions.verify(token);
  assert.equal(verified?.principal.id, "admin");
  assert.equal(verified?.csrf, session.csrf);

  const [payload, signature] = token.split(".");
  const forged = btoa(JSON.stringify({ sub: "admin", csrf: "x", exp: now + 1e9 }))
    .replace(/=+$/, "");
  assert.equal(await sessions.verify(`${forged}.${signature}`), null, "payload swapped");
  assert.equal(await sessions.verify(`${payload}.AAAA`), null, "bad signature");
  assert.equal(await sessions.verify(`${token}.extra`), null);
  assert.equal(await sessions.verify("garbage"), null);
  assert.equal(await new DashboardSessions(SERVICE).verify(token), null, "other secret");

  now += 61_000;
  assert.equal(await sessions.verify(token), null, "expired");
  assert.throws(() => new DashboardSessions("short"), RangeError);
});

Deno.test("authenticate: keys, sessions, and CSRF for state changes", async () => {
  const sessions = new DashboardSessions(ADMIN);
  const auth = { verifyKey: adminKeyVerifier({ adminSecret: ADMIN }), sessions };
  const { token, session } = await sessions.issue({ id: "admin", via: "key" });
  const request = (method: string, headers: Record<string, string>) =>
    new Request("http://localhost/admin/rollouts", { method, headers });

  const byKey = await authenticate(auth, request("POST", { authorization: `Bearer ${ADMIN}` }));
  assert.ok(byKey.ok && byKey.session === null);
  const wrongKey = await authenticate(auth, request("GET", { apikey: "nope" }));
  assert.deepEqual(wrongKey.ok ? null : wrongKey.status, 401);
  const cookie = `ops_session=${token}`;
  assert.ok((await authenticate(auth, request("GET", { cookie }))).ok);
  const noCsrf = await authenticate(auth, request("POST", { cookie }));
  assert.equal(noCsrf.ok ? null : noCsrf.status, 403);
  const withCsrf = await authenticate(auth, request("PUT", { cookie, "x-ops-csrf": session.csrf }));
  assert.ok(withCsrf.ok);
  const broken = await authenticate(
    { verifyKey: () => Promise.reject(new Error("jwks down")) },
    request("GET", { authorization: "Bearer x" }),
  );
  assert.equal(broken.ok ? null : broken.status, 503);
  const noSessions = await authenticate({ verifyKey: auth.verifyKey }, request("GET", { cookie }));
  assert.equal(noSessions.ok ? null : noSessions.status, 401);
});
