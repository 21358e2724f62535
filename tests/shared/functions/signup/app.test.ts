/**
 * The signup function end to end: real HTTP through the dev server, supabase-js as the client,
 * the Auth stand-in (hosted profile, "Confirm email" on) and Better Auth on one PGlite. Every
 * MIGRATION_MODE × primary, with the rollout at 100 % (abstracted: DualWriteAuthService) and at
 * 0 % (original: supabase-js signUp). A signup that writes Supabase answers without a session;
 * the user confirms through the mail's link and then logs in (signUpConfirmed's steps).
 * MIGRATION_MODE seeds the signup function's migration stage (shared/cutover/stages.ts): from
 * dual_write on, the stage pins every signup to the abstracted path, so at 0 % too a signup is
 * written where the mode says (issue 14: before, dual_write reached nobody at 0 %).
 */
import assert from "node:assert/strict";
import { DEFAULT_BETTER_AUTH_ISSUER } from "../../../../shared/auth/access-tokens.ts";
import {
  applySync,
  assertAuthContract,
  assertAwaitingConfirmation,
  assertErrorCode,
  assertMigrationHeaders,
  assertStatusMatches,
  assertStoredIn,
  type AuthServer,
  callFunction,
  clickConfirmationLink,
  DEMO,
  errorPaths,
  GOOD_PASSWORD,
  idsByEmail,
  migratedVia,
  MODE_SETUPS,
  rowCounts,
  setRollout,
  setSignupStage,
  startAuthServer,
  tokenIssuer,
  uniqueEmail,
} from "../auth-e2e-helpers.ts";

const SUPABASE_ONLY_WRITE = { supabase: true, betterAuth: false };

/** supabase-js `functions.invoke`, as an app calls the function; answers with the Response. */
async function invokeSignup(auth: AuthServer, body: Record<string, unknown>) {
  const { data, error, response } = await auth.client.functions.invoke("signup", { body });
  assert.equal(error, null, `signup failed: ${error?.message}`);
  assert.ok(response, "supabase-js hands back the response");
  return { data, headers: response.headers };
}

/**
 * The rest of the user's signup on hosted Supabase: the confirmation link, the sync appliers,
 * then the login function on the path the rollout routes it to; its answer is checked against
 * the signup's user (same id, same metadata) and returned.
 */
async function confirmAndLogIn(
  auth: AuthServer,
  pending: { user: { id: string } },
  expected: { email: string; metadata?: Record<string, unknown> },
) {
  await clickConfirmationLink(auth, expected.email);
  await applySync(auth);
  const login = await callFunction(auth, "login", {
    email: expected.email,
    password: GOOD_PASSWORD,
  });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  const result = assertAuthContract(login.body, expected);
  assert.equal(result.user.id, pending.user.id, "the user who signed up");
  return result;
}

