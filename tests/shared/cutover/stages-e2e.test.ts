/**
 * The operator's story through the real functions (dev server: real HTTP, the Auth stand-in,
 * Better Auth, PGlite): with the rollout at its default 0 %, moving signup to dual_write through
 * migrate-batch's admin API makes the very next signup land in BOTH systems under one id — the
 * finding of issue 14, where MIGRATION_MODE=dual_write reached nobody at 0 %. Moving back to
 * supabase_only stops it again. The gate thresholds come from the MIGRATION_STAGE_* variables.
 */
// deno-lint-ignore-file no-explicit-any -- the API's JSON bodies are read field by field
import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/env.ts";
import { gateSettingsFromEnv } from "../../../shared/cutover/gates.ts";
import {
  assertMigrationHeaders,
  callFunction,
  GOOD_PASSWORD,
  startAuthServer,
  uniqueEmail,
} from "../functions/auth-e2e-helpers.ts";

Deno.test("dual_write stage: a signup at rollout 0 % lands in both systems", async () => {
  const auth = await startAuthServer({
    MIGRATION_MODE: "supabase_only",
    MIGRATION_STAGE_MAX_DISAGREEMENT_RATE: "0.2",
    MIGRATION_STAGE_MIN_COMPARISONS: "3",
    MIGRATION_STAGE_MAX_OPEN_DIVERGENCES: "2",
  });
  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${auth.url}/functions/v1/migrate-batch/admin/stages${path}`, {
      method,
      headers: {
        authorization: `Bearer ${auth.server.keys.serviceRoleKey}`,
        ...(body ? { "content-type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, body: await response.json() as any };
  };
  const where = async (email: string) => {
    const { rows: supabase } = await auth.server.sql.query<{ id: string }>(
      "SELECT id::text AS id FROM auth.users WHERE email = $1",
      [email],
    );
    const { rows: betterAuth } = await auth.server.sql.query<{ id: string }>(
      `SELECT id::text AS id FROM "user" WHERE email = $1`,
      [email],
    );
    return { supabase: supabase[0]?.id ?? null, betterAuth: betterAuth[0]?.id ?? null };
  };
  try {
    const { rows } = await auth.server.sql.query(
      "SELECT 1 FROM runtime_flags WHERE rollout_percentage > 0",
    );
    assert.equal(rows.length, 0, "no rollout: everyone is at 0 %");
    const listed = await admin("GET", "");
    assert.equal(listed.status, 200);
    assert.equal(listed.body.data[0].function, "signup");
    assert.equal(listed.body.data[0].stage, "supabase_only");

    const before = uniqueEmail("stage-before");
    const first = await callFunction(auth, "signup", { email: before, password: GOOD_PASSWORD });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assertMigrationHeaders(first.headers, "original");
    const beforeIds = await where(before);
    assert.ok(beforeIds.supabase);

    for (const to of ["shadow", "dual_write"]) {
      const moved = await admin("POST", "/signup", { to, reason: `e2e: ${to}` });
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
    }
    const email = uniqueEmail("stage-dual");
    const signup = await callFunction(auth, "signup", { email, password: GOOD_PASSWORD });
    assert.equal(signup.status, 200, JSON.stringify(signup.body));
    assertMigrationHeaders(signup.headers, "abstracted");
    const ids = await where(email);
    assert.ok(ids.supabase, "written to Supabase");
    assert.equal(ids.betterAuth, ids.supabase, "written to Better Auth under the same id");
    assert.equal(signup.body.user.id, ids.supabase);

    // The login stage's gate reads the thresholds from the environment.
    for (const to of ["shadow", "dual_write"]) {
      assert.equal((await admin("POST", "/login", { to, reason: "e2e" })).status, 200);
    }
    const refused = await admin("POST", "/login", { to: "better_auth_primary", reason: "e2e" });
    assert.equal(refused.status, 409);
    const checks = refused.body.error.details.gate.checks;
    const shadow = checks.find((c: any) => c.check === "shadow_disagreement");
    assert.equal(shadow.figures.max_disagreement_rate, 0.2);
    assert.equal(shadow.figures.min_comparisons, 3);
    const divergences = checks.find((c: any) => c.check === "open_divergences");
    assert.equal(divergences.figures.max_open_divergences, 2);

    // Back to supabase_only: signups at 0 % are Supabase-only again (no gate going back).
    const back = await admin("POST", "/signup", { to: "supabase_only", reason: "e2e: back" });
    assert.equal(back.status, 200);
    const after = uniqueEmail("stage-after");
    const last = await callFunction(auth, "signup", { email: after, password: GOOD_PASSWORD });
    assert.equal(last.status, 200);
    assertMigrationHeaders(last.headers, "original");
  } finally {
    await auth.close();
  }
});

Deno.test("MIGRATION_STAGE_* set the gate thresholds (defaults as documented)", () => {
  assert.deepEqual(gateSettingsFromEnv(loadConfig({}).env), {
    maxDisagreementRate: 0.01,
    minComparisons: 0,
    maxOpenDivergences: 0,
    quietPeriodMs: 86_400_000,
  });
  assert.deepEqual(
    gateSettingsFromEnv(
      loadConfig({
        MIGRATION_STAGE_MAX_DISAGREEMENT_RATE: "0.02",
        MIGRATION_STAGE_MIN_COMPARISONS: "500",
        MIGRATION_STAGE_MAX_OPEN_DIVERGENCES: "3",
        MIGRATION_STAGE_QUIET_PERIOD_MS: "604800000",
      }).env,
    ),
    {
      maxDisagreementRate: 0.02,
      minComparisons: 500,
      maxOpenDivergences: 3,
      quietPeriodMs: 604_800_000,
    },
  );
  assert.throws(
    () => loadConfig({ MIGRATION_STAGE_MAX_DISAGREEMENT_RATE: "1.5" }),
    /MIGRATION_STAGE_MAX_DISAGREEMENT_RATE/,
  );
});
