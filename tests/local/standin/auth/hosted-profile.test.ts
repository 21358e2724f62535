/**
 * The stand-in's hosted profile (local/standin/profile.ts), each behaviour as hosted Supabase
 * shows it to supabase-js, on PGlite and PostgreSQL 15:
 * - "Confirm email" on: signUp returns the user without a session; a taken, confirmed address
 *   gets 200 with a look-alike (random id, no identities), a taken unconfirmed one its own user;
 * - per-IP token buckets on /token and /signup: 429 `over_request_rate_limit` after 30, keyed on
 *   Sb-Forwarded-For, else the first X-Forwarded-For value;
 * - admin createUser with an existing id: 500 `unexpected_failure`;
 * - admin listUsers: per_page above 1000 accepted; peers of one created_at in no fixed order;
 * - PostgREST db-max-rows 1000.
 * The lenient profile keeps `supabase start`'s defaults (autoconfirm, no limits, 422s).
 */
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import { Hono } from "hono";
import { createAuthApi } from "../../../../local/standin/auth/app.ts";
import { rateLimitKey, TokenBuckets } from "../../../../local/standin/auth/rate-limit.ts";
import { AUTH_SCHEMA_URL } from "../../../../local/standin/database.ts";
import { createStandinKeys } from "../../../../local/standin/keys.ts";
import {
  GOTRUE_DEFAULT_RATE_LIMITS,
  HOSTED_DB_MAX_ROWS,
  type StandinProfile,
} from "../../../../local/standin/profile.ts";
import { createRestApi } from "../../../../local/standin/rest/rest-api.ts";
import type { SqlClient } from "../../../../shared/db/sql-client.ts";
import { sqlProviders } from "../../../helpers/db.ts";

const keys = await createStandinKeys();
const PASSWORD = "Correct-Horse-42";

/**
 * GoTrue's buckets with the refill slowed to nothing, so how many requests pass does not depend
 * on how fast this machine is; the default figures themselves are checked below.
 */
const NO_REFILL = {
  token: { ratePerSecond: 1e-6, burst: 30 },
  signup: { ratePerSecond: 1e-6, burst: 30 },
};

function standin(db: SqlClient, profile: StandinProfile) {
  const app = new Hono().route(
    "/auth/v1",
    createAuthApi({
      sql: db,
      keys,
      profile,
      ...(profile === "hosted" ? { rateLimits: NO_REFILL } : {}),
    }),
  );
  const client = (key: string, headers: Record<string, string> = {}) =>
    createClient("http://standin.local", key, {
      auth: { persistSession: false, autoRefreshToken: false },
      global: {
        headers,
        fetch: async (input, init) => await app.fetch(new Request(input, init)),
      },
    });
  return { app, client };
}

let counter = 0;
const address = (tag: string) => `${tag}-${++counter}-${crypto.randomUUID().slice(0, 6)}@x.io`;

Deno.test("GoTrue's default limits: /token 150 and /signup 30 per 5 minutes, burst 30", () => {
  // supabase/auth internal/conf/configuration.go (RateLimitTokenRefresh 150, RateLimitOtp 30)
  // and internal/api/apilimiter/apilimiter.go (rate/(60*5), SetBurst(30)).
  assert.deepEqual(GOTRUE_DEFAULT_RATE_LIMITS, {
    token: { ratePerSecond: 0.5, burst: 30 },
    signup: { ratePerSecond: 0.1, burst: 30 },
  });
  assert.equal(HOSTED_DB_MAX_ROWS, 1000);
});

Deno.test("TokenBuckets: full at start, refilled over time, one bucket per key", () => {
  let now = 0;
  const buckets = new TokenBuckets({ ratePerSecond: 0.5, burst: 3 }, () => now);
  assert.deepEqual([1, 2, 3, 4].map(() => buckets.take("a")), [true, true, true, false]);
  assert.equal(buckets.take("b"), true, "another key has its own bucket");
  now = 1_999;
  assert.equal(buckets.take("a"), false, "just under one token refilled");
  now = 2_000;
  assert.equal(buckets.take("a"), true);
  now = 100_000;
  assert.deepEqual([1, 2, 3, 4].map(() => buckets.take("a")), [true, true, true, false]);
});

Deno.test("rateLimitKey: Sb-Forwarded-For when a valid IP, else the first X-Forwarded-For", () => {
  const key = (headers: Record<string, string>, remote?: string) =>
    rateLimitKey(new Headers(headers), remote);
  assert.equal(key({ "sb-forwarded-for": "203.0.113.9, 10.0.0.1" }), "203.0.113.9");
  assert.equal(
    key({ "sb-forwarded-for": "not-an-ip", "x-forwarded-for": "198.51.100.1, 10.0.0.2" }),
    "198.51.100.1",
  );
  assert.equal(key({ "x-forwarded-for": " 2001:db8::1 ,10.0.0.3" }), "2001:db8::1");
  assert.equal(key({}, "127.0.0.1"), "127.0.0.1", "the peer, as the gateway would set it");
  assert.equal(key({}), null);
});