for (const setup of MODE_SETUPS) {
  Deno.test(`signup over HTTP, ${setup.label}: abstracted at 100 %, original at 0 %, one contract`, async (t) => {
    const auth = await startAuthServer(setup.env);
    try {
      await t.step("rollout 100 %: written where the mode says, under one id", async () => {
        await setRollout(auth, 100);
        const email = uniqueEmail("abstracted");
        const metadata = { display_name: "Zoë 🚀", plan: "free" };
        const { data, headers } = await invokeSignup(auth, {
          email,
          password: GOOD_PASSWORD,
          metadata,
        });
        assertMigrationHeaders(headers, "abstracted");
        // Written to Supabase: GoTrue's confirmation first (better_auth_only follows Better Auth's
        // own configuration, which has none).
        const result = setup.writes.supabase
          ? await confirmAndLogIn(auth, assertAwaitingConfirmation(data, { email, metadata }), {
            email,
            metadata,
          })
          : assertAuthContract(data, { email, metadata });
        const status = await assertStatusMatches(auth, result.user.id, setup.writes);
        assert.equal(status.email, email);
        if (setup.mode === "dual_write") {
          assert.deepEqual(await migratedVia(auth, result.user.id), ["dual_write"]);
          // MIGRATION_VALIDATION=true (the Better-Auth-primary setup) compares the two copies.
          assert.equal(status.data_validated, setup.env.MIGRATION_VALIDATION === "true");
        } else {
          assert.deepEqual(await migratedVia(auth, result.user.id), []);
          assert.equal(status.data_validated, false);
        }
        const issuer = tokenIssuer(result.session.access_token);
        if (setup.betterAuthPrimary) assert.equal(issuer, DEFAULT_BETTER_AUTH_ISSUER);
        else assert.equal(issuer, `${auth.url}/auth/v1`);
      });

      // From dual_write on, the stage pins signups: the rollout no longer decides who is written.
      const pinned = setup.mode !== "supabase_only";
      await t.step(
        pinned
          ? "rollout 0 %: still the abstracted path, written where the stage says"
          : "rollout 0 %: the original supabase-js signUp, Supabase only",
        async () => {
          await setRollout(auth, 0);
          const email = uniqueEmail("original");
          const expected = { email, metadata: { plan: "pro" } };
          // supabase-js `options.data` travels as `data`: the function accepts that name too.
          const { data, headers } = await invokeSignup(auth, {
            email,
            password: GOOD_PASSWORD,
            data: { plan: "pro" },
          });
          assertMigrationHeaders(headers, pinned ? "abstracted" : "original");
          const writes = pinned ? setup.writes : SUPABASE_ONLY_WRITE;
          // Written to Supabase: GoTrue's confirmation first, then the login at 0 %.
          const result = writes.supabase
            ? await confirmAndLogIn(auth, assertAwaitingConfirmation(data, expected), expected)
            : assertAuthContract(data, expected);
          // Better Auth answers at 0 % only where it is the only system: in better_auth_primary
          // a user's logins at 0 % are routed to Supabase.
          assert.equal(
            tokenIssuer(result.session.access_token),
            setup.mode === "better_auth_only" ? DEFAULT_BETTER_AUTH_ISSUER : `${auth.url}/auth/v1`,
          );
          await assertStoredIn(auth, email, result.user.id, writes);
          await assertStatusMatches(auth, result.user.id, writes);
        },
      );

      await t.step("duplicates and weak passwords: GoTrue's answers on both paths", async () => {
        for (const rollout of [100, 0]) {
          await setRollout(auth, rollout);
          const path = rollout === 100 || pinned ? "abstracted" : "original";
          const email = uniqueEmail(`dup-${rollout}`);
          const first = await callFunction(auth, "signup", { email, password: GOOD_PASSWORD });
          assert.equal(first.status, 200, JSON.stringify(first.body));
          const answersAsGoTrue = path === "original" || setup.writes.supabase;
          if (answersAsGoTrue) await clickConfirmationLink(auth, email);
          const before = await rowCounts(auth);
          const again = await callFunction(auth, "signup", {
            email: email.toUpperCase(),
            password: GOOD_PASSWORD,
          });
          if (answersAsGoTrue) {
            // "Confirm email" on: 200, a look-alike without a session (signup.go sanitizeUser).
            const lookAlike = assertAwaitingConfirmation(again.body, { email });
            assert.ok(!(await idsByEmail(auth, email)).supabase.includes(lookAlike.user.id));
          } else {
            assertErrorCode(again, 422, "user_already_exists");
          }
          assertMigrationHeaders(again.headers, path);
          const weak = await callFunction(auth, "signup", {
            email: uniqueEmail("weak"),
            password: "short",
          });
          assertErrorCode(weak, 422, "weak_password");
          assert.deepEqual(weak.body.error.details, { reasons: ["length"] });
          assertMigrationHeaders(weak.headers, path);
          assert.deepEqual(await rowCounts(auth), before, `nothing written (${path})`);
        }
      });
    } finally {
      await auth.close();
    }
  });
}

interface BadInputCase {
  readonly name: string;
  readonly body: unknown;
  readonly status: number;
  readonly code: string;
  /** The fields the error must name (details[].path), in order. */
  readonly paths: readonly string[];
  /** false when the body never reaches the migrator (the app's size limit answers first). */
  readonly routed?: boolean;
}

const raw = (text: string, contentType?: string) => ({ raw: text, contentType });

