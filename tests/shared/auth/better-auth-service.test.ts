/**
 * BetterAuthService on the real Better Auth 1.7 over PGlite and PostgreSQL 15 (our schema, our
 * Kysely driver): ids are kept, passwords of both kinds verify, new passwords are bcrypt until
 * the migration is declared complete and bcrypt is upgraded to scrypt after it,
 * tokens verify, errors map to the contract.
 */
import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import { verifyAccessToken } from "../../../shared/auth/access-tokens.ts";
import { hashKind, hashPassword } from "../../../shared/auth/passwords.ts";
import type { StoredUser } from "../../../shared/auth/types.ts";
import { createStandinKeys } from "../../../local/standin/keys.ts";
import { SyncCompletion } from "../../../shared/sync/completion.ts";
import { TEST_DATABASE_URL } from "../../helpers/db.ts";
import {
  betterAuthOn,
  email,
  openDatabase,
  PASSWORD,
  type Provider,
  verifierConfig,
} from "./harness.ts";

const V7_ID = "0190a6b2-3c4d-7e8f-9a0b-1c2d3e4f5a6b";

function legacyUser(id: string, address: string, hash: string): StoredUser {
  return {
    id,
    email: address,
    userMetadata: { full_name: "Legacy User", plan: "pro" },
    appMetadata: { provider: "email", providers: ["email"] },
    createdAt: new Date("2024-01-02T03:04:05.000Z"),
    emailConfirmed: true,
    passwordHash: hash,
  };
}

async function credentialHash(
  db: { query: (t: string, p: unknown[]) => Promise<{ rows: { password: string }[] }> },
  id: string,
) {
  const { rows } = await db.query(
    `SELECT password FROM account WHERE "userId" = $1::uuid AND "providerId" = 'credential'`,
    [id],
  );
  return rows[0]?.password ?? null;
}

