import assert from "node:assert/strict";
import { AuthError } from "../../../shared/auth/errors.ts";
import { LoginRateLimiter } from "../../../shared/auth/rate-limiter.ts";
import { sqlProviders } from "../../helpers/db.ts";

const rules = {
  email: { maxFailures: 3, windowSeconds: 60 },
  ip: { maxFailures: 4, windowSeconds: 60 },
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

for (const provider of sqlProviders()) {
  Deno.test(`LoginRateLimiter on ${provider.name}`, async (t) => {
    const db = await provider.open();
    try {
      await t.step("blocks an email after its limit, shared by every instance", async () => {
        const a = new LoginRateLimiter(db, rules);
        const b = new LoginRateLimiter(db, rules);
        for (let i = 0; i < 2; i++) await a.recordFailure("Ada@Example.com");
        assert.equal(await blocked(b, "ada@example.com"), null);
        await b.recordFailure("ada@example.com");
        const error = await blocked(a, "ADA@example.com");
        assert.equal(error?.code, "rate_limited");
        assert.equal(error?.status, 429);
        assert.ok(error!.retryAfterSeconds! > 0 && error!.retryAfterSeconds! <= 60);
        assert.deepEqual(error!.headers(), { "Retry-After": String(error!.retryAfterSeconds) });
      });

      await t.step("the IP bucket blocks every email from that address", async () => {
        const limiter = new LoginRateLimiter(db, rules);
        for (let i = 0; i < 4; i++) await limiter.recordFailure(`u${i}@example.com`, "192.0.2.1");
        assert.equal(
          (await blocked(limiter, "fresh@example.com", "192.0.2.1"))?.code,
          "rate_limited",
        );
        assert.equal(await blocked(limiter, "fresh@example.com", "192.0.2.2"), null);
      });

      await t.step("a success clears the email's failures", async () => {
        const limiter = new LoginRateLimiter(db, rules);
        await limiter.recordFailure("bob@example.com");
        await limiter.recordFailure("bob@example.com");
        await limiter.recordSuccess("bob@example.com");
        await limiter.recordFailure("bob@example.com");
        assert.equal(await blocked(limiter, "bob@example.com"), null);
      });

      await t.step("an expired window starts over; nothing is stored in clear", async () => {
        const limiter = new LoginRateLimiter(db, {
          ...rules,
          email: { maxFailures: 2, windowSeconds: 1 },
        });
        await limiter.recordFailure("eve@example.com");
        await limiter.recordFailure("eve@example.com");
        assert.ok(await blocked(limiter, "eve@example.com"));
        await db.query(
          `UPDATE auth_rate_limits SET window_start = now() - interval '5 seconds',
                  blocked_until = now() - interval '1 second'`,
        );
        assert.equal(await blocked(limiter, "eve@example.com"), null);
        await limiter.recordFailure("eve@example.com");
        assert.equal(
          await blocked(limiter, "eve@example.com"),
          null,
          "one failure in a new window",
        );
        const { rows } = await db.query<{ bucket: string }>(`SELECT bucket FROM auth_rate_limits`);
        for (const { bucket } of rows) {
          assert.match(bucket, /^login:(email|ip):[0-9a-f]{64}$/);
        }
        await db.query(`UPDATE auth_rate_limits SET updated_at = now() - interval '2 days'`);
        assert.ok(await limiter.purgeStale() > 0);
      });
    } finally {
      await db.close();
    }
  });
}
