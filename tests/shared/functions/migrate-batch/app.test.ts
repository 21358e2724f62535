/**
 * The migrate-batch function end to end over HTTP through the dev server: the local cron drives
 * a migration of the seeded Supabase users to done in several invocations, a migrated user logs in
 * through the login function with the password they had on Supabase (verified as bcrypt, then
 * rehashed to scrypt), the migration is rolled back through the function URL without touching a
 * native signup, and an emergency rollback through the admin route switches routing to the
 * original implementation.
 */
import assert from "node:assert/strict";
import { Mailbox } from "../../../../local/standin/auth/confirmation.ts";
import { startDevServer } from "../../../../local/standin/dev-server.ts";
import { RuntimeFlagsStore } from "../../../../shared/flags/store.ts";
import {
  assertAuthContract,
  assertMigrationHeaders,
  type AuthServer,
  callFunction,
  clickConfirmationLink,
  declareMigrationComplete,
  GOOD_PASSWORD,
  uniqueEmail,
} from "../auth-e2e-helpers.ts";
import { demoPasswordFor } from "../../../../local/standin/seed-legacy-users.ts";

const SEEDED_USERS = 60;
const BATCH_SIZE = 8;

interface Call {
  readonly status: number;
  readonly headers: Headers;
  // deno-lint-ignore no-explicit-any
  readonly body: any;
}

