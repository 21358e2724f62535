/**
 * The login rate limiter through HTTP on both databases, as an attacker and the owner meet it: the
 * client IP is the one the trusted gateway hop appended, so rotating a fake first
 * X-Forwarded-For entry changes nothing; failures are counted per (email, IP), so an attacker's
 * guesses never lock the owner out of their own account from their own address.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../../../shared/config/env.ts";
import { createAppContainer } from "../../../../shared/di/app-container.ts";
import { buildFunctionApp } from "../../../../shared/functions/registry.ts";
import { registerObservability } from "../../../../shared/observability/register.ts";
import { sqlProviders } from "../../../helpers/db.ts";

const PASSWORD = "Correct-Horse-42";
const ATTACKER = "198.51.100.66";
const OWNER = "203.0.113.5";

for (const provider of sqlProviders()) {
  Deno.test(`login rate limits per (email, trusted IP) over HTTP on ${provider.name}`, async () => {
    const db = await provider.open();
    const container = createAppContainer(
      loadConfig({
        // Supabase is never reached in better_auth_only at 100 %; the original needs a URL.
        SUPABASE_URL: "http://127.0.0.1:1",
        SUPABASE_ANON_KEY: "anon-key-for-rate-limit-tests",
        SUPABASE_SERVICE_ROLE_KEY: "service-key-for-rate-limit-tests",
        BETTER_AUTH_SECRET: "rate-limit-test-better-auth-secret-0123456789",
        MIGRATION_MODE: "better_auth_only",
        MIGRATION_ROLLOUT_PERCENTAGE: "100",
        FLAGS_CACHE_TTL_MS: "0",
        LOG_LEVEL: "silent",
      }),
      { sql: db },
    );
    registerObservability(container);
    const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
    const serve = async (name: "signup" | "login") => {
      const app = await buildFunctionApp(name, container);
      const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
      servers.push(server);
      return `http://127.0.0.1:${server.addr.port}/${name}`;
    };
    try {
      const signupUrl = await serve("signup");
      const loginUrl = await serve("login");
      const email = `owner-${crypto.randomUUID().slice(0, 8)}@example.com`;
      const post = (url: string, body: unknown, forwardedFor: string) =>
        fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", "x-forwarded-for": forwardedFor },
          body: JSON.stringify(body),
        });
      const signup = await post(signupUrl, { email, password: PASSWORD }, OWNER);
      assert.equal(signup.status, 200, await signup.clone().text());
      await signup.body?.cancel();

      // The attacker rotates a fake first hop on every guess; the gateway's entry is the last.
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const guess = await post(
          loginUrl,
          { email, password: `wrong-guess-${i}` },
          `10.9.${i}.1, ${ATTACKER}`,
        );
        statuses.push(guess.status);
        await guess.body?.cancel();
      }
      assert.deepEqual(statuses, [400, 400, 400, 400, 400, 400]);
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM auth_rate_limits
          WHERE bucket LIKE 'login:pair:%' AND blocked_until > now() - interval '1 hour'`,
      );
      assert.equal(rows[0]!.n, 1, "one pair bucket: every fake first hop counted as one IP");
      // As after many more guesses: the attacker's pair is blocked for a long time.
      await db.query(
        `UPDATE auth_rate_limits SET blocked_until = now() + interval '1 hour'
          WHERE bucket LIKE 'login:pair:%'`,
      );
      const blocked = await post(loginUrl, { email, password: PASSWORD }, `1.1.1.1, ${ATTACKER}`);
      assert.equal(blocked.status, 429, "a new fake first hop does not help the attacker");
      assert.ok(Number(blocked.headers.get("retry-after")) > 0);
      await blocked.body?.cancel();

      // The owner, from their own address, is not locked out by the attacker's failures.
      const owner = await post(loginUrl, { email, password: PASSWORD }, OWNER);
      assert.equal(owner.status, 200, await owner.clone().text());
      await owner.body?.cancel();
    } finally {
      for (const server of servers) await server.shutdown();
      await container.dispose();
      await db.close();
    }
  });
}
