/**
 * Supabase → Better Auth change capture and its applier, on PGlite and PostgreSQL 15: every
 * change is made through GoTrue's admin API (supabase-js against the Auth stand-in), captured by
 * the auth.users / auth.identities triggers, applied by IdentitySync, and checked in Better Auth
 * itself (its tables and its sign-in).
 */
import assert from "node:assert/strict";
import { TEST_DATABASE_URL } from "../../helpers/db.ts";
import { email, PASSWORD, type Provider } from "../auth/harness.ts";
import {
  betterAuthRow,
  copyToBetterAuth,
  createSupabaseUser,
  openSyncStack,
  outboxOf,
  supabaseHash,
  type SyncStack,
} from "./helpers.ts";

const NEW_PASSWORD = "a-brand-new-passphrase";

async function migratedUser(stack: SyncStack, label: string) {
  const address = email(label);
  const id = await createSupabaseUser(stack.admin, address, PASSWORD);
  await copyToBetterAuth(stack, id);
  await stack.identitySync.apply(); // the creation's own rows
  return { id, address };
}

async function signsInToBetterAuth(stack: SyncStack, address: string, password: string) {
  return (await stack.betterAuth.signIn({ email: address, password })).ok;
}

for (const provider of ["pglite", "postgres"] as Provider[]) {
  Deno.test({
    name: `Supabase → Better Auth sync on ${provider}`,
    ignore: provider === "postgres" && !TEST_DATABASE_URL,
    async fn(t) {
      const stack = await openSyncStack(provider);
      try {
        await t.step("a password reset replaces the hash and revokes the sessions", async () => {
          const { id, address } = await migratedUser(stack, "reset");
          assert.ok(await signsInToBetterAuth(stack, address, PASSWORD), "old password before");
          assert.equal((await betterAuthRow(stack.db, id))!.sessions, 1);
          const { error } = await stack.admin.auth.admin.updateUserById(id, {
            password: NEW_PASSWORD,
          });
          assert.equal(error, null);
          const pending = (await outboxOf(stack.db, id)).filter((row) => !row.applied);
          assert.deepEqual(pending.map((row) => [row.direction, row.entity, row.op]), [
            ["to_better_auth", "user", "update"],
          ]);
          const report = await stack.identitySync.apply();
          assert.equal(report.toBetterAuth.failedUsers, 0);
          const copy = await betterAuthRow(stack.db, id);
          assert.equal(copy!.password, await supabaseHash(stack.db, id), "the same bcrypt hash");
          assert.equal(copy!.sessions, 0, "sessions revoked");
          assert.ok(!(await signsInToBetterAuth(stack, address, PASSWORD)), "old refused");
          assert.ok(await signsInToBetterAuth(stack, address, NEW_PASSWORD), "new accepted");
          assert.ok((await outboxOf(stack.db, id)).every((row) => row.applied));
          // The applier's own writes are not captured back (echo suppression).
          assert.ok((await outboxOf(stack.db, id)).every((row) => row.direction !== "to_supabase"));
        });

        await t.step("a sign-in's last_sign_in_at churn is not captured", async () => {
          const { id, address } = await migratedUser(stack, "churn");
          const before = (await outboxOf(stack.db, id)).length;
          const { error } = await stack.anon.auth.signInWithPassword({
            email: address,
            password: PASSWORD,
          });
          assert.equal(error, null);
          assert.equal((await outboxOf(stack.db, id)).length, before);
        });

        await t.step("email change and its confirmation", async () => {
          const { id } = await migratedUser(stack, "email");
          const next = email("email-new");
          const { error } = await stack.admin.auth.admin.updateUserById(id, {
            email: next,
            email_confirm: true,
          });
          assert.equal(error, null);
          await stack.identitySync.apply();
          const copy = await betterAuthRow(stack.db, id);
          assert.equal(copy!.email, next);
          assert.equal(copy!.emailVerified, true);
          assert.ok(await signsInToBetterAuth(stack, next, PASSWORD), "new email logs in");
        });

        await t.step("an unconfirmed email stays unconfirmed", async () => {
          const address = email("unconfirmed");
          const { data, error } = await stack.admin.auth.admin.createUser({
            email: address,
            password: PASSWORD,
          });
          assert.equal(error, null);
          await copyToBetterAuth(stack, data.user!.id);
          await stack.identitySync.apply();
          assert.equal((await betterAuthRow(stack.db, data.user!.id))!.emailVerified, false);
          await stack.admin.auth.admin.updateUserById(data.user!.id, { email_confirm: true });
          await stack.identitySync.apply();
          assert.equal((await betterAuthRow(stack.db, data.user!.id))!.emailVerified, true);
        });

        await t.step("phone and its confirmation", async () => {
          const { id } = await migratedUser(stack, "phone");
          const phone = `1555${String(Date.now()).slice(-7)}`;
          const { error } = await stack.admin.auth.admin.updateUserById(id, {
            phone,
            phone_confirm: true,
          });
          assert.equal(error, null);
          await stack.identitySync.apply();
          const copy = await betterAuthRow(stack.db, id);
          assert.equal(copy!.phoneNumber, phone);
          assert.equal(copy!.phoneNumberVerified, true);
        });

        await t.step("ban, enforced by Better Auth; unban", async () => {
          const { id, address } = await migratedUser(stack, "ban");
          assert.ok(await signsInToBetterAuth(stack, address, PASSWORD));
          await stack.admin.auth.admin.updateUserById(id, { ban_duration: "24h" });
          await stack.identitySync.apply();
          let copy = await betterAuthRow(stack.db, id);
          assert.equal(copy!.banned, true);
          assert.ok(copy!.banExpires && new Date(copy!.banExpires).getTime() > Date.now());
          assert.equal(copy!.sessions, 0, "sessions revoked");
          const refused = await stack.betterAuth.signIn({ email: address, password: PASSWORD });
          assert.ok(!refused.ok, "banned: refused");
          assert.equal(refused.error.code, "user_banned", "a definitive refusal, GoTrue's code");
          await stack.admin.auth.admin.updateUserById(id, { ban_duration: "none" });
          await stack.identitySync.apply();
          copy = await betterAuthRow(stack.db, id);
          assert.equal(copy!.banned, false);
          assert.equal(copy!.banExpires, null);
          assert.ok(await signsInToBetterAuth(stack, address, PASSWORD), "unbanned: accepted");
        });

        await t.step("user and app metadata (the copy's own keys are kept)", async () => {
          const { id } = await migratedUser(stack, "meta");
          await stack.db.query(
            `UPDATE "user" SET "userMetadata" = "userMetadata" || '{"migrated_from":"supabase"}'
              WHERE id = $1::uuid`,
            [id],
          );
          await stack.admin.auth.admin.updateUserById(id, {
            user_metadata: { plan: "pro" },
            app_metadata: { tier: "gold" },
          });
          await stack.identitySync.apply();
          const copy = await betterAuthRow(stack.db, id);
          assert.equal(copy!.userMetadata.plan, "pro");
          assert.equal(copy!.userMetadata.full_name, "Ada");
          assert.equal(copy!.userMetadata.migrated_from, "supabase");
          assert.equal(copy!.appMetadata.tier, "gold");
        });

        await t.step("soft delete and delete remove the Better Auth user", async () => {
          for (const soft of [true, false]) {
            const { id, address } = await migratedUser(stack, soft ? "soft" : "hard");
            const { error } = await stack.admin.auth.admin.deleteUser(id, soft);
            assert.equal(error, null);
            await stack.identitySync.apply();
            assert.equal(await betterAuthRow(stack.db, id), null, soft ? "soft" : "hard");
            assert.ok(!(await signsInToBetterAuth(stack, address, PASSWORD)));
          }
        });

        await t.step("identities linked and unlinked become accounts", async () => {
          const { id } = await migratedUser(stack, "identity");
          const providerId = `gh-${crypto.randomUUID()}`;
          // GoTrue links an OAuth identity by inserting it (no admin endpoint links one).
          await stack.db.query(
            `INSERT INTO auth.identities (provider_id, user_id, identity_data, provider,
                                          created_at, updated_at)
             VALUES ($1, $2::uuid, jsonb_build_object('sub', $1::text), 'github', now(), now())`,
            [providerId, id],
          );
          await stack.identitySync.apply();
          const linked = await stack.db.query(
            `SELECT 1 FROM account WHERE "userId" = $1::uuid AND "providerId" = 'github'
               AND "accountId" = $2`,
            [id, providerId],
          );
          assert.equal(linked.rows.length, 1);
          await stack.db.query(
            `DELETE FROM auth.identities WHERE provider = 'github' AND provider_id = $1`,
            [providerId],
          );
          await stack.identitySync.apply();
          const unlinked = await stack.db.query(
            `SELECT 1 FROM account WHERE "userId" = $1::uuid AND "providerId" = 'github'`,
            [id],
          );
          assert.equal(unlinked.rows.length, 0);
        });

        await t.step(
          "a user not copied yet: rows wait, then apply once the copy exists",
          async () => {
            const address = email("later");
            const id = await createSupabaseUser(stack.admin, address, PASSWORD);
            await stack.admin.auth.admin.updateUserById(id, { password: NEW_PASSWORD });
            // A horizon that has not passed: the rows are deferred, not skipped.
            const waiting = stack.syncWith({ toBetterAuth: { absentHorizonMs: 3_600_000 } });
            const first = await waiting.apply();
            assert.ok(first.toBetterAuth.deferredUsers >= 1);
            assert.ok((await outboxOf(stack.db, id)).some((row) => !row.applied));
            // A copy made from a snapshot older than the password change (a batch in flight).
            const user = (await stack.supabase.findUserById(id))!;
            await stack.betterAuth.importUser({ ...user, passwordHash: null });
            await waiting.apply();
            assert.equal(
              (await betterAuthRow(stack.db, id))!.password,
              await supabaseHash(stack.db, id),
            );
            assert.ok(await signsInToBetterAuth(stack, address, NEW_PASSWORD));
          },
        );

        await t.step("a user never copied is skipped after the horizon", async () => {
          const id = await createSupabaseUser(stack.admin, email("never"), PASSWORD);
          await stack.identitySync.apply(); // deferred (first seen now)
          await stack.identitySync.apply(); // horizon 0 passed, no older transaction
          const rows = await outboxOf(stack.db, id);
          assert.ok(rows.length > 0 && rows.every((row) => row.outcome === "skipped_absent"));
          assert.equal(await betterAuthRow(stack.db, id), null);
        });

        await t.step("a poison row fails alone; other users are applied", async () => {
          const poisoned = await migratedUser(stack, "poison");
          const healthy = await migratedUser(stack, "healthy");
          await stack.db.query(
            `INSERT INTO identity_change_outbox (direction, user_id, entity, op, payload)
             VALUES ('to_better_auth', $1::uuid, 'no-such-entity', 'update', '{}')`,
            [poisoned.id],
          );
          await stack.admin.auth.admin.updateUserById(poisoned.id, { user_metadata: { a: 1 } });
          await stack.admin.auth.admin.updateUserById(healthy.id, { user_metadata: { b: 2 } });
          const sync = stack.syncWith({ drain: { maxAttempts: 2 } });
          for (let run = 0; run < 3; run++) await sync.apply();
          assert.equal((await betterAuthRow(stack.db, healthy.id))!.userMetadata.b, 2);
          const rows = (await outboxOf(stack.db, poisoned.id)).filter((row) => !row.applied);
          assert.equal(rows.length, 2, "the poison row and the change after it wait");
          assert.equal(rows[0]!.attempts, 2, "no attempt after maxAttempts");
          assert.match(rows[0]!.last_error ?? "", /unknown outbox entity/);
          assert.equal((await sync.status()).toBetterAuth.stuck, 1);
          await stack.db.query(
            `DELETE FROM identity_change_outbox WHERE entity = 'no-such-entity'`,
          );
          await sync.apply();
          assert.equal((await betterAuthRow(stack.db, poisoned.id))!.userMetadata.a, 1);
        });
      } finally {
        await stack.close();
      }
    },
  });
}
