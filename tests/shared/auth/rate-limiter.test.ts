import assert from "node:assert/strict";
import { AuthError } from "../../../shared/auth/errors.ts";
import { LoginRateLimiter, type RateLimitSettings } from "../../../shared/auth/rate-limiter.ts";
import { sqlProviders } from "../../helpers/db.ts";

const rules: RateLimitSettings = {
  pair: { freeFailures: 2, baseDelaySeconds: 10, maxDelaySeconds: 35, windowSeconds: 600 },
  ip: { maxFailures: 6, windowSeconds: 60 },
};

async function blocked(
  limiter: LoginRateLimiter,
  email: string,
  ip?: string,
): Promise<AuthError | null> {
  try {
    await limiter.assertAllowed(email, ip);
    return null;
  } catch (error) {
    assert.ok(error instanceof AuthError);
    return error;
  }
}

/** Seconds the newest block of the pair/IP lasts, as the limiter reports it. */
async function retryAfter(limiter: LoginRateLimiter, email: string, ip?: string) {
  return (await blocked(limiter, email, ip))?.retryAfterSeconds ?? 0;
}

for (const provider of sqlProviders()) {
  Deno.test(`LoginRateLimiter on ${provider.name}`, async (t) => {
    const db = await provider.open();
    const unblock = () => db.query(`UPDATE auth_rate_limits SET blocked_until = now()`);
    try {
      await t.step(
        "free failures, then delays that double up to the cap, shared by every instance",
        async () => {
          // The pair's delays alone: this address's own bucket must not trip during the step
          // (6 failures would reach `rules.ip`, tested below).
          const pairOnly = { ...rules, ip: { maxFailures: 100, windowSeconds: 60 } };
          const a = new LoginRateLimiter(db, pairOnly);
          const b = new LoginRateLimiter(db, pairOnly);
          const ip = "192.0.2.10";
          await a.recordFailure("Ada@Example.com", ip);
          await b.recordFailure("ada@example.com", ip);
          assert.equal(await blocked(a, "ada@example.com", ip), null, "2 free failures");
          const delays: number[] = [];
          for (let i = 0; i < 4; i++) {
            await (i % 2 ? a : b).recordFailure("ADA@example.com", ip);
            delays.push(await retryAfter(a, "ada@example.com", ip));
            await unblock();
          }
          assert.deepEqual(delays, [10, 20, 35, 35]);
          await a.recordFailure("ada@example.com", ip);
          const error = await blocked(b, "ada@example.com", ip);
          assert.equal(error?.code, "rate_limited");
          assert.equal(error?.status, 429);
          assert.deepEqual(error!.headers(), { "Retry-After": String(error!.retryAfterSeconds) });
        },
      );

      await t.step("an attacker elsewhere cannot lock the owner out", async () => {
        const limiter = new LoginRateLimiter(db, rules);
        for (let i = 0; i < 5; i++) {
          await limiter.recordFailure("owner@example.com", "198.51.100.66");
        }
        assert.ok(await blocked(limiter, "owner@example.com", "198.51.100.66"), "attacker slowed");
        assert.equal(await blocked(limiter, "owner@example.com", "203.0.113.5"), null, "owner not");
      });

      await t.step(
        "the IP bucket blocks every email from that address (credential stuffing)",
        async () => {
          const limiter = new LoginRateLimiter(db, rules);
          for (let i = 0; i < 6; i++) await limiter.recordFailure(`u${i}@example.com`, "192.0.2.1");
          assert.equal(
            (await blocked(limiter, "fresh@example.com", "192.0.2.1"))?.code,
            "rate_limited",
          );
          assert.equal(await blocked(limiter, "fresh@example.com", "192.0.2.2"), null);
        },
      );

      await t.step("a success clears its pair only; the IP count stays", async () => {
        const limiter = new LoginRateLimiter(db, rules);
        for (const ip of ["192.0.2.20", "192.0.2.21"]) {
          for (let i = 0; i < 3; i++) await limiter.recordFailure("bob@example.com", ip);
        }
        await limiter.recordSuccess("bob@example.com", "192.0.2.20");
        assert.equal(await blocked(limiter, "bob@example.com", "192.0.2.20"), null);
        assert.ok(await blocked(limiter, "bob@example.com", "192.0.2.21"), "the other pair stays");
        const { rows } = await db.query<{ failures: number }>(
          `SELECT failures FROM auth_rate_limits WHERE bucket LIKE 'login:ip:%' ORDER BY failures`,
        );
        assert.ok(rows.some((row) => row.failures === 3), "IP buckets are not cleared");
      });

      await t.step("an idle pair starts over; nothing is stored in clear", async () => {
        const limiter = new LoginRateLimiter(db, rules);
        for (let i = 0; i < 3; i++) await limiter.recordFailure("eve@example.com");
        assert.ok(await blocked(limiter, "eve@example.com"));
        await db.query(
          `UPDATE auth_rate_limits SET updated_at = now() - interval '601 seconds',
                  blocked_until = now() - interval '1 second'`,
        );
        await limiter.recordFailure("eve@example.com");
        assert.equal(await blocked(limiter, "eve@example.com"), null, "one failure after idling");
        const { rows } = await db.query<{ bucket: string }>(`SELECT bucket FROM auth_rate_limits`);
        for (const { bucket } of rows) {
          assert.match(bucket, /^login:(pair:[0-9a-f]{64}:([0-9a-f]{64}|-)|ip:[0-9a-f]{64})$/);
        }
        await db.query(`UPDATE auth_rate_limits SET updated_at = now() - interval '2 days'`);
        assert.ok(await limiter.purgeStale() > 0);
      });
    } finally {
      await db.close();
    }
  });
}
