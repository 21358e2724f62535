/**
 * The login function in front of hosted Supabase Auth (the stand-in's hosted profile: per-IP
 * token buckets on /token, 30 requests burst). 200 people logging in from 200 addresses through
 * one function must all get in: the function forwards each caller's IP to Auth
 * (shared/auth/forwarded-client-ip.ts), so Auth does not see one shared address. Without a
 * client address the function's own address is one bucket, and it runs dry after 30 logins.
 */
import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import {
  assertErrorCode,
  type AuthServer,
  callFunction,
  nextClientIp,
  setRollout,
  startAuthServer,
  uniqueEmail,
} from "../auth-e2e-helpers.ts";

const PASSWORD = "Correct-Horse-42";
/** GoTrue's token bucket capacity (supabase/auth internal/api/apilimiter/apilimiter.go). */
const BURST = 30;
/**
 * GoTrue's buckets, with the /token refill (0.5/s by default) slowed to nothing, so how many
 * requests pass does not depend on how fast this machine is.
 */
const NO_REFILL = {
  token: { ratePerSecond: 1e-6, burst: BURST },
  signup: { ratePerSecond: 1e-6, burst: BURST },
};

/** A confirmed Supabase user whose bcrypt hash has cost 4, so 200 logins stay quick. */
async function cheapUser(auth: AuthServer): Promise<string> {
  const email = uniqueEmail("crowd");
  const response = await fetch(`${auth.url}/auth/v1/admin/users`, {
    method: "POST",
    headers: {
      apikey: auth.server.keys.serviceRoleKey,
      Authorization: `Bearer ${auth.server.keys.serviceRoleKey}`,
      "Content-Type": "application/json",
    },
    body: JSON.stringify({
      email,
      password_hash: bcrypt.hashSync(PASSWORD, 4),
      email_confirm: true,
    }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  await response.body?.cancel();
  return email;
}

async function loginMany(
  auth: AuthServer,
  email: string,
  count: number,
  clientIp: () => string | null,
): Promise<number[]> {
  const statuses: number[] = [];
  // A few at a time: many people, not one burst of parallel bcrypt on two shared cores.
  for (let start = 0; start < count; start += 5) {
    const batch = Array.from({ length: Math.min(5, count - start) }, () => {
      const ip = clientIp();
      // "" overrides the helper's per-call address: no client address at all.
      return callFunction(auth, "login", { email, password: PASSWORD }, {
        "X-Forwarded-For": ip ?? "",
      });
    });
    statuses.push(...(await Promise.all(batch)).map((result) => result.status));
  }
  return statuses;
}

for (const rollout of [0, 100]) {
  const path = rollout === 0 ? "original" : "abstracted";
  Deno.test(`login on hosted Auth: 200 clients through one function (${path})`, async (t) => {
    const auth = await startAuthServer({ MIGRATION_MODE: "supabase_only" }, {
      rateLimits: NO_REFILL,
    });
    try {
      await setRollout(auth, rollout);
      const email = await cheapUser(auth);

      await t.step("200 logins from 200 addresses all succeed", async () => {
        const statuses = await loginMany(auth, email, 200, nextClientIp);
        assert.deepEqual(statuses.filter((status) => status !== 200), []);
      });

      await t.step("from one address, Auth's bucket runs dry after its burst", async () => {
        const one = nextClientIp();
        const statuses = await loginMany(auth, email, BURST + 5, () => one);
        assert.equal(statuses.filter((status) => status === 200).length, BURST);
        const limited = await callFunction(auth, "login", { email, password: PASSWORD }, {
          "X-Forwarded-For": one,
        });
        assertErrorCode(limited, 429, "rate_limited");
      });

      await t.step(
        "without forwarding, every caller would share the function's bucket",
        async () => {
          const statuses = await loginMany(auth, email, BURST + 5, () => null);
          assert.equal(statuses.filter((status) => status === 200).length, BURST);
          assert.ok(statuses.slice(BURST).every((status) => status === 429));
        },
      );
    } finally {
      await auth.close();
    }
  });
}
