// deno-lint-ignore-file no-explicit-any -- the API's JSON bodies are read field by field
/**
 * The migration stages through the admin API on every database (PGlite and PostgreSQL): each
 * move, each gate refusal with its figures (a blocking dependency among them), moves back, the
 * finality of `complete`, and the audit rows. The gates read the real tables: performance_metrics,
 * auth_divergences, auth.users beside Better Auth's "user", the identity change outbox, the
 * batch's migration_states, and the app schema's dependencies on auth.users.
 */
import assert from "node:assert/strict";
import { createStageRoutes } from "../../../shared/cutover/stage-routes.ts";
import { StageService } from "../../../shared/cutover/stage-service.ts";
import type { GateSettings } from "../../../shared/cutover/gates.ts";
import { verifyLatestMigration } from "../../../shared/cutover/verify-latest.ts";
import { SupabaseAuthSource } from "../../../shared/batch/supabase-source.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { adminKeyVerifier } from "../../../shared/ops/admin-auth.ts";
import { IdentitySync } from "../../../shared/sync/service.ts";
import { FlagsCache } from "../../../shared/flags/cache.ts";
import { FlagsRoutingSource } from "../../../shared/flags/routing-source.ts";
import { RuntimeFlagsStore } from "../../../shared/flags/store.ts";
import { decideRoute } from "../../../shared/migrator/routing.ts";
import { loadConfig } from "../../../shared/config/env.ts";
import { sqlProviders } from "../../helpers/db.ts";
import { APP_SCHEMA, withAuthSchema } from "./fixtures.ts";

const SECRET = "a".repeat(40);
const BASE = "http://fn.local/migrate-batch/admin/stages";

interface Harness {
  readonly sql: SqlClient;
  /** Moves the gates' clock (quiet period) without waiting. */
  offsetMs: number;
  call(
    method: string,
    path: string,
    body?: unknown,
    key?: string,
  ): Promise<{ status: number; body: any }>;
  move(fn: string, to: string, reason?: string): Promise<{ status: number; body: any }>;
}