async function request(
  auth: AuthServer,
  method: string,
  path: string,
  options: { key?: string | null; body?: unknown } = {},
): Promise<Call> {
  const key = options.key === undefined ? auth.server.keys.serviceRoleKey : options.key;
  const response = await fetch(`${auth.url}/functions/v1/migrate-batch${path}`, {
    method,
    headers: {
      "Content-Type": "application/json",
      ...(key ? { Authorization: `Bearer ${key}`, apikey: key } : {}),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Kept as text for the failing assertion's message.
  }
  return { status: response.status, headers: response.headers, body };
}

async function count(auth: AuthServer, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await auth.server.sql.query<{ n: number }>(sql, params);
  return Number(rows[0]!.n);
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== null) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

for (const path of ["abstracted", "original"] as const) {
  Deno.test(`migrate-batch over HTTP, ${path} path: cron migrates to done, old passwords log in, rollbacks work`, async (t) => {
    const runBody = path === "abstracted" ? {} : { engine: "per_user" };
    const mailbox = new Mailbox();
    const server = await startDevServer({
      port: 0,
      profile: "hosted",
      auth: { mailbox },
      dataDir: null,
      seedUsers: SEEDED_USERS,
      // The cron's `{}` runs the set-based engine; the per-user one only when asked for.
      cron: { intervalMs: 150, body: runBody },
      log: () => {},
      env: {
        LOG_LEVEL: "error",
        FLAGS_CACHE_TTL_MS: "0",
        MIGRATION_MODE: "dual_write",
        USE_BETTER_AUTH: "true",
        MIGRATION_BATCH_SIZE: String(BATCH_SIZE),
        // One batch per invocation, so the cron has to call again and again.
        MIGRATION_BATCH_BUDGET_MS: "0",
        // Routes users (signup, login); a batch run ignores it (see cron above).
        MIGRATION_ROLLOUT_PERCENTAGE: path === "abstracted" ? "100" : "0",
      },
    });
    const flags = new RuntimeFlagsStore(server.sql);
    const auth = { server, url: server.url, flags, mailbox } as unknown as AuthServer;
    try {
      await t.step("without the service-role key nothing runs: 401", async () => {
        for (const key of [null, server.keys.anonKey, "not-a-key"]) {
          const refused = await request(auth, "POST", "/", { key, body: {} });
          assert.equal(refused.status, 401, JSON.stringify(refused.body));
          const status = await request(auth, "GET", "/status", { key });
          assert.equal(status.status, 401);
        }
      });

      // Users either path may migrate: a valid address, or none but a phone (banned users
      // migrate as Better Auth bans on the set-based path).
      const valid = await count(
        auth,
        `SELECT count(*)::int AS n FROM auth.users
        WHERE deleted_at IS NULL AND (email ~ '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'
                                      OR (email IS NULL AND phone IS NOT NULL))`,
      );
      let nativeEmail = "";
      let nativeId = "";

      const migrationStep = await t.step("the cron drives the migration to completed", async () => {
        // A user signing up natively while the migration runs: the abstracted signup in
        // dual_write writes both systems, so the migration must skip it.
        const signupFlag = await flags.upsert("signup", { rolloutPercentage: 100 }, {
          updatedBy: "e2e test",
        });
        assert.ok(signupFlag.ok);
        nativeEmail = uniqueEmail("native");
        const signup = await callFunction(auth, "signup", {
          email: nativeEmail,
          password: GOOD_PASSWORD,
        });
        assert.equal(signup.status, 200, JSON.stringify(signup.body));
        nativeId = signup.body.user.id;
        // "Confirm email" on: the user confirms through the mailed link before any login.
        await clickConfirmationLink(auth, nativeEmail);

        const done = await waitFor("a completed migration", async () => {
          const status = await request(auth, "GET", "/status");
          assert.equal(status.status, 200, JSON.stringify(status.body));
          const completed = status.body.migrations.find((m: { status: string }) =>
            m.status === "completed"
          );
          return completed ?? null;
        });
        assert.equal(done.batch_size, BATCH_SIZE);
        assert.equal(
          done.source,
          path === "abstracted" ? "supabase_auth" : "supabase_auth:per_user",
        );
        if (path === "abstracted") {
          assert.ok(done.leases.total >= Math.ceil(SEEDED_USERS / BATCH_SIZE), "many batches");
        }
        // One batch per call: the cron had to call again and again.
        assert.ok(server.cron!.stats().ticks >= Math.ceil(SEEDED_USERS / BATCH_SIZE));
        assert.equal(done.progress_percent, 100);
        assert.ok(done.errors > 0, "the seeded invalid rows are recorded, not migrated");
        assert.equal(
          await count(
            auth,
            "SELECT count(*)::int AS n FROM migration_errors WHERE migration_id = $1",
            [done.id],
          ),
          done.errors,
        );
        // Every valid Supabase user has a Better Auth user under the same id; the native signup
        // was already there and is not migrated again.
        const missing = await count(
          auth,
          `SELECT count(*)::int AS n FROM auth.users a
          WHERE a.email ~ '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$' AND a.deleted_at IS NULL
            AND (a.banned_until IS NULL OR a.banned_until < now())
            AND lower(a.email) NOT IN (
              SELECT lower(email) FROM auth.users GROUP BY lower(email) HAVING count(*) > 1)
            AND NOT EXISTS (SELECT 1 FROM "user" u WHERE u.id = a.id)`,
        );
        assert.equal(missing, 0, "every valid user reached Better Auth");
        assert.ok(done.migrated > 0 && done.migrated <= valid, JSON.stringify(done));
        // The native signup is in Better Auth through its own dual write, never through the
        // batch (a rollback of the batch must not delete it), whether or not the batch saw it.
        const nativeVia = await auth.server.sql.query<{ migrated_via: string }>(
          "SELECT migrated_via FROM migrated_users WHERE new_auth_id = $1::uuid",
          [nativeId],
        );
        assert.deepEqual(nativeVia.rows.map((row) => row.migrated_via), ["dual_write"]);
      });
      assert.ok(migrationStep, "the migration completed");

      // Later cron calls after completion find nothing to do.
      const usersAfter = await count(auth, `SELECT count(*)::int AS n FROM "user"`);
      const accountsAfter = await count(auth, "SELECT count(*)::int AS n FROM account");

      await t.step("re-running after completion writes nothing", async () => {
        for (let i = 0; i < 3; i++) {
          const rerun = await request(auth, "POST", "/", { body: runBody });
          assert.equal(rerun.status, 200, JSON.stringify(rerun.body));
          assert.equal(rerun.body.migrated, 0);
        }
        assert.equal(await count(auth, `SELECT count(*)::int AS n FROM "user"`), usersAfter);
        assert.equal(await count(auth, "SELECT count(*)::int AS n FROM account"), accountsAfter);
      });

      const migrationId = await migrationIdOf(auth);

      await t.step(
        "a migrated user logs in through the login function with the old password",
        async () => {
          const flagged = await flags.upsert("login", { rolloutPercentage: 100 }, {
            updatedBy: "e2e test",
          });
          assert.ok(flagged.ok);
          const user = await migratedPasswordUser(auth, migrationId);
          // Seeded addresses end in their number (demo@example.com is user 1).
          const number = Number(/(\d+)@/.exec(user.email)?.[1] ?? "1");
          const before = await credentialHash(auth, user.id);
          assert.match(
            before,
            /^\$2[aby]\$10\$/,
            "the batch carried the bcrypt hash over unchanged",
          );

          // The re-hash waits for the migration to be declared complete (shared/sync/).
          await declareMigrationComplete(auth);
          const login = await callFunction(auth, "login", {
            email: user.email,
            password: demoPasswordFor(number),
          });
          assert.equal(login.status, 200, JSON.stringify(login.body));
          assertMigrationHeaders(login.headers, "abstracted");
          const result = assertAuthContract(login.body, { email: user.email });
          assert.equal(result.user.id, user.id, "same id in both systems");

          const after = await waitFor("the scrypt rehash", async () => {
            const hash = await credentialHash(auth, user.id);
            return hash.startsWith("$2") ? null : hash;
          });
          assert.notEqual(after, before);
          const again = await callFunction(auth, "login", {
            email: user.email,
            password: demoPasswordFor(number),
          });
          assert.equal(again.status, 200, "the rehashed password still works");
          const wrong = await callFunction(auth, "login", {
            email: user.email,
            password: "not-the-password",
          });
          assert.equal(wrong.status, 400);
          assert.equal(wrong.body.error.code, "invalid_credentials");
        },
      );

      await t.step(
        "rollback needs confirm, then removes exactly this migration's users",
        async () => {
          const unconfirmed = await request(auth, "POST", "/rollback", {
            body: { migration_id: migrationId },
          });
          assert.equal(unconfirmed.status, 400, JSON.stringify(unconfirmed.body));
          assert.equal(await count(auth, `SELECT count(*)::int AS n FROM "user"`), usersAfter);

          const fromThisMigration = await count(
            auth,
            "SELECT count(*)::int AS n FROM migrated_users WHERE migration_id = $1",
            [migrationId],
          );
          // Like a run, a rollback works within the call budget (0 here: one chunk per call),
          // so the operator calls until done; calling again afterwards changes nothing.
          let calls = 0;
          for (let done = false; !done; calls++) {
            assert.ok(calls < 50, "rollback finishes");
            const rolled = await request(auth, "POST", "/rollback", {
              body: { migration_id: migrationId, confirm: true },
            });
            assert.equal(rolled.status, 200, JSON.stringify(rolled.body));
            done = rolled.body.done;
          }
          const again = await request(auth, "POST", "/rollback", {
            body: { migration_id: migrationId, confirm: true },
          });
          assert.equal(again.status, 200, JSON.stringify(again.body));
          assert.equal(again.body.done, true);
          assert.equal(
            await count(auth, `SELECT count(*)::int AS n FROM "user"`),
            usersAfter - fromThisMigration,
          );
          assert.equal(
            await count(auth, `SELECT count(*)::int AS n FROM "user" WHERE id = $1::uuid`, [
              nativeId,
            ]),
            1,
            `the native signup ${nativeEmail} survives the rollback`,
          );
          // The cron keeps firing: it must not start the migration over after a rollback.
          const ticks = server.cron!.stats().ticks;
          await waitFor(
            "two more cron calls",
            () => Promise.resolve(server.cron!.stats().ticks >= ticks + 2 ? true : null),
          );
          assert.equal(
            await count(auth, `SELECT count(*)::int AS n FROM "user"`),
            usersAfter - fromThisMigration,
            "nothing re-migrated after the rollback",
          );
          const status = await request(auth, "GET", "/status");
          const state = status.body.migrations.find((m: { id: string }) => m.id === migrationId);
          assert.equal(state.status, "rolled_back");
        },
      );

      await t.step(
        "emergency rollback through the function URL switches login to the original",
        async () => {
          const before = await callFunction(auth, "login", {
            email: nativeEmail,
            password: GOOD_PASSWORD,
          });
          assert.equal(before.status, 200, JSON.stringify(before.body));
          assertMigrationHeaders(before.headers, "abstracted");

          const refused = await request(auth, "POST", "/admin/emergency-rollback", {
            key: server.keys.anonKey,
            body: { confirm: "ROLLBACK", reason: "e2e" },
          });
          assert.equal(refused.status, 401, "the anon key cannot roll back");
          const engaged = await request(auth, "POST", "/admin/emergency-rollback", {
            body: { confirm: "ROLLBACK", reason: "e2e drill" },
          });
          assert.equal(engaged.status, 200, JSON.stringify(engaged.body));

          const after = await callFunction(auth, "login", {
            email: nativeEmail,
            password: GOOD_PASSWORD,
          });
          assert.equal(after.status, 200, JSON.stringify(after.body));
          assertMigrationHeaders(after.headers, "original");
          assertAuthContract(after.body, { email: nativeEmail });

          const undone = await request(auth, "POST", "/admin/emergency-rollback/undo", {
            body: { confirm: "RESTORE" },
          });
          assert.equal(undone.status, 200, JSON.stringify(undone.body));
          const restored = await callFunction(auth, "login", {
            email: nativeEmail,
            password: GOOD_PASSWORD,
          });
          assertMigrationHeaders(restored.headers, "abstracted");
        },
      );
    } finally {
      await server.close();
    }
  });
}

async function migrationIdOf(auth: AuthServer): Promise<string> {
  const { rows } = await auth.server.sql.query<{ id: string }>(
    "SELECT id::text AS id FROM migration_states WHERE status = 'completed' ORDER BY started_at DESC LIMIT 1",
  );
  assert.ok(rows[0], "a completed migration");
  return rows[0].id;
}

/** A user this migration moved who has a password (OAuth-only users have none). */
async function migratedPasswordUser(
  auth: AuthServer,
  migrationId: string,
): Promise<{ email: string; id: string }> {
  const { rows } = await auth.server.sql.query<{ email: string; id: string }>(
    `SELECT m.email, m.new_auth_id::text AS id FROM migrated_users m
       JOIN account a ON a."userId" = m.new_auth_id AND a."providerId" = 'credential'
      WHERE m.migration_id = $1 AND a.password LIKE '$2%'
      ORDER BY m.email LIMIT 1`,
    [migrationId],
  );
  assert.ok(rows[0], "a migrated user");
  return rows[0];
}

/** The password hash on the user's Better Auth credential account. */
async function credentialHash(auth: AuthServer, userId: string): Promise<string> {
  const { rows } = await auth.server.sql.query<{ password: string }>(
    `SELECT password FROM account WHERE "userId" = $1::uuid AND "providerId" = 'credential'`,
    [userId],
  );
  assert.equal(rows.length, 1, "exactly one credential account");
  return rows[0]!.password;
}
