/**
 * The login function end to end: real HTTP through the dev server, supabase-js as the client.
 * A seeded legacy Supabase user (bcrypt) logs in during dual_write, is lazily copied to Better
 * Auth under the same id, and after the switch to better_auth_only logs in through Better Auth
 * alone (its bcrypt hash re-hashed to scrypt). Tokens from both systems open the coordinator.
 * Plus the error contract: no enumeration, bad input named and unwritten, rate limiting.
 */
import assert from "node:assert/strict";
import { DEFAULT_BETTER_AUTH_ISSUER } from "../../../../shared/auth/access-tokens.ts";
import {
  assertAuthContract,
  assertErrorCode,
  assertMigrationHeaders,
  assertStatusMatches,
  assertStoredIn,
  type AuthServer,
  type AuthSuccess,
  callCoordinator,
  callFunction,
  declareMigrationComplete,
  DEMO,
  errorPaths,
  GOOD_PASSWORD,
  idsByEmail,
  migratedVia,
  MODE_SETUPS,
  rowCounts,
  setRollout,
  signUpConfirmed,
  startAuthServer,
  tokenIssuer,
  uniqueEmail,
} from "../auth-e2e-helpers.ts";

const BOTH = { supabase: true, betterAuth: true };

/** supabase-js `functions.invoke("login")`; 200 expected. */
async function invokeLogin(auth: AuthServer, email: string, password: string) {
  const { data, error, response } = await auth.client.functions.invoke("login", {
    body: { email, password },
  });
  assert.equal(error, null, `login failed: ${error?.message}`);
  assert.ok(response);
  return { result: assertAuthContract(data, { email }), headers: response.headers };
}

/** A user signed up as on hosted Supabase: signup, the confirmation link, a first login. */
async function signUp(auth: AuthServer, email: string): Promise<AuthSuccess> {
  return (await signUpConfirmed(auth, { email })).login;
}

async function credentialHash(auth: AuthServer, userId: string): Promise<string | null> {
  const { rows } = await auth.server.sql.query<{ password: string | null }>(
    `SELECT password FROM account WHERE "userId" = $1 AND "providerId" = 'credential'`,
    [userId],
  );
  return rows[0]?.password ?? null;
}

const SUPABASE_ISSUER = (auth: AuthServer) => `${auth.url}/auth/v1`;

