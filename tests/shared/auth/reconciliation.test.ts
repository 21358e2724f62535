/**
 * Reconciliation repairs recorded divergences with the real systems (stand-in + Better Auth).
 */
import assert from "node:assert/strict";
import { hashBcrypt } from "../../../shared/auth/passwords.ts";
import { reconcileDivergences } from "../../../shared/auth/reconciliation.ts";
import { email, openStack, PASSWORD, presence, type Stack } from "./harness.ts";

function run(stack: Stack, maxAttempts = 3) {
  return reconcileDivergences({
    supabase: stack.supabase,
    betterAuth: stack.betterAuth,
    divergences: stack.divergences,
    status: stack.status,
    sync: stack.sync(),
  }, { maxAttempts });
}

Deno.test("reconcileDivergences on PGlite", async (t) => {
  const stack = await openStack("pglite");
  try {
    await t.step("a user missing in Better Auth is copied with its id and password", async () => {
      const address = email("to-ba");
      const created = await stack.supabase.signUp({
        email: address,
        password: PASSWORD,
        metadata: { k: 1 },
      });
      assert.ok(created.ok);
      const id = created.value.user.id;
      await stack.divergences.record({
        userId: id,
        email: address,
        kind: "missing_user",
        missingSide: "better_auth",
        operation: "signup",
        reason: "auth_unavailable",
      });
      const report = await run(stack);
      assert.deepEqual(report.outcomes.map((o) => o.result), ["created in better_auth"]);
      assert.deepEqual(await presence(stack.db, address), { supabase: [id], betterAuth: [id] });
      const login = await stack.betterAuth.signIn({ email: address, password: PASSWORD });
      assert.ok(login.ok);
      assert.equal(login.value.user.user_metadata.k, 1);
      const via = await stack.db.query(
        `SELECT migrated_via FROM migrated_users WHERE original_id = $1`,
        [id],
      );
      assert.deepEqual(via.rows, [{ migrated_via: "reconciliation" }]);
      assert.equal((await stack.status.get(id))?.betterAuthMigrated, true);
    });

    await t.step(
      "a user missing in Supabase gets the bcrypt copy kept by the divergence",
      async () => {
        const address = email("to-supabase");
        const created = await stack.betterAuth.signUp({ email: address, password: PASSWORD });
        assert.ok(created.ok);
        const id = created.value.user.id;
        await stack.divergences.record({
          userId: id,
          email: address,
          kind: "missing_user",
          missingSide: "supabase",
          operation: "signup",
          reason: "timed out",
          passwordHash: await hashBcrypt(PASSWORD),
        });
        const report = await run(stack);
        assert.deepEqual(report.outcomes.map((o) => o.result), ["created in supabase"]);
        const login = await stack.supabase.signIn({ email: address, password: PASSWORD });
        assert.ok(login.ok);
        assert.equal(login.value.user.id, id);
        const [row] = await stack.divergences.listForUser(id);
        assert.equal(row!.status, "resolved");
        assert.equal(row!.passwordHash, undefined, "the hash copy is dropped once used");
      },
    );

    await t.step("already present, or gone from the source: resolved without writing", async () => {
      const address = email("present");
      const both = await stack.service({ mode: "dual_write" }).signUp({
        email: address,
        password: PASSWORD,
      });
      assert.ok(both.ok);
      const ghost = crypto.randomUUID();
      for (
        const [userId, side] of [[both.value.user.id, "supabase"], [ghost, "better_auth"]] as const
      ) {
        await stack.divergences.record({
          userId,
          email: address,
          kind: "missing_user",
          missingSide: side,
          operation: "signup",
          reason: "test",
        });
      }
      const report = await run(stack);
      assert.deepEqual(
        report.outcomes.map((o) => o.result).sort(),
        ["already present in supabase", "source user no longer exists"],
      );
    });

    await t.step("an aborted signup that landed late is removed from both systems", async () => {
      const address = email("aborted");
      const id = crypto.randomUUID();
      assert.ok((await stack.betterAuth.signUp({ id, email: address, password: PASSWORD })).ok);
      assert.ok(
        (await stack.supabase.signUp({ id, email: address, password: PASSWORD }, {
          sessionNeeded: false,
        })).ok,
      );
      await stack.divergences.record({
        userId: id,
        email: address,
        kind: "aborted_signup",
        operation: "signup",
        reason: "every backend failed; supabase timed out",
      });
      const report = await run(stack);
      assert.deepEqual(report.outcomes.map((o) => o.result), [
        "removed from supabase and better_auth",
      ]);
      assert.deepEqual(await presence(stack.db, address), { supabase: [], betterAuth: [] });
    });

    await t.step(
      "an email held by another id is retried, then parked for an operator",
      async () => {
        const address = email("conflict");
        const supabaseSide = await stack.supabase.signUp({ email: address, password: PASSWORD });
        const betterAuthSide = await stack.betterAuth.signUp({
          email: address,
          password: PASSWORD,
        });
        assert.ok(supabaseSide.ok && betterAuthSide.ok);
        const id = supabaseSide.value.user.id;
        await stack.divergences.record({
          userId: id,
          email: address,
          kind: "missing_user",
          missingSide: "better_auth",
          operation: "signup",
          reason: "test",
        });
        await stack.divergences.record({
          userId: id,
          email: address,
          kind: "data_mismatch",
          operation: "validation",
          reason: "user metadata differs",
        });
        const first = await run(stack, 2);
        assert.equal(first.failed, 1);
        assert.equal((await run(stack, 2)).failed, 1);
        assert.equal((await run(stack, 2)).examined, 0, "parked after 2 attempts");
        const rows = await stack.divergences.listForUser(id);
        const byKind = Object.fromEntries(rows.map((row) => [row.kind, row.status]));
        assert.deepEqual(byKind, {
          missing_user: "failed",
          data_mismatch: "open",
          id_conflict: "open",
        });
        assert.ok((await run(stack)).remainingOpen >= 2, "operator rows are reported, not touched");
      },
    );
  } finally {
    await stack.close();
  }
});
