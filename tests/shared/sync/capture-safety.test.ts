/**
 * The auth triggers never fail or stall a GoTrue write, and nothing they miss is lost for good:
 * with the outbox renamed away (PGlite and PostgreSQL 15) or locked by another session
 * (PostgreSQL 15), GoTrue's admin API still answers 200, the failure is recorded, and the next
 * apply re-captures the user's current state. Plus what only a real server can show: a batch
 * copy that read auth.users before a change and commits after it, and two appliers at once.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
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

async function openFailures(stack: SyncStack): Promise<number> {
  const { rows } = await stack.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM identity_change_capture_failures WHERE resolved_at IS NULL`,
  );
  return rows[0]!.n;
}

async function migratedUser(stack: SyncStack, label: string) {
  const address = email(label);
  const id = await createSupabaseUser(stack.admin, address, PASSWORD);
  await copyToBetterAuth(stack, id);
  await stack.identitySync.apply();
  return { id, address };
}

/** A second connection to the same PostgreSQL database (another session). */
function otherSession(stack: SyncStack) {
  return postgres((stack.db as unknown as { url: string }).url, { max: 1, onnotice: () => {} });
}

for (const provider of ["pglite", "postgres"] as Provider[]) {
  Deno.test({
    name: `auth capture is exception-safe on ${provider}`,
    ignore: provider === "postgres" && !TEST_DATABASE_URL,
    async fn(t) {
      const stack = await openSyncStack(provider);
      try {
        await t.step(
          "outbox renamed away: GoTrue still writes; the change is recovered",
          async () => {
            const { id, address } = await migratedUser(stack, "renamed");
            await stack.db.exec(`ALTER TABLE identity_change_outbox RENAME TO outbox_gone`);
            try {
              const { error } = await stack.admin.auth.admin.updateUserById(id, {
                password: NEW_PASSWORD,
              });
              assert.equal(error, null, "GoTrue's write succeeded");
              const signup = await stack.admin.auth.admin.createUser({
                email: email("renamed-signup"),
                password: PASSWORD,
              });
              assert.equal(signup.error, null, "a signup too");
            } finally {
              await stack.db.exec(`ALTER TABLE outbox_gone RENAME TO identity_change_outbox`);
            }
            assert.ok(await openFailures(stack) >= 2, "the lost captures are recorded");
            const report = await stack.identitySync.apply();
            assert.ok(report.recaptured >= 2);
            assert.equal(await openFailures(stack), 0);
            assert.equal(
              (await betterAuthRow(stack.db, id))!.password,
              await supabaseHash(stack.db, id),
            );
            assert.ok(
              (await stack.betterAuth.signIn({ email: address, password: NEW_PASSWORD })).ok,
            );
          },
        );

        if (provider === "postgres") {
          await t.step(
            "outbox locked by another session: GoTrue waits ≤ 0.5 s, then writes",
            async () => {
              const { id } = await migratedUser(stack, "locked");
              const other = otherSession(stack);
              try {
                const locked = other.begin(async (tx) => {
                  await tx`LOCK TABLE identity_change_outbox IN ACCESS EXCLUSIVE MODE`;
                  const { error } = await stack.admin.auth.admin.updateUserById(id, {
                    password: NEW_PASSWORD,
                  });
                  assert.equal(error, null, "GoTrue's write succeeded under the lock");
                });
                await locked;
              } finally {
                await other.end();
              }
              assert.equal(await openFailures(stack), 1);
              await stack.identitySync.apply();
              assert.equal(
                (await betterAuthRow(stack.db, id))!.password,
                await supabaseHash(stack.db, id),
              );
            },
          );

          await t.step(
            "a copy that read before a change and commits after it misses nothing",
            async () => {
              const address = email("racing-copy");
              const id = await createSupabaseUser(stack.admin, address, PASSWORD);
              const staleUser = (await stack.supabase.findUserById(id))!;
              const waiting = stack.syncWith({
                toBetterAuth: { absentHorizonMs: 0, absentHardLimitMs: 3_600_000 },
              });
              const other = otherSession(stack);
              try {
                await other.begin(async (tx) => {
                  // The batch's transaction: begun (and reading auth.users) before the change.
                  await tx`SELECT id FROM auth.users WHERE id = ${id}::uuid`;
                  await stack.admin.auth.admin.updateUserById(id, { password: NEW_PASSWORD });
                  await waiting.apply(); // the user is missing: deferred
                  await waiting.apply(); // horizon 0 passed, but this older transaction is open
                  const pending = (await outboxOf(stack.db, id)).filter((row) => !row.applied);
                  assert.ok(pending.length > 0, "not skipped while an older transaction is open");
                  // The stale copy commits (the hash read before the change).
                  await tx`INSERT INTO "user" (id, name, email, "emailVerified", "updatedAt")
                         VALUES (${id}::uuid, 'Ada', ${address}, true, now())`;
                  await tx`INSERT INTO account (id, "accountId", "providerId", "userId", password,
                                              "createdAt", "updatedAt")
                         VALUES (gen_random_uuid(), ${id}, 'credential', ${id}::uuid,
                                 ${staleUser.passwordHash}, now(), now())`;
                });
              } finally {
                await other.end();
              }
              await waiting.apply();
              assert.equal(
                (await betterAuthRow(stack.db, id))!.password,
                await supabaseHash(stack.db, id),
                "the change made during the copy reached Better Auth",
              );
              assert.ok((await outboxOf(stack.db, id)).every((row) => row.applied));
            },
          );

          await t.step("two appliers at once apply every row exactly once", async () => {
            const users = await Promise.all(
              Array.from({ length: 12 }, (_, i) => migratedUser(stack, `pair-${i}`)),
            );
            for (const [i, user] of users.entries()) {
              await stack.admin.auth.admin.updateUserById(user.id, { user_metadata: { n: i } });
              await stack.admin.auth.admin.updateUserById(user.id, {
                user_metadata: { n: i + 100 },
              });
            }
            const [a, b] = await Promise.all([
              stack.syncWith().apply(),
              stack.syncWith().apply(),
            ]);
            assert.equal(a.toBetterAuth.failedUsers + b.toBetterAuth.failedUsers, 0);
            for (const [i, user] of users.entries()) {
              assert.equal((await betterAuthRow(stack.db, user.id))!.userMetadata.n, i + 100);
              const rows = await outboxOf(stack.db, user.id);
              assert.ok(rows.every((row) => row.applied && row.outcome === "applied"));
            }
          });
        }
      } finally {
        await stack.close();
      }
    },
  });
}
