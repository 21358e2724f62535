/**
 * SupabaseAuthService: real supabase-js against the Supabase Auth stand-in over HTTP, on the
 * shared database (PGlite, and PostgreSQL 15 when available).
 */
import assert from "node:assert/strict";
import {
  AuthApiError,
  AuthRetryableFetchError,
  AuthWeakPasswordError,
} from "@supabase/supabase-js";
import { hashBcrypt, hashKind, hashPassword } from "../../../shared/auth/passwords.ts";
import { mapSupabaseError } from "../../../shared/auth/supabase-auth-service.ts";
import { TEST_DATABASE_URL } from "../../helpers/db.ts";
import {
  betterAuthOn,
  closedPort,
  email,
  hangingServer,
  openStack,
  PASSWORD,
  type Provider,
  supabaseAt,
} from "./harness.ts";

Deno.test("GoTrue errors map onto the one error contract", () => {
  const cases: [Error, string, number][] = [
    [
      new AuthApiError("User already registered", 422, "user_already_exists"),
      "user_already_exists",
      422,
    ],
    [new AuthApiError("exists", 422, "email_exists"), "user_already_exists", 422],
    [new AuthWeakPasswordError("weak", 422, ["length", "characters"]), "weak_password", 422],
    [
      new AuthApiError("Invalid login credentials", 400, "invalid_credentials"),
      "invalid_credentials",
      400,
    ],
    [
      new AuthApiError("Email not confirmed", 400, "email_not_confirmed"),
      "email_not_confirmed",
      400,
    ],
    [new AuthApiError("User is banned", 400, "user_banned"), "user_banned", 400],
    [new AuthApiError("slow down", 429, "over_request_rate_limit"), "rate_limited", 429],
    [new AuthApiError("bad email", 400, "validation_failed"), "validation_failed", 400],
    [new AuthRetryableFetchError("fetch failed", 0), "auth_unavailable", 503],
    [new AuthApiError("boom", 500, "unexpected_failure"), "auth_unavailable", 503],
    [new TypeError("network"), "auth_unavailable", 503],
  ];
  for (const [error, code, status] of cases) {
    const mapped = mapSupabaseError(error);
    assert.equal(mapped.code, code, error.message);
    assert.equal(mapped.status, status, error.message);
  }
  assert.deepEqual(mapSupabaseError(new AuthWeakPasswordError("weak", 422, ["pwned"])).reasons, [
    "pwned",
  ]);
});

