/**
 * Concurrent signups over HTTP in dual_write (rollout 100 % through the environment): no user is
 * duplicated in either system, both copies share one id, and user_migration_status agrees with
 * both stores for every user.
 *
 * Size: 100 signups by default, not the 200. Every dual-write signup costs three slow
 * password operations in JavaScript (bcrypt in the Auth stand-in, scrypt in Better Auth, the
 * bcrypt sign-in for the session) on one PGlite that serialises every query; on the 2-core CI
 * machine 200 take over a minute. AUTH_E2E_SIGNUPS=200 runs the full size.
 * MIGRATION_FALLBACK_TIMEOUT is raised so that this machine's throughput is not mistaken for an
 * outage: what is checked here is consistency under concurrency, not latency.
 * "Confirm email" is on (the hosted default): every signup answers without a session, and the
 * contenders that lose the shared address get GoTrue's answers for a taken address — 200 with a
 * look-alike user nobody holds, or 429 over_email_send_rate_limit when GoTrue re-sends the
 * winner's confirmation within the minute — never a second user.
 */
import assert from "node:assert/strict";
import { AuthServiceToken } from "../../../../shared/auth/tokens.ts";
import {
  assertAwaitingConfirmation,
  assertMigrationHeaders,
  type AuthServer,
  callFunction,
  GOOD_PASSWORD,
  idsByEmail,
  startAuthServer,
} from "../auth-e2e-helpers.ts";

async function idsOf(auth: AuthServer, id: string) {
  const { rows } = await auth.server.sql.query<{ supabase: number; better_auth: number }>(
    `SELECT (SELECT count(*) FROM auth.users WHERE id = $1::uuid)::int AS supabase,
            (SELECT count(*) FROM "user" WHERE id = $1::uuid)::int AS better_auth`,
    [id],
  );
  return { supabase: Number(rows[0]!.supabase), betterAuth: Number(rows[0]!.better_auth) };
}

const SIGNUPS = Number(Deno.env.get("AUTH_E2E_SIGNUPS") ?? 100);
/** This many of the requests race for one shared address: exactly one may win. */
const CONTENDERS = 10;

