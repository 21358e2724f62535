/**
 * Better Auth → Supabase until the migration is declared complete, on PGlite and PostgreSQL 15:
 * signups, password changes, email changes and deletions made on the Better Auth side (through
 * Better Auth itself) reach Supabase Auth, and the user then logs in through GoTrue (the
 * stand-in, via supabase-js) with the current password. GoTrue's own echo of those writes is
 * settled, never applied back; after completion nothing is captured and hashes are scrypt.
 */
import assert from "node:assert/strict";
import { createBetterAuth } from "../../../shared/auth/better-auth.ts";
import { DEFAULT_PASSWORD_POLICY } from "../../../shared/auth/password-policy.ts";
import { hashKind } from "../../../shared/auth/passwords.ts";
import { SyncCompletion } from "../../../shared/sync/completion.ts";
import { TEST_DATABASE_URL } from "../../helpers/db.ts";
import { BETTER_AUTH_SECRET, email, PASSWORD, type Provider } from "../auth/harness.ts";
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

async function logsInToSupabase(stack: SyncStack, address: string, password: string) {
  const { error } = await stack.anon.auth.signInWithPassword({ email: address, password });
  return error === null;
}

/** Better Auth's own internals on the same database, as any Better Auth code path would use. */
async function betterAuthContext(stack: SyncStack) {
  const auth = createBetterAuth({
    db: stack.db,
    secret: BETTER_AUTH_SECRET,
    passwordPolicy: DEFAULT_PASSWORD_POLICY,
  });
  return await auth.$context;
}

async function signUpOnBetterAuth(stack: SyncStack, label: string) {
  const address = email(label);
  const result = await stack.betterAuth.signUp({
    email: address,
    password: PASSWORD,
    metadata: { full_name: "Grace" },
  });
  assert.ok(result.ok, "Better Auth signup");
  return { id: result.value.user.id, address };
}

