/**
 * The sync through the dev server (PGlite, Supabase's auth schema created before the migrations
 * as on a real project, so the migration itself installs the auth triggers): the batch copies a
 * user, a password reset in Supabase (supabase-js admin client) reaches Better Auth through the
 * cron path and through the on-demand admin route, and the admin routes refuse anyone without
 * the service-role key and bad input with a 400 naming the field.
 */
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import { startAuthServer } from "../functions/auth-e2e-helpers.ts";
import { betterAuthRow, supabaseHash } from "./helpers.ts";

const NEW_PASSWORD = "a-brand-new-passphrase";

Deno.test("sync admin routes and the cron path through the dev server", async (t) => {
  const auth = await startAuthServer({ MIGRATION_MODE: "dual_write" });
  const service = auth.server.keys.serviceRoleKey;
  const admin = createClient(auth.url, service, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    key: string | null = service,
  ) => {
    const response = await fetch(`${auth.url}/functions/v1/migrate-batch${path}`, {
      method,
      headers: {
        ...(key ? { Authorization: `Bearer ${key}` } : {}),
        "Content-Type": "application/json",
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  };
  try {
    const { rows } = await auth.server.sql.query<{ id: string }>(
      `SELECT id::text AS id FROM auth.users WHERE email = 'demo@example.com'`,
    );
    const demoId = rows[0]!.id;

    await t.step("the migration installed the auth triggers", async () => {
      const { rows } = await auth.server.sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_trigger WHERE tgname LIKE 'identity_sync_%'`,
      );
      assert.equal(rows[0]!.n, 11);
    });

    await t.step("admin routes refuse without a key and name bad fields", async () => {
      assert.equal((await call("GET", "/admin/sync/status", undefined, null)).status, 401);
      assert.equal((await call("GET", "/admin/sync/status", undefined, "wrong")).status, 401);
      const bad = await call("POST", "/admin/sync/complete", {});
      assert.equal(bad.status, 400);
      assert.match(JSON.stringify(bad.body), /confirm/);
      const badBudget = await call("POST", "/admin/sync/apply", { budget_ms: "soon" });
      assert.equal(badBudget.status, 400);
      assert.match(JSON.stringify(badBudget.body), /budget_ms/);
    });

    await t.step("a cron run copies the user and applies the change streams", async () => {
      const run = await call("POST", "", { migration_id: "sync-e2e" });
      assert.equal(run.status, 200, JSON.stringify(run.body));
      assert.ok(await betterAuthRow(auth.server.sql, demoId), "copied by the batch");
    });

    await t.step(
      "a Supabase password reset reaches Better Auth on the next cron tick",
      async () => {
        const { error } = await admin.auth.admin.updateUserById(demoId, { password: NEW_PASSWORD });
        assert.equal(error, null);
        assert.ok((await call("GET", "/admin/sync/status")).body.toBetterAuth.pending > 0);
        assert.equal((await call("POST", "", {})).status, 200);
        // The sync runs after the cron's response: wait until it has nothing pending.
        for (let i = 0; i < 100; i++) {
          if ((await call("GET", "/admin/sync/status")).body.toBetterAuth.pending === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const copy = await betterAuthRow(auth.server.sql, demoId);
        assert.equal(copy!.password, await supabaseHash(auth.server.sql, demoId));
      },
    );

    await t.step("on demand: POST /admin/sync/apply", async () => {
      const { error } = await admin.auth.admin.updateUserById(demoId, {
        user_metadata: { plan: "team" },
      });
      assert.equal(error, null);
      const applied = await call("POST", "/admin/sync/apply", { budget_ms: 5000 });
      assert.equal(applied.status, 200);
      // (The cron's sync may still be running and take the row first: either way it is applied.)
      assert.equal(applied.body.toBetterAuth.failedUsers, 0);
      assert.equal((await betterAuthRow(auth.server.sql, demoId))!.userMetadata.plan, "team");
      const status = await call("GET", "/admin/sync/status");
      assert.equal(status.body.toBetterAuth.pending, 0);
      assert.equal(status.body.completion.complete, false);
    });

    await t.step("declare complete, then reopen", async () => {
      const done = await call("POST", "/admin/sync/complete", { confirm: true });
      assert.equal(done.status, 200);
      assert.equal(done.body.complete, true);
      assert.equal(done.body.completedBy, "service_role");
      const reopened = await call("POST", "/admin/sync/reopen", { confirm: true });
      assert.equal(reopened.body.complete, false);
    });
  } finally {
    await auth.close();
  }
});
