/**
 * The rollout controller driving a real EdgeFunctionMigrator through runtime_flags: real
 * requests, real routing, real metrics written by the migrator's writer.
 * - an injected failing abstracted implementation: every client request still succeeds (the
 *   original answers through fallback) and the rollout aborts to 0 % on its own;
 * - a slow abstracted implementation (p95 > 1,000 ms): clients wait but succeed, and it aborts;
 * - a healthy one: the share of abstracted traffic follows the plan up to 100 %.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/env.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { createMigrationRuntime, type MigrationRuntime } from "../../../shared/migrator/mod.ts";
import type { Handler } from "../../../shared/migrator/types.ts";
import { createLogger } from "../../../shared/observability/logger.ts";
import { OpsContext } from "../../../shared/ops/context.ts";
import { RolloutController } from "../../../shared/ops/controller.ts";
import { sqlProviders } from "../../helpers/db.ts";
import { flagPercentage, logEntries } from "./helpers.ts";

const OPERATOR = { by: "oncall@example.com" };
const silent = createLogger({ level: "silent" });

const original: Handler = async (req) => {
  const body = await req.json() as { email: string };
  return Response.json({ impl: "original", email: body.email });
};

function runtimeFor(db: SqlClient): MigrationRuntime {
  const env = loadConfig({ FLAGS_CACHE_TTL_MS: "0", MIGRATION_FALLBACK_TIMEOUT: "5000" }).env;
  return createMigrationRuntime({
    sql: db,
    env,
    logger: { warn() {}, error() {} },
    metrics: { flushIntervalMs: 20 },
  });
}

/** Sends `count` logins for distinct users concurrently; returns [status, path, impl] per reply. */
async function traffic(
  fetchFn: (req: Request) => Promise<Response>,
  prefix: string,
  count: number,
): Promise<Array<{ status: number; path: string | null; impl: string }>> {
  return await Promise.all(Array.from({ length: count }, async (_, i) => {
    const res = await fetchFn(
      new Request("http://localhost/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: `${prefix}-${i}@example.com` }),
      }),
    );
    const body = await res.json() as { impl: string };
    return { status: res.status, path: res.headers.get("x-migration-path"), impl: body.impl };
  }));
}

