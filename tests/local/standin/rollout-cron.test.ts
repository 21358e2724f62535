/**
 * What drives the scheduled evaluation: the same HTTP call pg_cron makes (here by the dev
 * server's LocalCron against a real server), and the in-process variant.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { loadConfig } from "../../../shared/config/env.ts";
import { createLogger } from "../../../shared/observability/logger.ts";
import { createOpsApp } from "../../../shared/ops/app.ts";
import {
  EVALUATE_PATH,
  evaluationRequestTask,
  inProcessEvaluationTask,
} from "../../../local/standin/rollout-cron.ts";
import { createOpsServices } from "../../../shared/ops/services.ts";
import { LocalCron } from "../../../local/standin/cron.ts";
import { freshPglite } from "../../helpers/db.ts";
import { simulateTraffic } from "../../shared/ops/helpers.ts";

const KEY = "sb_secret_cron_test_key_0123456789";

Deno.test("the evaluate route driven like pg_cron, and in-process", async (t) => {
  const db = await freshPglite();
  const ops = createOpsServices({
    sql: db,
    routingEnv: loadConfig({}).env,
    serviceRoleKeys: [KEY],
    logger: createLogger({ level: "silent" }),
  });
  const app = new Hono();
  app.route("/functions/v1/migrate-batch", createOpsApp(ops));
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    assert.equal(EVALUATE_PATH, "/functions/v1/migrate-batch/admin/rollouts/evaluate");
    await t.step("no rollouts", async () => {
      const tick = await evaluationRequestTask(base, KEY)(new AbortController().signal);
      assert.deepEqual(tick, { status: 200, summary: "no active rollouts" });
    });

    await t.step("a LocalCron tick advances a healthy rollout", async () => {
      assert.ok(
        (await ops.controller.start("login", {
          steps: [10, 100],
          holdSeconds: 0,
          analysis: { minSamples: 5 },
        }, { by: "test" })).ok,
      );
      await new Promise((resolve) => setTimeout(resolve, 120));
      await simulateTraffic(db, "login", { path: "abstracted", count: 10, at: new Date() });
      const lines: string[] = [];
      const cron = new LocalCron({
        name: "local cron → rollouts",
        intervalMs: 20,
        task: evaluationRequestTask(base, KEY),
        log: (line) => lines.push(line),
      });
      cron.start();
      while (cron.stats().ticks < 1 || cron.stats().running) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await cron.stop();
      assert.equal(lines[0], "local cron → rollouts: 200 login: advanced @100%");
    });

    await t.step("a wrong key is reported, not thrown", async () => {
      const tick = await evaluationRequestTask(base, "wrong")(new AbortController().signal);
      assert.equal(tick.status, 401);
      assert.match(tick.summary, /^unauthorized: /);
    });

    await t.step("in-process task", async () => {
      const tick = await inProcessEvaluationTask(ops.controller)(new AbortController().signal);
      assert.equal(tick.status, 200);
      assert.match(tick.summary, /login: (held|completed|skipped)/);
    });
  } finally {
    await server.shutdown();
    await ops.drain();
    await db.close();
  }
});