for (const provider of ["pglite", "postgres"] as Provider[]) {
  Deno.test({
    name: `SupabaseAuthService on ${provider} through the stand-in`,
    ignore: provider === "postgres" && !TEST_DATABASE_URL,
    async fn(t) {
      const stack = await openStack(provider);
      const service = stack.supabase;
      try {
        await t.step("signUp without an id is the original auth.signUp", async () => {
          const address = email("plain");
          const result = await service.signUp({
            email: address,
            password: PASSWORD,
            metadata: { plan: "pro" },
          });
          assert.ok(result.ok);
          assert.equal(result.value.user.email, address);
          assert.equal(result.value.user.user_metadata.plan, "pro");
          assert.ok(result.value.session?.access_token);
          const again = await service.signUp({ email: address, password: PASSWORD });
          assert.ok(!again.ok);
          assert.equal(again.error.code, "user_already_exists");
        });

        await t.step(
          "signUp with an id keeps it (admin API), session only when asked",
          async () => {
            const id = crypto.randomUUID();
            const address = email("with-id");
            const quiet = await service.signUp({ id, email: address, password: PASSWORD }, {
              sessionNeeded: false,
            });
            assert.ok(quiet.ok);
            assert.equal(quiet.value.user.id, id);
            assert.equal(quiet.value.session, null);
            const id2 = crypto.randomUUID();
            const full = await service.signUp({
              id: id2,
              email: email("with-id"),
              password: PASSWORD,
            });
            assert.ok(full.ok);
            assert.equal(full.value.user.id, id2);
            assert.ok(full.value.session);
            const duplicate = await service.signUp({
              id: crypto.randomUUID(),
              email: address,
              password: PASSWORD,
            });
            assert.ok(!duplicate.ok);
            assert.equal(duplicate.error.code, "user_already_exists");
          },
        );

        await t.step("the password policy is checked before GoTrue is called", async () => {
          const weak = await service.signUp({ email: email("weak"), password: "123456" });
          assert.ok(!weak.ok);
          assert.equal(
            weak.error.code,
            "weak_password",
            "GoTrue's own minimum (6) would have accepted it",
          );
        });

        await t.step(
          "signIn, tokens, and getUserFromToken for tokens of both systems",
          async () => {
            const address = email("login");
            const created = await service.signUp({ email: address, password: PASSWORD });
            assert.ok(created.ok);
            const login = await service.signIn({ email: address, password: PASSWORD });
            assert.ok(login.ok);
            const me = await service.getUserFromToken(login.value.session!.access_token);
            assert.ok(me.ok);
            assert.equal(me.value.id, created.value.user.id);
            const wrong = await service.signIn({ email: address, password: "wrong-password" });
            const unknown = await service.signIn({ email: email("nobody"), password: PASSWORD });
            assert.ok(!wrong.ok && !unknown.ok);
            assert.deepEqual(wrong.error.toBody(), unknown.error.toBody());

            // A Better Auth token for the same id is accepted too.
            const betterAuth = betterAuthOn(stack.db, stack.keys);
            const stored = await service.findUserById(created.value.user.id);
            assert.equal(await betterAuth.importUser(stored!), "created");
            const baLogin = await betterAuth.signIn({ email: address, password: PASSWORD });
            assert.ok(baLogin.ok);
            const viaBa = await service.getUserFromToken(baLogin.value.session!.access_token);
            assert.ok(viaBa.ok);
            assert.equal(viaBa.value.id, created.value.user.id);
          },
        );

        await t.step(
          "directory: hashes via SQL, import with a bcrypt hash, conflicts, delete",
          async () => {
            const address = email("dir");
            const created = await service.signUp({ email: address, password: PASSWORD });
            assert.ok(created.ok);
            const stored = await service.findUserByEmail(address.toUpperCase());
            assert.equal(stored?.id, created.value.user.id);
            assert.equal(hashKind(stored!.passwordHash!), "bcrypt");

            const id = crypto.randomUUID();
            const imported = email("imported");
            const user = {
              id,
              email: imported,
              userMetadata: { from: "better-auth" },
              appMetadata: {},
              createdAt: new Date(),
              emailConfirmed: true,
              passwordHash: await hashBcrypt(PASSWORD),
            };
            assert.equal(await service.importUser(user), "created");
            assert.equal(await service.importUser(user), "exists");
            assert.equal(
              await service.importUser({ ...user, id: crypto.randomUUID() }),
              "conflict",
            );
            const login = await service.signIn({ email: imported, password: PASSWORD });
            assert.ok(login.ok, "the imported bcrypt hash is the user's password");

            // A scrypt hash cannot go to GoTrue: the user is created without a usable password.
            const scryptUser = {
              ...user,
              id: crypto.randomUUID(),
              email: email("scrypt"),
              passwordHash: await hashPassword(PASSWORD, "scrypt"),
            };
            assert.equal(await service.importUser(scryptUser), "created");
            assert.ok(!(await service.signIn({ email: scryptUser.email, password: PASSWORD })).ok);

            assert.equal(await service.deleteUser(id), true);
            assert.equal(await service.deleteUser(id), false);
            assert.equal(await service.findUserById(id), null);
            assert.equal(await service.findUserById("not-a-uuid"), null);
          },
        );

        await t.step("an unreachable or hanging Auth is auth_unavailable", async () => {
          const down = supabaseAt(closedPort().url, stack.keys);
          const a = await down.signIn({ email: email("x"), password: PASSWORD });
          assert.ok(!a.ok);
          assert.equal(a.error.code, "auth_unavailable");
          const hanging = hangingServer();
          try {
            const slow = supabaseAt(hanging.url, stack.keys, undefined, 60_000);
            const abort = new AbortController();
            setTimeout(() => abort.abort(), 100);
            const b = await slow.signIn({ email: email("x"), password: PASSWORD }, {
              signal: abort.signal,
            });
            assert.ok(!b.ok);
            assert.equal(b.error.code, "auth_unavailable");
          } finally {
            await hanging.close();
          }
        });
      } finally {
        await stack.close();
      }
    },
  });
}