for (const provider of sqlProviders()) {
  Deno.test(`rollouts through a real EdgeFunctionMigrator on ${provider.name}`, async (t) => {
    const db = await provider.open();
    const runtime = runtimeFor(db);
    const controller = new RolloutController({
      context: new OpsContext({ sql: db, logger: silent }),
    });
    const migrator = (fn: string, abstracted: Handler) =>
      runtime.migrator({
        policy: {
          functionName: fn,
          classify: () => ({ name: "login", safety: "idempotent", shadow: "off" }),
        },
        original,
        abstracted,
      });
    const quick = {
      holdSeconds: 0,
      analysis: { minSamples: 10, failureLimit: 2, minIntervalSeconds: 0 },
    };
    try {
      await t.step(
        "a failing abstracted path: every request succeeds, the rollout aborts to 0 %",
        async () => {
          const app = migrator("login", () => Promise.reject(new Error("better auth is down")));
          assert.ok((await controller.start("login", { ...quick, steps: [50, 100] }, OPERATOR)).ok);

          const first = await traffic(app.fetch, "a", 80);
          assert.ok(first.every((r) => r.status === 200 && r.impl === "original"));
          await runtime.flush();
          const check = await controller.evaluateRollouts(new Date());
          assert.equal(check.results[0]!.action, "failed_check");

          const second = await traffic(app.fetch, "b", 80);
          assert.ok(second.every((r) => r.status === 200 && r.impl === "original"));
          await runtime.flush();
          const abort = await controller.evaluateRollouts(new Date());
          assert.equal(abort.results[0]!.action, "aborted");
          assert.equal(await flagPercentage(db, "login"), 0);

          const { rows } = await db.query<{ fallbacks: number; total: number }>(
            `SELECT count(*) FILTER (WHERE fallback) AS fallbacks, count(*) AS total
             FROM performance_metrics WHERE function_name = 'login'`,
          );
          assert.equal(rows[0]!.total, 160);
          assert.ok(rows[0]!.fallbacks > 50, `about half fell back (${rows[0]!.fallbacks})`);

          // After the abort nobody is routed to the abstracted path any more (flags TTL is 0 here).
          const after = await traffic(app.fetch, "a", 80);
          assert.ok(after.every((r) => r.status === 200 && r.path === "original"));
          await runtime.flush();
          const late = await db.query<{ n: number }>(
            `SELECT count(*) AS n FROM performance_metrics
            WHERE function_name = 'login' AND request_id IS NOT NULL AND fallback
              AND recorded_at > (SELECT max(started_at) FROM migration_log
                                  WHERE component = 'rollout:login' AND phase = 'abort')`,
          );
          assert.equal(late.rows[0]!.n, 0, "no fallbacks after the abort");
          const abortEntry = (await logEntries(db, "rollout:login")).find((e) =>
            e.phase === "abort"
          )!;
          assert.match(abortEntry.error_message!, /abstracted error rate 100.0 %/);
        },
      );

      await t.step(
        "a slow abstracted path (p95 > 1,000 ms): clients succeed, rollout aborts",
        async () => {
          const slow: Handler = async (req) => {
            await new Promise((resolve) => setTimeout(resolve, 1100));
            const body = await req.json() as { email: string };
            return Response.json({ impl: "abstracted", email: body.email });
          };
          const app = migrator("coordinator", slow);
          assert.ok(
            (await controller.start("coordinator", {
              ...quick,
              steps: [50, 100],
              analysis: { ...quick.analysis, failureLimit: 1 },
            }, OPERATOR)).ok,
          );
          const replies = await traffic(app.fetch, "slow", 40);
          assert.ok(replies.every((r) => r.status === 200));
          assert.ok(replies.some((r) => r.impl === "abstracted"));
          await runtime.flush();
          const report = await controller.evaluateRollouts(new Date());
          const result = report.results.find((r) => r.functionName === "coordinator")!;
          assert.equal(result.action, "aborted");
          assert.match(result.reasons.join(), /abstracted p95 \d+(\.\d+)? ms > 1000 ms/);
          assert.equal(await flagPercentage(db, "coordinator"), 0);
        },
      );

      await t.step(
        "a healthy abstracted path: the abstracted share follows the plan to 100 %",
        async () => {
          const healthy: Handler = async (req) => {
            const body = await req.json() as { email: string };
            return Response.json({ impl: "abstracted", email: body.email });
          };
          const app = migrator("signup", healthy);
          assert.ok(
            (await controller.start("signup", { ...quick, steps: [10, 50, 100] }, OPERATOR)).ok,
          );
          const shares: number[] = [];
          for (let i = 0; i < 4; i++) {
            const replies = await traffic(app.fetch, "h", 200);
            assert.ok(replies.every((r) => r.status === 200 && r.impl === r.path));
            shares.push(replies.filter((r) => r.path === "abstracted").length / 200);
            await runtime.flush();
            await controller.evaluateRollouts(new Date());
          }
          assert.ok(shares[0]! > 0.02 && shares[0]! < 0.25, `~10 %: ${shares[0]}`);
          assert.ok(shares[1]! > 0.35 && shares[1]! < 0.65, `~50 %: ${shares[1]}`);
          assert.equal(shares[2], 1);
          // The same users stay on the abstracted path as the percentage grows (sticky routing).
          const state = await controller.get("signup");
          assert.ok(state.ok);
          assert.equal(state.value.rollout!.status, "completed");
          assert.equal(state.value.effectivePercentage, 100);
        },
      );
    } finally {
      await runtime.close();
      await db.close();
    }
  });
}