Deno.test("login over HTTP: a legacy bcrypt user migrates lazily in dual_write, then logs in under better_auth_only", async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "login-e2e-" });
  let demoId = "";
  let supabaseToken = "";
  const dualWriteUser = uniqueEmail("dual-write-user");
  let dualWriteUserId = "";
  try {
    const dual = await startAuthServer({ MIGRATION_MODE: "dual_write" }, { dataDir });
    try {
      await t.step(
        "rollout 0 %: the original supabase-js path; no copy in Better Auth",
        async () => {
          await setRollout(dual, 0);
          const { result, headers } = await invokeLogin(dual, DEMO.email, DEMO.password);
          assertMigrationHeaders(headers, "original");
          assert.equal(tokenIssuer(result.session.access_token), SUPABASE_ISSUER(dual));
          demoId = result.user.id;
          assert.deepEqual(await idsByEmail(dual, DEMO.email), {
            supabase: [demoId],
            betterAuth: [],
          });
        },
      );

      await t.step(
        "rollout 100 %: the abstracted path copies the user to Better Auth, same id",
        async () => {
          await setRollout(dual, 100);
          const { result, headers } = await invokeLogin(dual, DEMO.email, DEMO.password);
          assertMigrationHeaders(headers, "abstracted");
          assert.equal(result.user.id, demoId);
          assert.equal(tokenIssuer(result.session.access_token), SUPABASE_ISSUER(dual));
          supabaseToken = result.session.access_token;
          await assertStoredIn(dual, DEMO.email, demoId, BOTH);
          await assertStatusMatches(dual, demoId, BOTH);
          assert.deepEqual(await migratedVia(dual, demoId), ["lazy"]);
          const hash = await credentialHash(dual, demoId);
          assert.match(hash ?? "", /^\$2[aby]\$10\$/, "Supabase's bcrypt hash moved as is");
          const metadata = await dual.server.sql.query<{ same: boolean }>(
            `SELECT u.raw_user_meta_data - 'email_verified' = b."userMetadata" - 'email_verified'
                    AS same
             FROM auth.users u JOIN "user" b ON b.id = u.id WHERE u.id = $1::uuid`,
            [demoId],
          );
          assert.equal(metadata.rows[0]?.same, true, "metadata copied");
        },
      );

      await t.step("a second login does not copy again", async () => {
        const { result } = await invokeLogin(dual, DEMO.email, DEMO.password);
        assert.equal(result.user.id, demoId);
        assert.deepEqual(await migratedVia(dual, demoId), ["lazy"]);
        assert.deepEqual(await idsByEmail(dual, DEMO.email), {
          supabase: [demoId],
          betterAuth: [demoId],
        });
      });

      await t.step("a Supabase access token opens the coordinator", async () => {
        assert.equal(await callCoordinator(dual, supabaseToken), 200);
      });

      await t.step("a user signed up during dual write", async () => {
        dualWriteUserId = (await signUp(dual, dualWriteUser)).user.id;
        await assertStoredIn(dual, dualWriteUser, dualWriteUserId, BOTH);
      });
    } finally {
      await dual.close();
    }

    // The same database, restarted after the switch-over.
    const baOnly = await startAuthServer({ MIGRATION_MODE: "better_auth_only" }, { dataDir });
    try {
      await t.step(
        "better_auth_only, migration declared complete: the lazily migrated user logs in; bcrypt becomes scrypt",
        async () => {
          await setRollout(baOnly, 100);
          // Until completion the bcrypt hash is kept (Supabase must stay able to take it back).
          await declareMigrationComplete(baOnly);
          const { result, headers } = await invokeLogin(baOnly, DEMO.email, DEMO.password);
          assertMigrationHeaders(headers, "abstracted");
          assert.equal(result.user.id, demoId);
          assert.equal(tokenIssuer(result.session.access_token), DEFAULT_BETTER_AUTH_ISSUER);
          // The re-hash runs after the response: poll for it.
          let hash = await credentialHash(baOnly, demoId);
          for (let i = 0; i < 100 && hash?.startsWith("$2"); i++) {
            await new Promise((resolve) => setTimeout(resolve, 50));
            hash = await credentialHash(baOnly, demoId);
          }
          assert.ok(hash && !hash.startsWith("$2"), "re-hashed to Better Auth's scrypt");
          const again = await invokeLogin(baOnly, DEMO.email, DEMO.password);
          assert.equal(again.result.user.id, demoId, "the scrypt hash verifies");
          assert.equal(await callCoordinator(baOnly, again.result.session.access_token), 200);
        },
      );

      await t.step("better_auth_only: a user created during dual write logs in", async () => {
        const { result } = await invokeLogin(baOnly, dualWriteUser, GOOD_PASSWORD);
        assert.equal(result.user.id, dualWriteUserId);
      });

      await t.step("tokens of both systems open the coordinator on both of its paths", async () => {
        const { result } = await invokeLogin(baOnly, DEMO.email, DEMO.password);
        const betterAuthToken = result.session.access_token;
        for (const rollout of [0, 100]) {
          await setRollout(baOnly, rollout, ["coordinator"]);
          assert.equal(await callCoordinator(baOnly, betterAuthToken), 200, `BA, ${rollout} %`);
          assert.equal(await callCoordinator(baOnly, supabaseToken), 200, `Supabase, ${rollout} %`);
          assert.equal(await callCoordinator(baOnly, "not-a-token"), 401);
          const tampered = betterAuthToken.slice(0, -4) + "AAAA";
          assert.equal(await callCoordinator(baOnly, tampered), 401);
        }
      });

      await t.step("better_auth_only: wrong password and unknown email look the same", async () => {
        const wrong = await callFunction(baOnly, "login", {
          email: DEMO.email,
          password: "not-the-password",
        });
        const unknown = await callFunction(baOnly, "login", {
          email: uniqueEmail("nobody"),
          password: "not-the-password",
        });
        assertErrorCode(wrong, 400, "invalid_credentials");
        assert.deepEqual(unknown.body, wrong.body);
        assert.equal(unknown.status, wrong.status);
      });
    } finally {
      await baOnly.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

// better_auth_only and dual_write with Supabase primary are covered by the journey above.
const OTHER_SETUPS = MODE_SETUPS.filter((setup) =>
  setup.mode === "supabase_only" || (setup.mode === "dual_write" && setup.betterAuthPrimary)
);

for (const setup of OTHER_SETUPS) {
  Deno.test(`login over HTTP, ${setup.label}: abstracted at 100 %, original at 0 %`, async (t) => {
    const auth = await startAuthServer(setup.env);
    try {
      await setRollout(auth, 100);
      const email = uniqueEmail("login");
      const userId = (await signUp(auth, email)).user.id;

      await t.step("rollout 100 %: the primary system answers", async () => {
        const { result, headers } = await invokeLogin(auth, email, GOOD_PASSWORD);
        assertMigrationHeaders(headers, "abstracted");
        assert.equal(result.user.id, userId);
        assert.equal(
          tokenIssuer(result.session.access_token),
          setup.betterAuthPrimary ? DEFAULT_BETTER_AUTH_ISSUER : SUPABASE_ISSUER(auth),
        );
        assert.equal(await callCoordinator(auth, result.session.access_token), 200);
      });

      await t.step(
        "rollout 100 %: a legacy user is migrated only when the mode writes both",
        async () => {
          const { result } = await invokeLogin(auth, DEMO.email, DEMO.password);
          const where = { supabase: true, betterAuth: setup.mode === "dual_write" };
          await assertStoredIn(auth, DEMO.email, result.user.id, where);
          if (setup.mode === "dual_write") {
            // Better Auth (primary) refused the unknown user; Supabase answered; copied at once.
            assert.deepEqual(await migratedVia(auth, result.user.id), ["lazy"]);
            await assertStatusMatches(auth, result.user.id, BOTH);
          }
        },
      );

      await t.step("rollout 0 %: the original path, a Supabase session", async () => {
        await setRollout(auth, 0);
        const { result, headers } = await invokeLogin(auth, email, GOOD_PASSWORD);
        assertMigrationHeaders(headers, "original");
        assert.equal(result.user.id, userId);
        assert.equal(tokenIssuer(result.session.access_token), SUPABASE_ISSUER(auth));
      });
    } finally {
      await auth.close();
    }
  });
}

Deno.test("login over HTTP, dual_write: no enumeration, bad input named and unwritten, rate limiting", async (t) => {
  const auth = await startAuthServer({ MIGRATION_MODE: "dual_write" });
  try {
    const email = uniqueEmail("limited");
    await setRollout(auth, 100);
    await signUp(auth, email);

    for (const rollout of [100, 0]) {
      const path = rollout === 100 ? "abstracted" : "original";
      await t.step(`${path}: wrong password and unknown email give the same 400`, async () => {
        await setRollout(auth, rollout);
        const wrong = await callFunction(auth, "login", {
          email: DEMO.email,
          password: "nope-123",
        });
        const unknown = await callFunction(auth, "login", {
          email: uniqueEmail("nobody"),
          password: "nope-123",
        });
        assertErrorCode(wrong, 400, "invalid_credentials");
        assertMigrationHeaders(wrong.headers, path);
        assertMigrationHeaders(unknown.headers, path);
        assert.equal(unknown.status, wrong.status);
        assert.deepEqual(unknown.body, wrong.body);
      });

      await t.step(`${path}: bad input is a 4xx naming the field; nothing written`, async () => {
        const cases: [string, unknown, number, string, string[]][] = [
          ["malformed JSON", { raw: '{"email":' }, 400, "invalid_json", ["body"]],
          ["missing fields", {}, 400, "validation_failed", ["email", "password"]],
          ["wrong types", { email: [], password: 1 }, 400, "validation_failed", [
            "email",
            "password",
          ]],
          [
            "injection email",
            {
              email: "' OR 1=1 --@example.com",
              password: "x",
            },
            400,
            "validation_failed",
            ["email"],
          ],
          [
            "unicode email",
            {
              email: "ünïcode@exämple.com",
              password: "x",
            },
            400,
            "validation_failed",
            ["email"],
          ],
          ["empty password", { email, password: "" }, 400, "validation_failed", ["password"]],
          [
            "password over 72 bytes",
            {
              email,
              password: "🔑".repeat(19),
            },
            400,
            "validation_failed",
            ["password"],
          ],
          [
            "oversized body",
            {
              email,
              password: "x".repeat(70 * 1024),
            },
            413,
            "payload_too_large",
            ["body"],
          ],
        ];
        for (const [name, body, status, code, paths] of cases) {
          const before = await rowCounts(auth);
          const result = await callFunction(auth, "login", body);
          assertErrorCode(result, status, code);
          assert.deepEqual(errorPaths(result), paths, name);
          assert.deepEqual(await rowCounts(auth), before, `${name}: nothing written`);
        }
      });
    }

    await t.step("an injection string is a password like any other", async () => {
      await setRollout(auth, 100);
      const injected = uniqueEmail("injected");
      const password = `' OR '1'='1' --; DROP TABLE "user";`;
      await signUpConfirmed(auth, { email: injected, password });
      const wrong = await callFunction(auth, "login", {
        email: injected,
        password: "' OR '1'='1",
      });
      assertErrorCode(wrong, 400, "invalid_credentials");
      const right = await callFunction(auth, "login", { email: injected, password });
      assert.equal(right.status, 200);
    });

    await t.step(
      "repeated failures for one email from one client: 429 on both paths, even with the right password; the owner elsewhere still logs in",
      async () => {
        await setRollout(auth, 100);
        // DEFAULT_RATE_LIMITS: per (email, client IP) 5 free failures, then growing delays.
        const attacker = { "X-Forwarded-For": "198.51.100.66" };
        const failures = await Promise.all(
          Array.from(
            { length: 10 },
            () => callFunction(auth, "login", { email, password: "wrong-password" }, attacker),
          ),
        );
        for (const failure of failures) {
          assert.ok([400, 429].includes(failure.status), JSON.stringify(failure.body));
        }
        for (const rollout of [100, 0]) {
          await setRollout(auth, rollout);
          const limited = await callFunction(
            auth,
            "login",
            { email, password: GOOD_PASSWORD },
            attacker,
          );
          assertErrorCode(limited, 429, "rate_limited");
          assertMigrationHeaders(limited.headers, rollout === 100 ? "abstracted" : "original");
          const retryAfter = Number(limited.headers.get("retry-after"));
          assert.ok(retryAfter > 0 && retryAfter <= 15 * 60, `Retry-After ${retryAfter}`);
          assert.equal(limited.body.error.details.retry_after, retryAfter);
        }
        // The owner, from their own address, is not locked out by the guesser elsewhere.
        await setRollout(auth, 100);
        const owner = await callFunction(auth, "login", { email, password: GOOD_PASSWORD }, {
          "X-Forwarded-For": "203.0.113.7",
        });
        assert.equal(owner.status, 200, JSON.stringify(owner.body));
      },
    );
  } finally {
    await auth.close();
  }
});
