/**
 * The rollout controller against a real database, with simulated metric traffic: a healthy run
 * advances through every step to 100 %, inconclusive windows hold, a failing or slow abstracted
 * path aborts to 0 % (migration_log entry with figures, webhook alert received by a real local
 * HTTP server), retries, pauses, manual overrides, planned rollbacks and concurrent evaluations.
 */
import assert from "node:assert/strict";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { BackgroundTasks } from "../../../shared/migrator/background.ts";
import { webhookAlertSink } from "../../../shared/ops/alert-sinks.ts";
import { AlertDispatcher } from "../../../shared/ops/alerts.ts";
import { OpsContext } from "../../../shared/ops/context.ts";
import {
  type EvaluationReport,
  type EvaluationResult,
  RolloutController,
} from "../../../shared/ops/controller.ts";
import { createLogger } from "../../../shared/observability/logger.ts";
import { freshPostgres, sqlProviders, TEST_DATABASE_URL } from "../../helpers/db.ts";
import {
  flagPercentage,
  logEntries,
  manualClock,
  simulateTraffic,
  startWebhookReceiver,
  type WebhookReceiver,
} from "./helpers.ts";

const OPERATOR = { by: "oncall@example.com" };
const HOLD_S = 300;
const silent = createLogger({ level: "silent" });

function setup(db: SqlClient, webhook: WebhookReceiver, start: Date) {
  const clock = manualClock(start);
  const background = new BackgroundTasks();
  const alerts = new AlertDispatcher({
    sql: db,
    sinks: [webhookAlertSink(webhook.url)],
    background,
    logger: silent,
  });
  const context = new OpsContext({ sql: db, alerts, logger: silent, now: clock.now });
  const controller = new RolloutController({ context });
  return { clock, background, alerts, controller };
}

function resultFor(report: EvaluationReport, fn: string): EvaluationResult {
  const result = report.results.find((r) => r.functionName === fn);
  assert.ok(result, `no evaluation result for ${fn}: ${JSON.stringify(report.results)}`);
  return result;
}

/** Healthy traffic for the step just entered, then an evaluation once the hold has passed. */
async function healthyStep(db: SqlClient, fn: string, at: Date) {
  await simulateTraffic(db, fn, { path: "abstracted", count: 30, at });
  await simulateTraffic(db, fn, { path: "original", count: 30, at });
}