for (const provider of ["pglite", "postgres"] as Provider[]) {
  Deno.test({
    name: `Better Auth → Supabase sync on ${provider}`,
    ignore: provider === "postgres" && !TEST_DATABASE_URL,
    async fn(t) {
      const stack = await openSyncStack(provider);
      try {
        const context = await betterAuthContext(stack);

        await t.step(
          "a Better Auth signup reaches Supabase with the same id and password",
          async () => {
            const { id, address } = await signUpOnBetterAuth(stack, "ba-signup");
            assert.equal(hashKind((await betterAuthRow(stack.db, id))!.password!), "bcrypt");
            const captured = (await outboxOf(stack.db, id)).map((r) => [r.direction, r.entity]);
            assert.deepEqual(captured, [["to_supabase", "user"], ["to_supabase", "password"]]);
            const report = await stack.identitySync.apply();
            assert.equal(report.toSupabase!.failedUsers, 0);
            const { data } = await stack.admin.auth.admin.getUserById(id);
            assert.equal(data.user?.email, address);
            assert.equal(data.user?.user_metadata.full_name, "Grace");
            assert.equal(
              await supabaseHash(stack.db, id),
              (await betterAuthRow(stack.db, id))!.password,
            );
            assert.ok(await logsInToSupabase(stack, address, PASSWORD), "logs in through GoTrue");
            // GoTrue's own capture of that createUser is settled as an echo, never applied back.
            const back = (await outboxOf(stack.db, id)).filter((r) =>
              r.direction === "to_better_auth"
            );
            assert.ok(back.length > 0 && back.every((r) => r.applied && r.outcome === "echo"));
          },
        );

        await t.step(
          "Confirm email on: an unverified Better Auth user reaches Supabase unconfirmed",
          async () => {
            // registerSync passes "the project autoconfirms" (GoTrue's /settings): here, no.
            const sync = stack.syncWith({
              toSupabase: { confirmUnverified: () => Promise.resolve(false) },
            });
            const { id, address } = await signUpOnBetterAuth(stack, "ba-unverified");
            const report = await sync.apply();
            assert.equal(report.toSupabase!.failedUsers, 0);
            const { data } = await stack.admin.auth.admin.getUserById(id);
            assert.equal(data.user?.email, address);
            assert.equal(data.user?.email_confirmed_at ?? null, null, "never confirmed by admin");
            const { error } = await stack.anon.auth.signInWithPassword({
              email: address,
              password: PASSWORD,
            });
            assert.equal(error?.code, "email_not_confirmed");
          },
        );

        await t.step("a password change on Better Auth reaches Supabase", async () => {
          const { id, address } = await signUpOnBetterAuth(stack, "ba-password");
          await stack.identitySync.apply();
          await context.internalAdapter.updatePassword(
            id,
            await context.password.hash(NEW_PASSWORD),
          );
          const pending = (await outboxOf(stack.db, id)).filter((r) => !r.applied);
          assert.deepEqual(pending.map((r) => [r.direction, r.entity]), [[
            "to_supabase",
            "password",
          ]]);
          await stack.identitySync.apply();
          assert.ok(!(await logsInToSupabase(stack, address, PASSWORD)), "old refused");
          assert.ok(await logsInToSupabase(stack, address, NEW_PASSWORD), "new accepted");
          // Written with sync_origin = better_auth: not captured back.
          assert.ok((await outboxOf(stack.db, id)).every((r) => r.applied));
        });

        await t.step("a migrated user's Better Auth password change reaches Supabase", async () => {
          const address = email("migrated-password");
          const id = await createSupabaseUser(stack.admin, address, PASSWORD);
          await copyToBetterAuth(stack, id);
          await stack.identitySync.apply();
          const copied = (await outboxOf(stack.db, id)).filter((r) =>
            r.direction === "to_supabase"
          );
          assert.equal(copied.length, 0, "copying Supabase's own user is not a change");
          await context.internalAdapter.updatePassword(
            id,
            await context.password.hash(NEW_PASSWORD),
          );
          await stack.identitySync.apply();
          assert.ok(await logsInToSupabase(stack, address, NEW_PASSWORD));
        });

        await t.step("an email change on Better Auth reaches Supabase", async () => {
          const { id } = await signUpOnBetterAuth(stack, "ba-email");
          await stack.identitySync.apply();
          const next = email("ba-email-new");
          await context.internalAdapter.updateUser(id, { email: next, emailVerified: true });
          await stack.identitySync.apply();
          const { data } = await stack.admin.auth.admin.getUserById(id);
          assert.equal(data.user?.email, next);
          assert.ok(data.user?.email_confirmed_at);
          assert.ok(await logsInToSupabase(stack, next, PASSWORD), "the new email logs in");
          assert.ok((await outboxOf(stack.db, id)).every((r) => r.applied));
        });

        await t.step("a deletion on Better Auth reaches Supabase", async () => {
          const { id, address } = await signUpOnBetterAuth(stack, "ba-delete");
          await stack.identitySync.apply();
          await context.internalAdapter.deleteUser(id);
          await stack.identitySync.apply();
          const { data } = await stack.admin.auth.admin.getUserById(id);
          assert.equal(data.user, null);
          assert.ok(!(await logsInToSupabase(stack, address, PASSWORD)));
          assert.ok((await outboxOf(stack.db, id)).every((r) => r.applied));
        });

        await t.step(
          "declared complete: no capture, scrypt hashes; reopened: capture again",
          async () => {
            const completion = new SyncCompletion(stack.db, 0);
            await completion.declareComplete("test");
            try {
              const address = email("after-completion");
              const service = (await import("../auth/harness.ts")).betterAuthOn(
                stack.db,
                stack.keys,
                undefined,
                completion,
              );
              const result = await service.signUp({ email: address, password: PASSWORD });
              assert.ok(result.ok);
              const id = result.value.user.id;
              assert.equal(hashKind((await betterAuthRow(stack.db, id))!.password!), "scrypt");
              assert.deepEqual(await outboxOf(stack.db, id), [], "nothing captured");
              const report = await stack.syncWith({ completion }).apply();
              assert.equal(report.toSupabase, null, "the Better Auth → Supabase stream is off");
              assert.equal((await stack.admin.auth.admin.getUserById(id)).data.user, null);
            } finally {
              await completion.reopen();
            }
            const { id } = await signUpOnBetterAuth(stack, "reopened");
            assert.ok((await outboxOf(stack.db, id)).length > 0, "captured again");
            await stack.identitySync.apply();
          },
        );
      } finally {
        await stack.close();
      }
    },
  });
}