/** Bodies that must be refused with a 4xx naming the field, before anything is written. */
function badSignupInputs(maxRequestBytes: number): BadInputCase[] {
  const valid = { email: "bad-input@example.com", password: GOOD_PASSWORD };
  return [
    {
      name: "malformed JSON",
      body: raw('{"email": "a@example.com", "password": '),
      status: 400,
      code: "invalid_json",
      paths: ["body"],
    },
    { name: "empty body", body: raw(""), status: 400, code: "invalid_json", paths: ["body"] },
    {
      name: "not JSON",
      body: raw(JSON.stringify(valid), "text/plain"),
      status: 415,
      code: "unsupported_media_type",
      paths: ["content-type"],
    },
    { name: "array body", body: [], status: 400, code: "validation_failed", paths: ["body"] },
    {
      name: "missing fields",
      body: {},
      status: 400,
      code: "validation_failed",
      paths: ["email", "password"],
    },
    {
      name: "wrong types",
      body: { email: 42, password: ["x"], metadata: "nope" },
      status: 400,
      code: "validation_failed",
      paths: ["email", "password", "metadata"],
    },
    {
      name: "unicode email",
      body: { ...valid, email: "üser@exämple.com" },
      status: 400,
      code: "validation_failed",
      paths: ["email"],
    },
    {
      name: "SQL injection in the email",
      body: { ...valid, email: `x'; DROP TABLE auth.users; --@example.com` },
      status: 400,
      code: "validation_failed",
      paths: ["email"],
    },
    {
      name: "SQL injection after the email",
      body: { ...valid, email: "victim@example.com' OR '1'='1" },
      status: 400,
      code: "validation_failed",
      paths: ["email"],
    },
    {
      name: "NUL in the email",
      body: { ...valid, email: "a\u0000b@example.com" },
      status: 400,
      code: "validation_failed",
      paths: ["email"],
    },
    {
      name: "password over 72 bytes (25 CJK characters)",
      body: { ...valid, password: "密".repeat(25) },
      status: 400,
      code: "validation_failed",
      paths: ["password"],
    },
    {
      name: "NUL in a metadata value",
      body: { ...valid, metadata: { name: "Robert\u0000" } },
      status: 400,
      code: "validation_failed",
      paths: ["metadata.name"],
    },
    {
      name: "NUL in a metadata key",
      body: { ...valid, metadata: { "a\u0000": 1 } },
      status: 400,
      code: "validation_failed",
      paths: ["metadata.a\u0000"],
    },
    {
      name: "unpaired surrogate in metadata",
      body: raw(
        `{"email":"bad-input@example.com","password":"${GOOD_PASSWORD}",` +
          `"metadata":{"nick":"\\ud800"}}`,
      ),
      status: 400,
      code: "validation_failed",
      paths: ["metadata.nick"],
    },
    {
      name: "metadata nested too deep",
      body: { ...valid, metadata: { a: { b: { c: { d: { e: { f: 1 } } } } } } },
      status: 400,
      code: "validation_failed",
      paths: ["metadata"],
    },
    {
      name: "metadata over 8 KiB",
      body: { ...valid, metadata: { bio: "x".repeat(9000) } },
      status: 400,
      code: "validation_failed",
      paths: ["metadata"],
    },
    {
      name: "metadata and data both",
      body: { ...valid, metadata: {}, data: {} },
      status: 400,
      code: "validation_failed",
      paths: ["data"],
    },
    {
      name: "body over MAX_REQUEST_BYTES",
      body: { ...valid, metadata: { bio: "x".repeat(maxRequestBytes) } },
      status: 413,
      code: "payload_too_large",
      paths: ["body"],
      routed: false,
    },
  ];
}