for (const provider of sqlProviders()) {
  Deno.test(`Auth stand-in, hosted profile on ${provider.name}`, async (t) => {
    const db = await provider.open();
    try {
      await db.exec(await Deno.readTextFile(AUTH_SCHEMA_URL));
      const hosted = standin(db, "hosted");
      const lenient = standin(db, "lenient");

      await t.step("Confirm email on: signUp returns the user without a session", async () => {
        const email = address("new");
        const { data, error } = await hosted.client(keys.anonKey).auth.signUp({
          email,
          password: PASSWORD,
        });
        assert.equal(error, null);
        assert.equal(data.session, null);
        assert.equal(data.user?.email, email);
        assert.equal(data.user?.identities?.length, 1);
        assert.equal(data.user?.email_confirmed_at ?? null, null);
        const login = await hosted.client(keys.anonKey).auth.signInWithPassword({
          email,
          password: PASSWORD,
        });
        assert.equal(login.error?.code, "email_not_confirmed");
      });

      await t.step("a taken unconfirmed address: its own user again, no session", async () => {
        const email = address("unconfirmed");
        const first = await hosted.client(keys.anonKey).auth.signUp({ email, password: PASSWORD });
        // The mail is re-sent (mail.go sendConfirmation), at most once a minute: move the first
        // one a minute back (the within-the-minute 429 is in confirmation.test.ts).
        await db.query(
          `UPDATE auth.users SET confirmation_sent_at = now() - interval '61 seconds'
            WHERE email = $1`,
          [email],
        );
        const again = await hosted.client(keys.anonKey).auth.signUp({
          email,
          password: "Another-Password-9",
        });
        assert.equal(again.error, null);
        assert.equal(again.data.session, null);
        assert.equal(again.data.user?.id, first.data.user?.id);
      });

      await t.step("a taken confirmed address: 200 look-alike, not 422", async () => {
        const email = address("taken");
        const admin = hosted.client(keys.serviceRoleKey).auth.admin;
        const created = await admin.createUser({ email, password: PASSWORD, email_confirm: true });
        assert.equal(created.error, null);
        const { data, error } = await hosted.client(keys.anonKey).auth.signUp({
          email,
          password: PASSWORD,
          options: { data: { plan: "pro" } },
        });
        assert.equal(error, null);
        assert.equal(data.session, null);
        assert.deepEqual(data.user?.identities, []);
        assert.notEqual(data.user?.id, created.data.user?.id);
        assert.deepEqual(data.user?.user_metadata, { plan: "pro" });
        const stored = await db.query("SELECT 1 FROM auth.users WHERE id = $1::uuid", [
          data.user!.id,
        ]);
        assert.equal(stored.rows.length, 0, "the look-alike is never stored");
        // The lenient profile (autoconfirm) says so instead.
        const local = await lenient.client(keys.anonKey).auth.signUp({ email, password: PASSWORD });
        assert.equal(local.error?.status, 422);
        assert.equal(local.error?.code, "user_already_exists");
      });

      await t.step("/token: 30 per client address, then 429 over_request_rate_limit", async () => {
        const email = address("limited");
        await hosted.client(keys.serviceRoleKey).auth.admin.createUser({
          email,
          password: PASSWORD,
          email_confirm: true,
        });
        const from = (ip: string) =>
          hosted.client(keys.anonKey, { "X-Forwarded-For": ip }).auth.signInWithPassword({
            email,
            password: "wrong-password",
          });
        const answers = [];
        for (let i = 0; i < 31; i++) answers.push(await from("198.51.100.7"));
        assert.ok(answers.slice(0, 30).every((a) => a.error?.code === "invalid_credentials"));
        assert.equal(answers[30]!.error?.status, 429);
        assert.equal(answers[30]!.error?.code, "over_request_rate_limit");
        assert.equal(answers[30]!.error?.message, "Request rate limit reached");
        const other = await from("198.51.100.8");
        assert.equal(other.error?.code, "invalid_credentials", "another client is not limited");
        // Sb-Forwarded-For names the client even when X-Forwarded-For is the exhausted one.
        const sbff = await hosted.client(keys.anonKey, {
          "X-Forwarded-For": "198.51.100.7",
          "Sb-Forwarded-For": "198.51.100.9",
        }).auth.signInWithPassword({ email, password: "wrong-password" });
        assert.equal(sbff.error?.code, "invalid_credentials");
        // Lenient: no limit.
        const local = await lenient.client(keys.anonKey, { "X-Forwarded-For": "198.51.100.7" })
          .auth.signInWithPassword({ email, password: "wrong-password" });
        assert.equal(local.error?.code, "invalid_credentials");
      });

      await t.step("/signup: 30 per client address, then 429", async () => {
        const client = hosted.client(keys.anonKey, { "X-Forwarded-For": "203.0.113.77" });
        const answers = [];
        for (let i = 0; i < 31; i++) {
          // Too short: refused after the limiter took its token, without a bcrypt hash.
          answers.push(await client.auth.signUp({ email: address("burst"), password: "x" }));
        }
        assert.ok(answers.slice(0, 30).every((a) => a.error?.code === "weak_password"));
        assert.equal(answers[30]!.error?.code, "over_request_rate_limit");
      });

      await t.step("admin createUser with an existing id: 500 unexpected_failure", async () => {
        const admin = hosted.client(keys.serviceRoleKey).auth.admin;
        const first = await admin.createUser({ email: address("id"), password: PASSWORD });
        const again = await admin.createUser({
          id: first.data.user!.id,
          email: address("id-again"),
          password: PASSWORD,
        });
        // supabase-js reports a 5xx as AuthRetryableFetchError (status and message only).
        assert.equal(again.error?.status, 500);
        assert.equal(again.error?.message, "Database error creating new user");
        const raw = await hosted.app.fetch(
          new Request("http://standin.local/auth/v1/admin/users", {
            method: "POST",
            headers: {
              apikey: keys.serviceRoleKey,
              Authorization: `Bearer ${keys.serviceRoleKey}`,
              "X-Supabase-Api-Version": "2024-01-01",
            },
            body: JSON.stringify({ id: first.data.user!.id, email: address("raw") }),
          }),
        );
        assert.equal(raw.status, 500);
        assert.deepEqual(await raw.json(), {
          code: "unexpected_failure",
          message: "Database error creating new user",
        });
        const local = await lenient.client(keys.serviceRoleKey).auth.admin.createUser({
          id: first.data.user!.id,
          email: address("id-lenient"),
          password: PASSWORD,
        });
        assert.equal(local.error?.status, 422);
      });

      await t.step(
        "admin listUsers: no per_page cap, peers of one created_at unordered",
        async () => {
          await db.query(
            `INSERT INTO auth.users (instance_id, id, aud, role, email, created_at, updated_at)
           SELECT '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated',
                  'authenticated', 'peer' || n || '@tie.io', '2020-01-01', '2020-01-01'
             FROM generate_series(1, 60) AS n`,
          );
          const admin = hosted.client(keys.serviceRoleKey).auth.admin;
          const all = await admin.listUsers({ page: 1, perPage: 5000 });
          assert.equal(all.error, null);
          const total = (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM auth.users"))
            .rows[0]!.n;
          assert.equal(all.data.users.length, total, "per_page 5000 accepted and honoured");
          const dates = all.data.users.map((user) => Date.parse(user.created_at));
          assert.deepEqual(dates, [...dates].sort((a, b) => b - a), "created_at DESC");
          const orders = new Set<string>();
          for (let i = 0; i < 5; i++) {
            const { data } = await admin.listUsers({ page: 1, perPage: 5000 });
            orders.add(
              data.users.filter((u) => u.email?.endsWith("@tie.io")).map((u) => u.id).join(),
            );
          }
          assert.ok(orders.size > 1, "no tiebreaker: the peers' order changes between requests");
          const capped = await lenient.client(keys.serviceRoleKey).auth.admin.listUsers({
            page: 1,
            perPage: 5000,
          });
          assert.equal(capped.error?.status, 400, "lenient keeps GoTrue's old 1000 cap");
        },
      );
    } finally {
      await db.close();
    }
  });

  Deno.test(`REST stand-in, hosted profile on ${provider.name}: db-max-rows 1000`, async () => {
    const db = await provider.open();
    try {
      await db.exec(await Deno.readTextFile(AUTH_SCHEMA_URL)); // the API roles
      await db.exec(
        "CREATE TABLE public.many AS SELECT n FROM generate_series(1, 1500) AS n; " +
          "GRANT SELECT ON public.many TO anon, authenticated, service_role;",
      );
      for (const [profile, expected] of [["hosted", 1000], ["lenient", 1500]] as const) {
        const rest = createRestApi({ sql: db, jwtSecret: keys.jwtSecret, profile });
        const response = await rest.fetch(
          new Request("http://standin.local/rest/v1/many?select=n", {
            headers: {
              apikey: keys.serviceRoleKey,
              Authorization: `Bearer ${keys.serviceRoleKey}`,
            },
          }),
        );
        assert.equal(response.status, 200);
        assert.equal((await response.json()).length, expected, profile);
      }
    } finally {
      await db.close();
    }
  });
}
