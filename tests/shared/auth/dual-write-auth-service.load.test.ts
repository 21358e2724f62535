/**
 * Load: 200 concurrent dual-write signups (160 distinct emails, so 40 race another signup for
 * the same email) through the real stand-in and Better Auth. No user may exist twice in either
 * system, every created user must have the same id in both, and user_migration_status must
 * describe exactly what exists.
 */
import assert from "node:assert/strict";
import { TEST_DATABASE_URL } from "../../helpers/db.ts";
import { openStack, PASSWORD, type Provider } from "./harness.ts";

const SIGNUPS = 200;
const DISTINCT = 160;

for (const provider of ["pglite", "postgres"] as Provider[]) {
  Deno.test({
    name:
      `${SIGNUPS} concurrent dual-write signups on ${provider}: no duplicates, consistent status`,
    ignore: provider === "postgres" && !TEST_DATABASE_URL,
    async fn() {
      // Generous timeouts: this test is about correctness under contention, not latency (the
      // stand-in shares this process's one JS thread with 200 bcrypt hashes).
      const stack = await openStack(provider, { requestTimeoutMs: 120_000 });
      try {
        const service = stack.service({
          mode: "dual_write",
          useBetterAuth: true,
          fallbackTimeoutMs: 60_000,
        });
        const run = `load-${Date.now().toString(36)}`;
        const emails = Array.from(
          { length: SIGNUPS },
          (_, i) => `${run}.${i % DISTINCT}@example.com`,
        );
        const results = await Promise.all(
          emails.map((address, i) =>
            service.signUp({ email: address, password: PASSWORD, metadata: { n: i % DISTINCT } })
          ),
        );
        await service.drain();

        const winners = new Map<string, string>();
        results.forEach((result, i) => {
          const address = emails[i]!;
          if (result.ok) {
            assert.ok(!winners.has(address), `two successful signups for ${address}`);
            winners.set(address, result.value.user.id);
          } else {
            assert.equal(result.error.code, "user_already_exists", result.error.message);
          }
        });
        assert.equal(winners.size, DISTINCT, "every distinct email got exactly one account");

        const pattern = `${run}.%`;
        const supabase = await stack.db.query<{ email: string; id: string }>(
          `SELECT email, id::text AS id FROM auth.users WHERE email LIKE $1`,
          [pattern],
        );
        const betterAuth = await stack.db.query<{ email: string; id: string }>(
          `SELECT email, id::text AS id FROM "user" WHERE email LIKE $1`,
          [pattern],
        );
        assert.equal(
          supabase.rows.length,
          DISTINCT,
          `${supabase.rows.length} users in Supabase Auth`,
        );
        assert.equal(
          betterAuth.rows.length,
          DISTINCT,
          `${betterAuth.rows.length} users in Better Auth`,
        );
        for (const { email, id } of [...supabase.rows, ...betterAuth.rows]) {
          assert.equal(winners.get(email), id, `the same id in both systems for ${email}`);
        }

        const status = await stack.db.query<{
          user_id: string;
          supabase_migrated: boolean;
          better_auth_migrated: boolean;
          data_validated: boolean;
        }>(
          `SELECT user_id::text AS user_id, supabase_migrated, better_auth_migrated, data_validated
             FROM user_migration_status WHERE email LIKE $1`,
          [pattern],
        );
        const winnerIds = new Set(winners.values());
        const byId = new Map(status.rows.map((row) => [row.user_id, row]));
        for (const id of winnerIds) {
          assert.deepEqual(
            byId.get(id),
            {
              user_id: id,
              supabase_migrated: true,
              better_auth_migrated: true,
              data_validated: true,
            },
          );
        }
        // Losing attempts (undone writes) are never reported as present anywhere.
        for (const row of status.rows) {
          if (winnerIds.has(row.user_id)) continue;
          assert.equal(row.supabase_migrated || row.better_auth_migrated, false, row.user_id);
        }
        const claims = await stack.db.query(`SELECT 1 FROM auth_signup_claims`);
        assert.equal(claims.rows.length, 0, "every claim released");
        assert.equal(await stack.divergences.countOpen(), 0, "nothing left to reconcile");
      } finally {
        await stack.close();
      }
    },
  });
}