Deno.test("signup over HTTP, dual_write: bad input is a 4xx naming the field and writes nothing", async (t) => {
  const auth = await startAuthServer({ MIGRATION_MODE: "dual_write" });
  try {
    const maxRequestBytes = 64 * 1024; // MAX_REQUEST_BYTES default
    for (const rollout of [100, 0]) {
      const path = rollout === 100 ? "abstracted" : "original";
      await t.step(`${path} path (rollout ${rollout} %)`, async () => {
        await setRollout(auth, rollout);
        // The dual_write stage pins signups to the abstracted path: the original serves them at
        // 0 % in the supabase_only stage.
        await setSignupStage(auth, rollout === 0 ? "supabase_only" : null);
        for (const bad of badSignupInputs(maxRequestBytes)) {
          const before = await rowCounts(auth);
          const result = await callFunction(auth, "signup", bad.body);
          assertErrorCode(result, bad.status, bad.code);
          assert.deepEqual(errorPaths(result), bad.paths, bad.name);
          assert.match(result.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/, bad.name);
          if (bad.routed !== false) assertMigrationHeaders(result.headers, path);
          assert.deepEqual(await rowCounts(auth), before, `${bad.name}: nothing written`);
        }
      });
    }

    await setSignupStage(auth, null);
    await t.step("a wrong type is named as such, not as missing", async () => {
      const result = await callFunction(auth, "signup", { email: 42, password: GOOD_PASSWORD });
      assert.deepEqual(result.body.error.details, [
        { path: "email", message: "Email must be a string" },
      ]);
    });

    await t.step(
      "a legacy Supabase user's email: GoTrue's look-alike, and no Better Auth copy is left",
      async () => {
        await setRollout(auth, 100);
        const before = await rowCounts(auth);
        const result = await callFunction(auth, "signup", {
          email: DEMO.email,
          password: GOOD_PASSWORD,
        });
        assert.equal(result.status, 200, JSON.stringify(result.body));
        assertAwaitingConfirmation(result.body, { email: DEMO.email });
        assert.deepEqual(await rowCounts(auth), before);
        const ids = await idsByEmail(auth, DEMO.email);
        assert.equal(ids.supabase.length, 1);
        assert.deepEqual(ids.betterAuth, []);
      },
    );

    await t.step(
      "injection and unicode strings in password and metadata are stored as data",
      async () => {
        await setRollout(auth, 100);
        const email = uniqueEmail("injection");
        const password = `'); DROP TABLE auth.users; --Zoë🔑`;
        const metadata = {
          name: `Robert'); DROP TABLE "user";--`,
          "x'y": "日本語 🎉",
          nested: { q: `" OR 1=1 --` },
        };
        const before = await rowCounts(auth);
        const signup = await callFunction(auth, "signup", { email, password, metadata });
        assert.equal(signup.status, 200, JSON.stringify(signup.body));
        const result = assertAwaitingConfirmation(signup.body, { email, metadata });
        await assertStoredIn(auth, email, result.user.id, { supabase: true, betterAuth: true });
        const after = await rowCounts(auth);
        assert.equal(after["auth.users"], before["auth.users"]! + 1);
        assert.equal(after['"user"'], before['"user"']! + 1);
        const stored = await auth.server.sql.query<{ supabase: unknown; better_auth: unknown }>(
          `SELECT u.raw_user_meta_data AS supabase, b."userMetadata" AS better_auth
           FROM auth.users u JOIN "user" b ON b.id = u.id WHERE u.id = $1::uuid`,
          [result.user.id],
        );
        for (const [key, value] of Object.entries(metadata)) {
          assert.deepEqual((stored.rows[0]!.supabase as Record<string, unknown>)[key], value);
          assert.deepEqual((stored.rows[0]!.better_auth as Record<string, unknown>)[key], value);
        }
        await clickConfirmationLink(auth, email);
        await applySync(auth);
        const login = await callFunction(auth, "login", { email, password });
        assert.equal(login.status, 200, "the stored password is the one sent, byte for byte");
      },
    );

    await t.step("an incoming x-request-id is kept", async () => {
      const requestId = crypto.randomUUID();
      const result = await callFunction(auth, "signup", {}, { "x-request-id": requestId });
      assert.equal(result.status, 400);
      assert.equal(result.headers.get("x-request-id"), requestId);
    });

    await t.step("POST /signup/reconcile needs the service key", async () => {
      const anon = await callFunction(auth, "signup/reconcile", {});
      assertErrorCode(anon, 401, "unauthorized");
      const service = await callFunction(auth, "signup/reconcile", {}, {
        Authorization: `Bearer ${auth.server.keys.serviceRoleKey}`,
      });
      assert.equal(service.status, 200, JSON.stringify(service.body));
      assert.equal(service.body.remainingOpen, 0, "no divergence after healthy dual writes");
    });
  } finally {
    await auth.close();
  }
});