for (const provider of sqlProviders()) {
  Deno.test(`RolloutController on ${provider.name}`, async (t) => {
    const db = await provider.open();
    const webhook = startWebhookReceiver();
    const t0 = new Date(Date.now() - 7 * 24 * 3600_000);
    const { clock, background, controller } = setup(db, webhook, t0);
    // Every scenario gets its own stretch of simulated time (B = base seconds after t0), so the
    // traffic of one never falls into another's analysis window.
    let B = 0;
    const at = (seconds: number) => new Date(t0.getTime() + (B + seconds) * 1000);
    const scenario = () => {
      B += 100_000;
      clock.set(at(0));
    };
    try {
      await t.step("a healthy run advances through every step to 100 % and completes", async () => {
        scenario();
        const started = await controller.start("signup", { holdSeconds: HOLD_S }, OPERATOR);
        assert.ok(started.ok, !started.ok ? started.error.message : "");
        assert.equal(started.value.status, "running");
        assert.deepEqual(started.value.steps, [1, 5, 10, 25, 50, 75, 100]);
        assert.equal(await flagPercentage(db, "signup"), 1);

        const seen: number[] = [1];
        let now = 0;
        for (let step = 1; step < 7; step++) {
          await healthyStep(db, "signup", at(now + 100));
          // Healthy, but the hold time has not passed yet.
          const mid = await controller.evaluateRollouts(at(now + 150));
          assert.equal(resultFor(mid, "signup").action, "held");
          const report = await controller.evaluateRollouts(at(now + HOLD_S + 1));
          assert.equal(resultFor(report, "signup").action, "advanced");
          now += HOLD_S + 1;
          seen.push((await flagPercentage(db, "signup"))!);
        }
        assert.deepEqual(seen, [1, 5, 10, 25, 50, 75, 100]);
        await healthyStep(db, "signup", at(now + 100));
        const last = await controller.evaluateRollouts(at(now + HOLD_S + 1));
        assert.equal(resultFor(last, "signup").action, "completed");
        const state = await controller.get("signup");
        assert.ok(state.ok);
        assert.equal(state.value.rollout!.status, "completed");
        assert.equal(state.value.effectivePercentage, 100);
        const steps = (await logEntries(db, "rollout:signup")).filter((e) => e.phase === "step");
        assert.equal(steps.length, 6);
        assert.equal(steps[0]!.metadata.from, 1);
        assert.equal(steps[0]!.metadata.to, 5);
      });

      await t.step("inconclusive windows (too few requests) never advance", async () => {
        scenario();
        assert.ok((await controller.start("login", { holdSeconds: 60 }, OPERATOR)).ok);
        for (let i = 1; i <= 5; i++) {
          await simulateTraffic(db, "login", {
            path: "abstracted",
            count: 3,
            at: at(i * 100 - 10),
          });
          const result = resultFor(await controller.evaluateRollouts(at(i * 100)), "login");
          assert.equal(result.action, "held");
          assert.equal(result.verdict, "inconclusive");
        }
        assert.equal(await flagPercentage(db, "login"), 1);
        const state = await controller.get("login");
        assert.ok(state.ok);
        assert.equal(state.value.rollout!.consecutiveFailures, 0);
        assert.equal(state.value.rollout!.lastHealth!.verdict, "inconclusive");
        assert.ok((await controller.pause("login", {}, OPERATOR)).ok);
      });

      await t.step("a failing abstracted path aborts to 0 % after N failed checks", async () => {
        scenario();
        // A canary cohort on the new path: the abort takes it off too.
        const canary = await controller.setCanary("coordinator", {
          enabled: true,
          percentage: 5,
        }, OPERATOR);
        assert.ok(canary.ok, JSON.stringify(canary));
        const started = await controller.start("coordinator", {
          steps: [10, 50, 100],
          holdSeconds: 60,
          analysis: { failureLimit: 3, windowSeconds: 120 },
        }, OPERATOR);
        assert.ok(started.ok);
        await background.drain();
        const before = webhook.bodies.length;
        const actions: string[] = [];
        for (let i = 1; i <= 3; i++) {
          const when = at(i * 60 - 5);
          await simulateTraffic(db, "coordinator", { path: "abstracted", count: 20, at: when });
          await simulateTraffic(db, "coordinator", {
            path: "abstracted",
            count: 10,
            at: when,
            status: 500,
          });
          actions.push(
            resultFor(await controller.evaluateRollouts(at(i * 60)), "coordinator").action,
          );
        }
        assert.deepEqual(actions, ["failed_check", "failed_check", "aborted"]);
        assert.equal(await flagPercentage(db, "coordinator"), 0);
        const { rows: canaryRows } = await db.query<{ canary_enabled: boolean }>(
          "SELECT canary_enabled FROM runtime_flags WHERE function_name = 'coordinator'",
        );
        assert.equal(canaryRows[0]!.canary_enabled, false, "the canary cohort is off the new path");
        const state = await controller.get("coordinator");
        assert.ok(state.ok);
        assert.equal(state.value.rollout!.status, "aborted");
        assert.match(state.value.rollout!.abortReason!, /error rate 33.3 % > 20.0 %/);

        const log = await logEntries(db, "rollout:coordinator");
        assert.deepEqual(log.filter((e) => e.phase === "health_check").map((e) => e.status), [
          "failed",
          "failed",
        ]);
        const abort = log.find((e) => e.phase === "abort")!;
        assert.equal(abort.status, "aborted");
        assert.match(abort.error_message!, /failed 3 time\(s\) in a row at 10 %/);
        const figures = abort.metadata.figures as {
          abstracted: { requests: number; errors: number };
        };
        assert.equal(figures.abstracted.requests, 60, "the 120 s window holds two checks' traffic");
        assert.equal(figures.abstracted.errors, 20);

        // The alert reached the webhook (a real local HTTP server), Slack-shaped.
        await webhook.waitFor(before + 1);
        const alert = webhook.bodies.at(-1)! as {
          text: string;
          attachments: Array<{ color: string; fields: Array<{ title: string; value: string }> }>;
        };
        assert.match(
          alert.text,
          /^\[CRITICAL\] Rollout of coordinator aborted at 10 % and set to 0 %/,
        );
        assert.equal(alert.attachments[0]!.color, "danger");
        const fields = Object.fromEntries(
          alert.attachments[0]!.fields.map((f) => [f.title, f.value]),
        );
        assert.equal(fields["Function"], "coordinator");
        assert.equal(fields["Error rate"], "33.3 %");
        const { rows } = await db.query<{ delivered_to: string[]; done_at: Date | null }>(
          "SELECT delivered_to, done_at FROM ops_alerts WHERE kind = 'rollout_aborted'",
        );
        assert.deepEqual(rows[0]!.delivered_to, ["webhook"]);
        assert.ok(rows[0]!.done_at);
      });

      await t.step(
        "an operator retries the aborted rollout; old failures do not count",
        async () => {
          clock.set(at(400));
          const retried = await controller.retry(
            "coordinator",
            { reason: "fix deployed" },
            OPERATOR,
          );
          assert.ok(retried.ok);
          assert.equal(retried.value.status, "running");
          assert.equal(retried.value.attempt, 2);
          assert.equal(await flagPercentage(db, "coordinator"), 10);
          // The failing traffic from before the retry is outside the window (it starts at the step).
          await simulateTraffic(db, "coordinator", { path: "abstracted", count: 25, at: at(450) });
          const result = resultFor(await controller.evaluateRollouts(at(470)), "coordinator");
          assert.equal(result.action, "advanced");
          assert.equal(await flagPercentage(db, "coordinator"), 50);
          const again = await controller.retry("coordinator", {}, OPERATOR);
          assert.ok(!again.ok);
          assert.equal(again.error.code, "conflict");
          assert.ok((await controller.pause("coordinator", {}, OPERATOR)).ok);
        },
      );

      await t.step("a slow abstracted path (p95 > 1,000 ms) aborts too", async () => {
        scenario();
        assert.ok(
          (await controller.start("slow-fn", { analysis: { failureLimit: 1 } }, OPERATOR)).ok,
        );
        await simulateTraffic(db, "slow-fn", { path: "abstracted", count: 18, at: at(50) });
        await simulateTraffic(db, "slow-fn", {
          path: "abstracted",
          count: 4,
          at: at(50),
          durationMs: 1800,
        });
        const result = resultFor(await controller.evaluateRollouts(at(60)), "slow-fn");
        assert.equal(result.action, "aborted");
        assert.match(result.reasons.join(), /p95 1800 ms > 1000 ms/);
        assert.equal(await flagPercentage(db, "slow-fn"), 0);
      });

      await t.step("a repeated tick neither counts a failure nor advances twice", async () => {
        scenario();
        const started = await controller.start("idem", {
          steps: [5, 100],
          holdSeconds: 0,
          analysis: { failureLimit: 2 },
        }, OPERATOR);
        assert.ok(started.ok);
        await simulateTraffic(db, "idem", {
          path: "abstracted",
          count: 30,
          at: at(50),
          status: 500,
        });
        const first = resultFor(await controller.evaluateRollouts(at(60)), "idem");
        const second = resultFor(await controller.evaluateRollouts(at(60)), "idem");
        const third = resultFor(await controller.evaluateRollouts(at(70)), "idem");
        assert.equal(first.action, "failed_check");
        assert.equal(second.action, "skipped");
        assert.equal(third.action, "skipped", "within minIntervalSeconds (30 s)");
        const state = await controller.get("idem");
        assert.ok(state.ok);
        assert.equal(state.value.rollout!.consecutiveFailures, 1);
        assert.equal(state.value.rollout!.status, "running");
        assert.ok((await controller.pause("idem", {}, OPERATOR)).ok);
      });

      await t.step("pause, manual percentage (pauses a running rollout), resume", async () => {
        scenario();
        assert.ok((await controller.start("manual", { steps: [5, 100] }, OPERATOR)).ok);
        const set = await controller.setPercentage(
          "manual",
          { percentage: 42.5, reason: "test" },
          OPERATOR,
        );
        assert.ok(set.ok);
        assert.equal(set.value.rollout!.status, "paused");
        assert.equal(await flagPercentage(db, "manual"), 42.5);
        const report = await controller.evaluateRollouts(at(10_000));
        assert.equal(report.results.find((r) => r.functionName === "manual"), undefined);
        const resumed = await controller.resume("manual", {}, OPERATOR);
        assert.ok(resumed.ok);
        assert.equal(resumed.value.status, "running");
        assert.equal(await flagPercentage(db, "manual"), 5, "the plan's step is restored");
        const paused = await controller.pause("manual", { reason: "investigating" }, OPERATOR);
        assert.ok(paused.ok);
        assert.equal(paused.value.pausedFrom, "running");
        const again = await controller.pause("manual", {}, OPERATOR);
        assert.ok(!again.ok);
        assert.equal(again.error.code, "conflict");
      });

      await t.step(
        "planned rollback steps 100 → 75 → 50 → 25 → 10 → 0 with health checks",
        async () => {
          scenario();
          const rolled = await controller.rollback("signup", { holdSeconds: 60 }, OPERATOR);
          assert.ok(rolled.ok, !rolled.ok ? rolled.error.message : "");
          assert.equal(rolled.value.status, "rolling_back");
          assert.deepEqual(rolled.value.rollbackSteps, [75, 50, 25, 10, 0]);
          assert.equal(await flagPercentage(db, "signup"), 75);
          // A failing ORIGINAL holds the rollback: pushing more users onto it would not help them.
          await simulateTraffic(db, "signup", {
            path: "original",
            count: 30,
            at: at(50),
            status: 500,
          });
          const held = resultFor(await controller.evaluateRollouts(at(61)), "signup");
          assert.equal(held.action, "held");
          assert.match(held.reasons[0]!, /original error rate 100.0 %/);
          // The original recovers (its error rate falls under the threshold): the rollback goes on.
          await simulateTraffic(db, "signup", { path: "original", count: 300, at: at(100) });
          const seen = [75];
          let now = 61;
          for (let i = 0; i < 4; i++) {
            now += 61;
            const result = resultFor(await controller.evaluateRollouts(at(now)), "signup");
            seen.push(result.percentage!);
          }
          assert.deepEqual(seen, [75, 50, 25, 10, 0]);
          assert.equal(await flagPercentage(db, "signup"), 0);
          const state = await controller.get("signup");
          assert.ok(state.ok);
          assert.equal(state.value.rollout!.status, "rolled_back");
          const entries = (await logEntries(db, "rollout:signup"))
            .filter((e) => e.phase === "planned_rollback");
          assert.deepEqual(entries.map((e) => e.status), [
            "started",
            "info",
            "info",
            "info",
            "completed",
          ]);
        },
      );

      await t.step("a critical abstracted path during a planned rollback jumps to 0", async () => {
        scenario();
        assert.ok((await controller.setPercentage("jump", { percentage: 60 }, OPERATOR)).ok);
        const rolled = await controller.rollback("jump", {}, OPERATOR);
        assert.ok(rolled.ok);
        assert.deepEqual(rolled.value.rollbackSteps, [50, 25, 10, 0]);
        await simulateTraffic(db, "jump", {
          path: "abstracted",
          count: 30,
          at: at(20),
          status: 502,
        });
        const result = resultFor(await controller.evaluateRollouts(at(30)), "jump");
        assert.equal(result.action, "rolled_back");
        assert.equal(await flagPercentage(db, "jump"), 0);
        const nothing = await controller.rollback("jump", {}, OPERATOR);
        assert.ok(!nothing.ok);
        assert.equal(nothing.error.code, "conflict", "already at 0 %");
      });

      await t.step(
        "bad input is a validation error naming the field; conflicts are 409s",
        async () => {
          scenario();
          const field = (r: { ok: boolean; error?: { details?: unknown } }) =>
            (r.error?.details as { field?: string } | undefined)?.field;
          const bad = await controller.start("x-fn", { steps: [10, 5] }, OPERATOR);
          assert.ok(!bad.ok);
          assert.equal(bad.error.code, "validation_failed");
          assert.equal(field(bad), "steps");
          const badThreshold = await controller.start("x-fn", {
            analysis: { thresholds: { criticalErrorRate: 2 } },
          }, OPERATOR);
          assert.equal(field(badThreshold), "analysis.thresholds.criticalErrorRate");
          assert.equal(field(await controller.start("Bad Name", {}, OPERATOR)), "functionName");
          assert.equal(field(await controller.start("x-fn", { step: [1] }, OPERATOR)), "body");
          assert.ok((await controller.start("x-fn", {}, OPERATOR)).ok);
          const twice = await controller.start("x-fn", {}, OPERATOR);
          assert.ok(!twice.ok);
          assert.equal(twice.error.code, "conflict");
          const pct = await controller.setPercentage("x-fn", { percentage: 100.5 }, OPERATOR);
          assert.equal(field(pct), "percentage");
          const missing = await controller.retry("nothing-here", {}, OPERATOR);
          assert.ok(!missing.ok);
          assert.equal(missing.error.code, "not_found");
          assert.ok((await controller.pause("x-fn", {}, OPERATOR)).ok);
        },
      );

      await t.step(
        "a webhook outage keeps the alert queued; a later evaluation delivers it",
        async () => {
          scenario();
          await background.drain();
          const before = webhook.bodies.length;
          webhook.failNext(1, 503);
          assert.ok(
            (await controller.start("outage", { analysis: { failureLimit: 1 } }, OPERATOR)).ok,
          );
          await background.drain(); // the "started" alert: its first delivery fails (503)
          await simulateTraffic(db, "outage", {
            path: "abstracted",
            count: 30,
            at: at(50),
            status: 500,
          });
          await controller.evaluateRollouts(at(60)); // the abort alert goes out; the retry is not due
          await webhook.waitFor(before + 1);
          const { rows } = await db.query<{ kind: string; attempts: number; done_at: Date | null }>(
            "SELECT kind, attempts, done_at FROM ops_alerts WHERE function_name = 'outage' ORDER BY id",
          );
          assert.deepEqual(rows.map((r) => [r.kind, r.attempts, r.done_at !== null]), [
            ["rollout_started", 1, false],
            ["rollout_aborted", 1, true],
          ]);
          // Once the retry is due it is delivered, exactly once.
          await db.query("UPDATE ops_alerts SET next_attempt_at = now() WHERE done_at IS NULL");
          await controller.evaluateRollouts(at(120));
          await webhook.waitFor(before + 2);
          const texts = webhook.bodies.slice(before).map((b) => String(b.text));
          assert.equal(
            texts.filter((text) => text.includes("Rollout of outage started")).length,
            1,
          );
        },
      );
    } finally {
      await background.drain();
      await webhook.close();
      await db.close();
    }
  });
}

Deno.test({
  name: "concurrent evaluations on PostgreSQL: row locks let exactly one act",
  ignore: !TEST_DATABASE_URL,
  async fn() {
    const db = await freshPostgres({ max: 8 });
    const webhook = startWebhookReceiver();
    const t0 = new Date(Date.now() - 3600_000);
    const { controller, background } = setup(db, webhook, t0);
    const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
    try {
      assert.ok(
        (await controller.start("race", { steps: [5, 10, 100], holdSeconds: 10 }, OPERATOR)).ok,
      );
      await simulateTraffic(db, "race", { path: "abstracted", count: 40, at: at(15) });
      const reports = await Promise.all(
        Array.from({ length: 6 }, () => controller.evaluateRollouts(at(20))),
      );
      const actions = reports.map((r) => resultFor(r, "race").action);
      assert.deepEqual(actions.filter((a) => a === "advanced"), ["advanced"]);
      assert.equal(await flagPercentage(db, "race"), 10, "advanced exactly one step");
      const steps = (await logEntries(db, "rollout:race")).filter((e) => e.phase === "step");
      assert.equal(steps.length, 1);
    } finally {
      await background.drain();
      await webhook.close();
      await db.close();
    }
  },
});