function harness(sql: SqlClient, settings: GateSettings, moved: string[]): Harness {
  const h: Harness = {
    sql,
    offsetMs: 0,
    async call(method, path, body, key = SECRET) {
      const response = await app.fetch(
        new Request(`${BASE}${path}`, {
          method,
          headers: {
            ...(key ? { authorization: `Bearer ${key}` } : {}),
            ...(body !== undefined ? { "content-type": "application/json" } : {}),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        }),
      );
      return { status: response.status, body: await response.json() };
    },
    move(fn, to, reason = `to ${to}`) {
      return h.call("POST", `/${fn}`, { to, reason });
    },
  };
  const service = new StageService({
    sql,
    env: { MIGRATION_MODE: "supabase_only", USE_BETTER_AUTH: false },
    settings,
    betterAuthConfigured: true,
    syncStatus: () => new IdentitySync({ db: sql }).status(),
    verifyLatest: () => verifyLatestMigration(sql, new SupabaseAuthSource(sql)),
    now: () => new Date(Date.now() + h.offsetMs),
    onMoved: (fn) => moved.push(fn),
  });
  const app = createStageRoutes({
    stages: () => Promise.resolve(service),
    auth: () => Promise.resolve({ verifyKey: adminKeyVerifier({ adminSecret: SECRET }) }),
  }, "/migrate-batch/admin/stages");
  return h;
}

const SETTINGS: GateSettings = {
  maxDisagreementRate: 0.05,
  minComparisons: 10,
  maxOpenDivergences: 0,
  quietPeriodMs: 10 * 60_000,
};

function check(body: any, name: string): any {
  const found = body.error.details.gate.checks.find((c: any) => c.check === name);
  assert.ok(found, `gate check ${name} in ${JSON.stringify(body)}`);
  return found;
}

async function metrics(
  sql: SqlClient,
  fn: string,
  rows: { mismatch: boolean; disagreement?: boolean; fallback?: boolean; at?: string }[],
) {
  for (const row of rows) {
    await sql.query(
      `INSERT INTO performance_metrics
         (function_name, operation, path, duration_ms, status, success, fallback, mismatch,
          disagreement, recorded_at)
       VALUES ($1, 'auth.login', 'original', 1, 200, true, $2, $3, $4, coalesce($5::timestamptz, now()))`,
      [fn, row.fallback ?? false, row.mismatch, row.disagreement ?? null, row.at ?? null],
    );
  }
}

for (const provider of sqlProviders()) {
  Deno.test(`migration stages through the admin API on ${provider.name}`, async (t) => {
    const sql = await withAuthSchema(provider.open);
    const moved: string[] = [];
    const h = harness(sql, SETTINGS, moved);
    try {
      await t.step("credentials and input are checked", async () => {
        const anonymous = await h.call("GET", "", undefined, "");
        assert.equal(anonymous.status, 401);
        assert.equal((await h.call("GET", "", undefined, "wrong")).status, 401);
        const bad = await h.call("POST", "/login", { to: "half_way", reason: "x" });
        assert.equal(bad.status, 400);
        assert.match(JSON.stringify(bad.body.error), /"to"/);
        const noReason = await h.call("POST", "/login", { to: "shadow" });
        assert.equal(noReason.status, 400);
        assert.match(JSON.stringify(noReason.body.error), /reason/);
        assert.equal((await h.move("coordinator", "shadow")).status, 404);
      });

      await t.step("every staged function starts at the env seed", async () => {
        const listed = await h.call("GET", "");
        assert.equal(listed.status, 200);
        assert.deepEqual(
          listed.body.data.map((v: any) => [v.function, v.stage, v.source, v.next]),
          [["signup", "supabase_only", "environment", "shadow"], [
            "login",
            "supabase_only",
            "environment",
            "shadow",
          ]],
        );
      });

      await t.step("forward one step at a time; shadow and dual_write have no gate", async () => {
        const skip = await h.move("login", "dual_write");
        assert.equal(skip.status, 409);
        assert.equal(skip.body.error.code, "conflict");
        assert.equal(skip.body.error.details.refusal, "one_step_at_a_time");
        const shadow = await h.move("login", "shadow");
        assert.equal(shadow.status, 200, JSON.stringify(shadow.body));
        assert.equal(shadow.body.data.stage.stage, "shadow");
        assert.equal(shadow.body.data.stage.source, "database");
        const dual = await h.move("login", "dual_write");
        assert.equal(dual.status, 200);
        assert.deepEqual(moved, ["login", "login"]);
        assert.equal(
          (await h.move("login", "dual_write")).body.error.details.refusal,
          "already_in_stage",
        );
      });

      await t.step(
        "→ better_auth_primary refused on disagreement and open divergences",
        async () => {
          // Too few comparisons: 4 < 10.
          await metrics(sql, "login", [
            { mismatch: false },
            { mismatch: true, disagreement: false }, // noise only
            { mismatch: true, disagreement: true },
            { mismatch: false },
          ]);
          const few = await h.move("login", "better_auth_primary");
          assert.equal(few.status, 409);
          assert.equal(few.body.error.details.refusal, "gate_refused");
          const shadowFigures = check(few.body, "shadow_disagreement");
          assert.equal(shadowFigures.ok, false);
          assert.equal(shadowFigures.figures.compared, 4);
          assert.equal(shadowFigures.figures.noise_only, 1);
          assert.equal(shadowFigures.figures.disagreements, 1);
          // 10 comparisons, 1 disagreement: 10 % > 5 %.
          await metrics(sql, "login", Array.from({ length: 6 }, () => ({ mismatch: false })));
          const noisy = await h.move("login", "better_auth_primary");
          const rate = check(noisy.body, "shadow_disagreement");
          assert.equal(rate.figures.compared, 10);
          assert.equal(rate.figures.disagreement_rate, 0.1);
          assert.match(noisy.body.error.message, /disagreement rate 0\.1 is above 0\.05/);
          // 20 comparisons, 1 disagreement: 5 % passes; an open divergence refuses.
          await metrics(sql, "login", Array.from({ length: 10 }, () => ({ mismatch: false })));
          await sql.query(
            `INSERT INTO auth_divergences (user_id, email, kind, missing_side, operation, reason)
           VALUES (gen_random_uuid(), 'x@example.com', 'missing_user', 'better_auth', 'signup', 'test')`,
          );
          const divergent = await h.move("login", "better_auth_primary");
          assert.equal(divergent.status, 409);
          assert.equal(check(divergent.body, "shadow_disagreement").ok, true);
          const open = check(divergent.body, "open_divergences");
          assert.equal(open.ok, false);
          assert.deepEqual(open.figures, { open: 1, failed: 0, max_open_divergences: 0 });
          await sql.query(`UPDATE auth_divergences SET status = 'resolved', resolved_at = now()`);
          const moved = await h.move("login", "better_auth_primary");
          assert.equal(moved.status, 200, JSON.stringify(moved.body));
          assert.equal(moved.body.data.gate.ok, true);
        },
      );

      await t.step(
        "backwards to any earlier stage without a gate, then forward again",
        async () => {
          await sql.query(
            `INSERT INTO auth_divergences (user_id, email, kind, missing_side, operation, reason)
           VALUES (gen_random_uuid(), 'y@example.com', 'missing_user', 'better_auth', 'signup', 'test')`,
          );
          const back = await h.move("login", "supabase_only", "disagreements seen in production");
          assert.equal(back.status, 200, JSON.stringify(back.body));
          assert.equal(back.body.data.stage.stage, "supabase_only");
          assert.equal(back.body.data.gate, null);
          await sql.query(`UPDATE auth_divergences SET status = 'resolved', resolved_at = now()`);
          for (const to of ["shadow", "dual_write"]) {
            const step = await h.move("login", to);
            assert.equal(step.status, 200, `${to}: ${JSON.stringify(step.body)}`);
          }
          // The rate counts since the stage was (re-)entered: the earlier comparisons are gone.
          const fresh = await h.move("login", "better_auth_primary");
          assert.equal(check(fresh.body, "shadow_disagreement").figures.compared, 0);
          await metrics(sql, "login", Array.from({ length: 10 }, () => ({ mismatch: false })));
          const again = await h.move("login", "better_auth_primary");
          assert.equal(again.status, 200, JSON.stringify(again.body));
        },
      );

      await t.step(
        "→ better_auth_only refused: missing user, outbox, blocking dependency",
        async () => {
          const id = crypto.randomUUID();
          await sql.query(
            `INSERT INTO auth.users (id, email, encrypted_password, created_at, updated_at)
           VALUES ($1, 'stage-user@example.com', '', now(), now())`,
            [id],
          );
          const missing = await h.move("login", "better_auth_only");
          assert.equal(missing.status, 409);
          const presence = check(missing.body, "users_in_better_auth");
          assert.equal(presence.ok, false);
          assert.equal(presence.figures.missing, 1);
          assert.deepEqual(presence.figures.missing_ids, [id]);

          // Copied into Better Auth: the copy's capture is pending toward Supabase until applied.
          await sql.query(
            `INSERT INTO "user" (id, name, email, "emailVerified") VALUES ($1, '', 'stage-user@example.com', true)`,
            [id],
          );
          await sql.query(
            `INSERT INTO identity_change_outbox (direction, user_id, entity, op) VALUES ('to_better_auth', $1, 'user', 'update')`,
            [id],
          );
          const pending = await h.move("login", "better_auth_only");
          assert.equal(check(pending.body, "users_in_better_auth").ok, true);
          const sync = check(pending.body, "sync_drained");
          assert.equal(sync.ok, false);
          assert.ok(sync.figures.pending_to_better_auth >= 1);
          await sql.query(
            `UPDATE identity_change_outbox SET applied_at = now() WHERE applied_at IS NULL`,
          );

          await sql.exec(APP_SCHEMA);
          const blocked = await h.move("login", "better_auth_only");
          assert.equal(blocked.status, 409);
          assert.equal(check(blocked.body, "sync_drained").ok, true);
          assert.equal(check(blocked.body, "batch_verify").ok, true);
          const deps = check(blocked.body, "auth_dependencies");
          assert.equal(deps.ok, false);
          assert.equal(deps.figures.blocking, 5);
          assert.ok(
            deps.figures.names.some((n: string) => n.includes("public.profiles.profiles_id_fkey")),
            JSON.stringify(deps.figures.names),
          );
          assert.match(blocked.body.error.message, /profiles_id_fkey/);

          // The operator fixes the app schema as the report says; the gate opens.
          await sql.exec(`
          DROP TRIGGER on_auth_user_created ON auth.users;
          DROP FUNCTION public.handle_new_user();
          DROP VIEW public.user_directory, public.my_memos;
          DROP FUNCTION public.current_email();
          ALTER TABLE public.profiles DROP CONSTRAINT profiles_id_fkey;
          DROP POLICY memos_admin ON public.memos;
          DROP TRIGGER memos_stamp ON public.memos;
          DROP FUNCTION public.stamp_role();
          DROP POLICY memos_update ON public.memos;
          DROP FUNCTION public.is_owner(uuid);
          DROP POLICY memos_owner ON public.memos;
          ALTER TABLE public.memos ALTER COLUMN owner_id DROP DEFAULT;
        `);
          const gate = await h.call("GET", "/login/gate");
          assert.equal(gate.status, 200);
          assert.equal(gate.body.data.gate.to, "better_auth_only");
          const open = await h.move("login", "better_auth_only");
          assert.equal(open.status, 200, JSON.stringify(open.body));
        },
      );

      await t.step("→ complete waits for a quiet period without fallbacks", async () => {
        const early = await h.move("login", "complete");
        assert.equal(early.status, 409);
        const quiet = check(early.body, "quiet_period");
        assert.equal(quiet.ok, false);
        assert.equal(quiet.figures.quiet_period_ms, 600_000);
        assert.ok(quiet.figures.in_stage_ms < 600_000);
        // A fallback five minutes into the stage.
        const at = new Date(Date.now() + 5 * 60_000).toISOString();
        await metrics(sql, "login", [{ mismatch: false, fallback: true, at }]);
        h.offsetMs = 11 * 60_000;
        const noisy = await h.move("login", "complete");
        const fallback = check(noisy.body, "quiet_period");
        assert.equal(fallback.ok, false);
        assert.equal(fallback.figures.fallbacks, 1);
        h.offsetMs = 16 * 60_000;
        const done = await h.move("login", "complete");
        assert.equal(done.status, 200, JSON.stringify(done.body));
        assert.equal(done.body.data.stage.next, null);
        assert.deepEqual(done.body.data.stage.back_to, []);
      });

      await t.step("complete is final", async () => {
        const back = await h.move("login", "better_auth_only");
        assert.equal(back.status, 409);
        assert.equal(back.body.error.details.refusal, "stage_final");
        await assert.rejects(
          sql.query(
            `UPDATE migration_stages SET stage = 'dual_write' WHERE function_name = 'login'`,
          ),
          /final/,
        );
        await assert.rejects(
          sql.query(`DELETE FROM migration_stages WHERE function_name = 'login'`),
          /final/,
        );
      });

      await t.step("the audit has a row per move and per refusal, with the figures", async () => {
        const audit = await h.call("GET", "/audit?function=login&limit=100");
        assert.equal(audit.status, 200);
        const rows = audit.body.data as any[];
        const movedRows = rows.filter((r) => r.outcome === "moved");
        assert.deepEqual(movedRows.map((r) => `${r.from}→${r.to}`).reverse(), [
          "supabase_only→shadow",
          "shadow→dual_write",
          "dual_write→better_auth_primary",
          "better_auth_primary→supabase_only",
          "supabase_only→shadow",
          "shadow→dual_write",
          "dual_write→better_auth_primary",
          "better_auth_primary→better_auth_only",
          "better_auth_only→complete",
        ]);
        assert.ok(movedRows.every((r) => r.actor === "admin" && r.reason && r.at));
        const back = movedRows.find((r) => r.to === "supabase_only")!;
        assert.equal(back.reason, "disagreements seen in production");
        assert.deepEqual(back.gate, { backwards: true });
        const refusedDeps = rows.find((r) =>
          r.outcome === "refused" &&
          r.gate.checks.some((c: any) => c.check === "auth_dependencies" && !c.ok)
        );
        assert.ok(refusedDeps, "the dependency refusal is audited");
        const complete = movedRows.find((r) => r.to === "complete")!;
        assert.equal(
          complete.gate.checks.find((c: any) => c.check === "quiet_period").ok,
          true,
        );
        assert.equal(rows.filter((r) => r.outcome === "refused").length >= 7, true);
      });
    } finally {
      await sql.close();
    }
  });

  Deno.test(`the stage reaches routing through the runtime flags cache on ${provider.name}`, async () => {
    const sql = await provider.open();
    try {
      const env = loadConfig({ MIGRATION_MODE: "supabase_only", FLAGS_CACHE_TTL_MS: "0" }).env;
      const cache = new FlagsCache(new RuntimeFlagsStore(sql), { ttlMs: 0 });
      const routing = new FlagsRoutingSource(env, cache);
      const route = async (fn: string) => {
        const { config } = await routing.configFor(fn);
        return { stage: config.stage?.stage, ...decideRoute(config, { key: "u@example.com" }) };
      };
      // No row: the env seed; rollout 0 keeps everyone on the original.
      assert.deepEqual(await route("signup"), {
        stage: "supabase_only",
        path: "original",
        reason: "rollout",
        canary: false,
        bucket: (await route("signup")).bucket,
      });
      await sql.query(
        `INSERT INTO migration_stages (function_name, stage) VALUES ('signup', 'dual_write'), ('login', 'dual_write')`,
      );
      // dual_write pins every signup (a write) to the path that writes both; logins still follow
      // the rollout (0 %).
      assert.equal((await route("signup")).path, "abstracted");
      assert.equal((await route("signup")).reason, "stage");
      assert.equal((await route("login")).path, "original");
      await sql.query(`UPDATE migration_stages SET stage = 'better_auth_only'`);
      assert.equal((await route("login")).path, "abstracted");
      await sql.query(`UPDATE migration_stages SET stage = 'shadow'`);
      const shadowed = await route("login");
      assert.equal(shadowed.path, "original");
      assert.equal(shadowed.shadow, false, "rollout 0 %: nobody shadowed");
      await sql.query(
        `INSERT INTO runtime_flags (function_name, rollout_percentage) VALUES ('login', 100)`,
      );
      const routed = await route("login");
      assert.equal(routed.path, "original", "the shadow stage serves routed users the original");
      assert.equal(routed.shadow, true, "and shadows the new path for them");
      // A function without stages has none.
      assert.equal((await route("coordinator")).stage, undefined);
      // The kill switch still wins.
      await sql.query(`UPDATE migration_stages SET stage = 'better_auth_only'`);
      await sql.query(
        `INSERT INTO runtime_flags (function_name, force_original) VALUES ('*', true)`,
      );
      assert.equal((await route("signup")).path, "original");
    } finally {
      await sql.close();
    }
  });
}
