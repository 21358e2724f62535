/**
 * The batch levers over HTTP on both databases, through the migrate-batch function as the cron
 * calls it: paused, outside its time window, or under an emergency rollback, a run writes no
 * Better Auth user; a throttle of 1 user/s ends a 2-second call after its first batch of 5; with
 * the levers released the migration runs to the end. The levers are changed through the admin
 * API and stored (and audited) in the database.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/env.ts";
import { createAppContainer } from "../../../shared/di/app-container.ts";
import { buildFunctionApp } from "../../../shared/functions/registry.ts";
import { registerObservability } from "../../../shared/observability/register.ts";
import { BatchEngineToken } from "../../../shared/batch/tokens.ts";
import { insideWindow } from "../../../shared/ops/batch-levers.ts";
import { sqlProviders } from "../../helpers/db.ts";
import { AUTH_SCHEMA_SQL, seedAuthUsers } from "../batch/helpers.ts";

const SERVICE_KEY = "service-key-for-batch-lever-tests-0123456789";

Deno.test("the time window wraps midnight", () => {
  const at = (hhmm: string) => new Date(`2026-12-06T${hhmm}:00Z`);
  const night = { start: "22:00", end: "06:00" };
  assert.ok(insideWindow(night, at("23:30")) && insideWindow(night, at("05:59")));
  assert.ok(!insideWindow(night, at("06:00")) && !insideWindow(night, at("12:00")));
  assert.ok(insideWindow({ start: "09:00", end: "17:00" }, at("09:00")));
  assert.ok(insideWindow(null, at("12:00")));
});

for (const provider of sqlProviders()) {
  Deno.test(`batch levers over HTTP on ${provider.name}`, async (t) => {
    const db = await provider.open();
    await db.exec(AUTH_SCHEMA_SQL);
    await seedAuthUsers(db, 20);
    const container = createAppContainer(
      loadConfig({
        SUPABASE_URL: "http://127.0.0.1:1",
        SUPABASE_ANON_KEY: "anon-key-for-batch-lever-tests",
        SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
        BETTER_AUTH_SECRET: "batch-lever-test-better-auth-secret-0123456789",
        MIGRATION_MODE: "supabase_only",
        MIGRATION_ROLLOUT_PERCENTAGE: "100",
        MIGRATION_BATCH_SIZE: "5",
        FLAGS_CACHE_TTL_MS: "0",
        LOG_LEVEL: "silent",
      }),
      { sql: db },
    );
    registerObservability(container);
    const app = await buildFunctionApp("migrate-batch", container);
    const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
    const base = `http://127.0.0.1:${server.addr.port}/migrate-batch`;
    // deno-lint-ignore no-explicit-any
    const call = async (method: string, path: string, body?: unknown): Promise<any> => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${SERVICE_KEY}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = await response.json();
      assert.equal(response.status, 200, JSON.stringify(json));
      return json;
    };
    const betterAuthUsers = async () =>
      Number((await db.query<{ n: number }>(`SELECT count(*) AS n FROM "user"`)).rows[0]!.n);
    const run = (body: Record<string, unknown> = {}) =>
      call("POST", "", { migration_id: "lever-test", ...body });
    try {
      await t.step("paused: no batch runs", async () => {
        const paused = await call("POST", "/admin/batch/pause", { reason: "vendor maintenance" });
        assert.equal(paused.data.paused, true);
        assert.equal(paused.data.hold, "paused");
        const result = await run();
        assert.equal(result.stopped_because, "paused");
        assert.equal(result.held_by, "paused");
        assert.equal(await betterAuthUsers(), 0);
        await call("POST", "/admin/batch/resume", {});
      });

      await t.step("outside the allowed window: no batch runs", async () => {
        const hour = new Date().getUTCHours();
        const start = `${String((hour + 2) % 24).padStart(2, "0")}:00`;
        const end = `${String((hour + 3) % 24).padStart(2, "0")}:00`;
        const set = await call("PUT", "/admin/batch", { window: { start, end } });
        assert.equal(set.data.hold, "outside_window");
        assert.equal((await run()).held_by, "outside_window");
        assert.equal(await betterAuthUsers(), 0);
        await call("PUT", "/admin/batch", { window: null });
      });

      await t.step("an emergency rollback stops Better Auth writes by the batch", async () => {
        await call("POST", "/admin/emergency-rollback", { confirm: "ROLLBACK", reason: "drill" });
        assert.equal((await call("GET", "/admin/batch")).data.hold, "emergency_rollback");
        assert.equal((await run()).held_by, "emergency_rollback");
        assert.equal(await betterAuthUsers(), 0);
        await call("POST", "/admin/emergency-rollback/undo", { confirm: "RESTORE" });
      });

      await t.step("throttle: 1 user/s ends a 2 s call after one batch of 5", async () => {
        await call("PUT", "/admin/batch", { maxUsersPerSecond: 1, reason: "slow down" });
        const result = await run({ budget_ms: 2000 });
        assert.equal(result.stopped_because, "budget");
        assert.equal(result.batches, 1);
        assert.equal(result.processed, 5);
        assert.equal(await betterAuthUsers(), 5);
      });

      await t.step("released: the migration runs to the end; every change audited", async () => {
        const released = await call("PUT", "/admin/batch", { maxUsersPerSecond: null });
        assert.equal(released.data.hold, null);
        assert.equal(released.data.maxUsersPerSecond, null);
        const result = await run();
        assert.equal(result.done, true, JSON.stringify(result));
        assert.equal(await betterAuthUsers(), 20);
        const { rows } = await db.query<{ phase: string }>(
          `SELECT phase FROM migration_log WHERE component = 'ops:batch' ORDER BY started_at`,
        );
        assert.deepEqual(rows.map((row) => row.phase), [
          "pause",
          "resume",
          "levers",
          "levers",
          "levers",
          "levers",
        ]);
      });
      await t.step("the engine itself checks before every batch (CLI and cron alike)", async () => {
        await call("POST", "/admin/batch/pause", { reason: "mid-run" });
        const engine = await container.get(BatchEngineToken);
        const held = await engine.run({ migration_id: "lever-test-engine" });
        assert.equal(held.stopped_because, "paused");
        assert.equal(held.held_by, "paused");
        assert.equal(held.batches, 0);
      });
    } finally {
      await server.shutdown();
      await container.dispose();
      await db.close();
    }
  });
}