for (const provider of ["pglite", "postgres"] as Provider[]) {
  Deno.test({
    name: `BetterAuthService on ${provider}`,
    ignore: provider === "postgres" && !TEST_DATABASE_URL,
    async fn(t) {
      const db = await openDatabase(provider);
      const keys = await createStandinKeys();
      const service = betterAuthOn(db, keys);
      try {
        await t.step("signUp keeps the requested id (a v4 and a v7 UUID)", async () => {
          for (const id of [crypto.randomUUID(), V7_ID]) {
            const address = email("keep-id");
            const result = await service.signUp({
              id,
              email: address,
              password: PASSWORD,
              metadata: { full_name: "Ada", theme: "dark" },
            });
            assert.ok(result.ok, JSON.stringify(!result.ok && result.error.toBody()));
            assert.equal(result.value.user.id, id);
            const { rows } = await db.query<{ id: string; name: string }>(
              `SELECT id::text AS id, name FROM "user" WHERE email = $1`,
              [address],
            );
            assert.deepEqual(rows, [{ id, name: "Ada" }]);
            const account = await db.query<{ userId: string; accountId: string }>(
              `SELECT "userId"::text AS "userId", "accountId" FROM account WHERE "userId" = $1::uuid`,
              [id],
            );
            assert.deepEqual(account.rows, [{ userId: id, accountId: id }]);
          }
        });

        await t.step("signUp without an id generates a UUID and returns the contract", async () => {
          const address = email("contract");
          const result = await service.signUp({
            email: address,
            password: PASSWORD,
            metadata: { a: 1 },
          });
          assert.ok(result.ok);
          const { user, session } = result.value;
          assert.match(user.id, /^[0-9a-f-]{36}$/);
          assert.equal(user.email, address);
          assert.deepEqual(user.user_metadata, { a: 1 });
          assert.ok(!Number.isNaN(Date.parse(user.created_at)));
          assert.ok(session);
          assert.equal(session.token_type, "bearer");
          assert.equal(session.expires_in, 3600);
          assert.ok(session.expires_at > Date.now() / 1000);
          assert.ok(session.refresh_token.length > 20);
        });

        await t.step("signIn issues a token every function accepts", async () => {
          const address = email("token");
          const created = await service.signUp({ email: address, password: PASSWORD });
          assert.ok(created.ok);
          const result = await service.signIn({ email: address, password: PASSWORD });
          assert.ok(result.ok);
          const token = result.value.session!.access_token;
          const verified = await verifyAccessToken(token, verifierConfig(keys));
          assert.equal(verified.system, "better_auth");
          assert.equal(verified.userId, created.value.user.id);
          assert.equal(verified.email, address);
          assert.equal(verified.role, "authenticated");
          assert.equal(verified.claims.aud, "authenticated");
          const me = await service.getUserFromToken(token);
          assert.ok(me.ok);
          assert.equal(me.value.id, created.value.user.id);

          const refreshed = await service.refreshSession(result.value.session!.refresh_token);
          assert.ok(refreshed.ok);
          assert.equal(refreshed.value.user.id, created.value.user.id);
          assert.notEqual(
            refreshed.value.session.refresh_token,
            result.value.session!.refresh_token,
            "the refresh token rotates (shared/sessions/refresh-tokens.ts)",
          );

          // Ending the session revokes its access tokens for getUserFromToken.
          await service.revokeSession(refreshed.value.session.refresh_token);
          const revoked = await service.getUserFromToken(token);
          assert.ok(!revoked.ok);
          assert.equal(revoked.error.code, "invalid_token");
          const after = await service.refreshSession(refreshed.value.session.refresh_token);
          assert.ok(!after.ok);
          assert.equal(after.error, "refresh_token_not_found");
        });

        await t.step("until the migration is declared complete: bcrypt, no re-hash", async () => {
          const address = email("bcrypt-native");
          const signup = await service.signUp({ email: address, password: PASSWORD });
          assert.ok(signup.ok);
          const stored = await credentialHash(db, signup.value.user.id);
          assert.equal(hashKind(stored!), "bcrypt", "a new password is bcrypt");
          assert.ok((await service.signIn({ email: address, password: PASSWORD })).ok);
          await service.drain();
          assert.equal(await credentialHash(db, signup.value.user.id), stored, "not re-hashed");
        });

        await t.step(
          "after completion, bcrypt users ($2a$, $2b$, $2y$) log in and are re-hashed to scrypt",
          async () => {
            const completion = new SyncCompletion(db, 0);
            await completion.declareComplete("test");
            const service = betterAuthOn(db, keys, undefined, completion);
            const native = await service.signUp({ email: email("native"), password: PASSWORD });
            assert.ok(native.ok);
            assert.equal(hashKind((await credentialHash(db, native.value.user.id))!), "scrypt");
            const base = await bcrypt.hash(PASSWORD, 10); // bcryptjs writes $2b$
            for (const prefix of ["$2a$", "$2b$", "$2y$"]) {
              const id = crypto.randomUUID();
              const address = email(`bcrypt-${prefix.slice(1, 3)}`);
              const hash = `${prefix}${base.slice(4)}`;
              assert.equal(await service.importUser(legacyUser(id, address, hash)), "created");

              const login = await service.signIn({ email: address, password: PASSWORD });
              assert.ok(login.ok, `${prefix} login`);
              assert.equal(login.value.user.id, id);
              assert.deepEqual(login.value.user.user_metadata, {
                full_name: "Legacy User",
                plan: "pro",
              });
              assert.equal(login.value.user.created_at, "2024-01-02T03:04:05.000Z");
              // The re-hash runs after the response; drain() waits for it.
              await service.drain();
              const upgraded = await credentialHash(db, id);
              assert.equal(hashKind(upgraded!), "scrypt", `${prefix} re-hashed`);

              const again = await service.signIn({ email: address, password: PASSWORD });
              assert.ok(again.ok, `${prefix} login after re-hash`);
              assert.equal(await credentialHash(db, id), upgraded, "scrypt is not re-hashed again");
              const wrong = await service.signIn({ email: address, password: "not-the-password" });
              assert.ok(!wrong.ok);
            }
            await completion.reopen();
          },
        );

        await t.step("a native scrypt user logs in", async () => {
          const id = crypto.randomUUID();
          const address = email("scrypt");
          await service.importUser(legacyUser(id, address, await hashPassword(PASSWORD, "scrypt")));
          const login = await service.signIn({ email: address, password: PASSWORD });
          assert.ok(login.ok);
          assert.equal(login.value.user.id, id);
        });

        await t.step("unknown email and wrong password: the same error", async () => {
          const address = email("known");
          assert.ok((await service.signUp({ email: address, password: PASSWORD })).ok);
          const wrong = await service.signIn({ email: address, password: "wrong-password" });
          const unknown = await service.signIn({ email: email("unknown"), password: PASSWORD });
          assert.ok(!wrong.ok && !unknown.ok);
          assert.deepEqual(wrong.error.toBody(), unknown.error.toBody());
          assert.equal(wrong.error.code, "invalid_credentials");
          assert.equal(wrong.error.status, 400);
        });

        await t.step(
          "duplicates: user_already_exists, and concurrent signups create one user",
          async () => {
            const address = email("dup");
            assert.ok((await service.signUp({ email: address, password: PASSWORD })).ok);
            const again = await service.signUp({
              email: address.toUpperCase(),
              password: PASSWORD,
            });
            assert.ok(!again.ok);
            assert.equal(again.error.code, "user_already_exists");
            assert.equal(again.error.status, 422);

            const racing = email("race");
            const results = await Promise.all(
              Array.from(
                { length: 8 },
                () => service.signUp({ email: racing, password: PASSWORD }),
              ),
            );
            assert.equal(
              results.filter((r) => r.ok).length,
              1,
            );
            for (const result of results) {
              if (!result.ok) assert.equal(result.error.code, "user_already_exists");
            }
            const { rows } = await db.query(`SELECT 1 FROM "user" WHERE email = $1`, [racing]);
            assert.equal(rows.length, 1);
          },
        );

        await t.step(
          "password policy: weak_password with reasons, over 72 bytes is a 400",
          async () => {
            const weak = await service.signUp({ email: email("weak"), password: "short" });
            assert.ok(!weak.ok);
            assert.equal(weak.error.code, "weak_password");
            assert.deepEqual(weak.error.reasons, ["length"]);
            const long = await service.signUp({ email: email("long"), password: "é".repeat(40) });
            assert.ok(!long.ok);
            assert.equal(long.error.code, "validation_failed");
            assert.equal(long.error.details?.[0]?.path, "password");
          },
        );

        await t.step(
          "importUser is idempotent and reports an email held by another id",
          async () => {
            const id = crypto.randomUUID();
            const address = email("import");
            const hash = await hashPassword(PASSWORD, "scrypt");
            assert.equal(await service.importUser(legacyUser(id, address, hash)), "created");
            assert.equal(await service.importUser(legacyUser(id, address, hash)), "exists");
            assert.equal(
              await service.importUser(legacyUser(crypto.randomUUID(), address, hash)),
              "conflict",
            );
            const stored = await service.findUserByEmail(address.toUpperCase());
            assert.equal(stored?.id, id);
            assert.equal(stored?.passwordHash, hash);
            assert.equal(await service.deleteUser(id), true);
            assert.equal(await service.findUserById(id), null);
            const orphans = await db.query(`SELECT 1 FROM account WHERE "userId" = $1::uuid`, [id]);
            assert.equal(orphans.rows.length, 0);
          },
        );
      } finally {
        await db.close();
      }
    },
  });
}