Deno.test(`signup over HTTP, dual_write: ${SIGNUPS} concurrent signups, no duplicate, consistent status`, async () => {
  const auth = await startAuthServer({
    MIGRATION_MODE: "dual_write",
    MIGRATION_ROLLOUT_PERCENTAGE: "100",
    MIGRATION_VALIDATION: "true",
    MIGRATION_FALLBACK_TIMEOUT: "120000",
  });
  try {
    const runId = crypto.randomUUID().slice(0, 8);
    const contested = `contested-${runId}@example.com`;
    const emails = Array.from(
      { length: SIGNUPS },
      (_, i) => i < CONTENDERS ? contested : `load-${runId}-${i}@example.com`,
    );
    const results = await Promise.all(emails.map(async (email) => ({
      email,
      result: await callFunction(auth, "signup", {
        email,
        password: GOOD_PASSWORD,
        metadata: { n: email },
      }),
    })));
    // Late background work (none is expected without timeouts) settles before the checks.
    await (await auth.server.container.get(AuthServiceToken)).drain();

    const created = new Map<string, string>();
    const contestedAnswers: string[] = [];
    let rateLimited = 0;
    for (const { email, result } of results) {
      assertMigrationHeaders(result.headers, "abstracted");
      if (email === contested && result.status === 429) {
        assert.equal(result.body.error.code, "rate_limited");
        rateLimited++;
        continue;
      }
      assert.equal(result.status, 200, `${email}: ${JSON.stringify(result.body)}`);
      const body = assertAwaitingConfirmation(result.body, { email, metadata: { n: email } });
      if (email === contested) contestedAnswers.push(body.user.id);
      else created.set(email, body.user.id);
    }
    const winner = await idsByEmail(auth, contested);
    assert.equal(winner.supabase.length, 1, "one user holds the shared address");
    created.set(contested, winner.supabase[0]!);
    // The winner gets its user; a loser gets either GoTrue's look-alike (an id nobody holds) or,
    // when GoTrue re-sent the winner's mail for it, the stored user itself (signup.go).
    assert.ok(contestedAnswers.includes(winner.supabase[0]!), "the winner is answered");
    for (const id of contestedAnswers.filter((id) => id !== winner.supabase[0])) {
      assert.deepEqual(await idsOf(auth, id), { supabase: 0, betterAuth: 0 }, "a look-alike");
    }
    assert.equal(contestedAnswers.length + rateLimited, CONTENDERS);
    assert.equal(created.size, SIGNUPS - CONTENDERS + 1);

    // Under saturation a Supabase write can outlive supabase-js's request bound and land after
    // the dual write looked: that is a recorded one-sided write, which the reconciliation step
    // (POST /signup/reconcile, also run by migrate-batch) repairs. Run it as production would.
    const opened = await auth.server.sql.query<{ kind: string; reason: string; n: number }>(
      `SELECT kind || ' ' || coalesce(missing_side, '') AS kind, reason, count(*)::int AS n
         FROM auth_divergences GROUP BY 1, 2`,
    );
    const oneSided = opened.rows.reduce((sum, row) => sum + row.n, 0);
    if (oneSided > 0) {
      console.log(`one-sided writes recorded under load: ${JSON.stringify(opened.rows)}`);
    }
    const reconcile = await callFunction(auth, "signup/reconcile", {}, {
      Authorization: `Bearer ${auth.server.keys.serviceRoleKey}`,
    });
    assert.equal(reconcile.status, 200, JSON.stringify(reconcile.body));
    assert.equal(reconcile.body.remainingOpen, 0, JSON.stringify(reconcile.body));

    const { rows } = await auth.server.sql.query<{
      email: string;
      supabase_ids: string[];
      better_auth_ids: string[];
      supabase_migrated: boolean | null;
      better_auth_migrated: boolean | null;
      data_validated: boolean | null;
      status_rows: number;
      migrated_rows: number;
    }>(
      `WITH emails AS (SELECT unnest($1::text[]) AS email)
       SELECT e.email,
              ARRAY(SELECT id::text FROM auth.users u WHERE lower(u.email) = e.email) AS supabase_ids,
              ARRAY(SELECT id::text FROM "user" b WHERE b.email = e.email) AS better_auth_ids,
              (SELECT count(*) FROM user_migration_status s WHERE s.email = e.email)::int
                AS status_rows,
              (SELECT count(*) FROM migrated_users m WHERE m.email = e.email)::int AS migrated_rows,
              s.supabase_migrated, s.better_auth_migrated, s.data_validated
         FROM emails e
         LEFT JOIN user_migration_status s ON s.email = e.email`,
      [[...created.keys()]],
    );
    assert.equal(rows.length, created.size, "one status row per user");
    for (const row of rows) {
      const id = created.get(row.email)!;
      assert.deepEqual(row.supabase_ids, [id], `${row.email}: once in auth.users, same id`);
      assert.deepEqual(row.better_auth_ids, [id], `${row.email}: once in Better Auth, same id`);
      assert.equal(row.status_rows, 1, row.email);
      assert.equal(row.supabase_migrated, true, row.email);
      assert.equal(row.better_auth_migrated, true, row.email);
      assert.equal(row.migrated_rows, 1, `${row.email}: migrated_users records how`);
    }
    // Validation compares the copies of every two-sided write (a repaired one is not re-compared).
    const validated = rows.filter((row) => row.data_validated).length;
    assert.ok(validated >= created.size - oneSided, `${validated} validated`);

    const claims = await auth.server.sql.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM auth_signup_claims",
    );
    assert.equal(claims.rows[0]!.n, 0, "every signup claim released");
  } finally {
    await auth.close();
  }
});
