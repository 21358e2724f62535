import assert from "node:assert/strict";
import { DEFAULT_ANALYSIS, mergeAnalysis } from "../../../shared/ops/analysis.ts";
import { evaluateHealth, judgeHealth, measureHealth } from "../../../shared/ops/health.ts";
import type { HealthFigures } from "../../../shared/ops/types.ts";
import { sqlProviders } from "../../helpers/db.ts";
import { simulateTraffic } from "./helpers.ts";

const figures = (over: {
  a?: Partial<HealthFigures["abstracted"]>;
  o?: Partial<HealthFigures["original"]>;
  c?: Partial<HealthFigures["comparisons"]>;
}): HealthFigures => {
  const a = { requests: 100, errors: 0, fallbacks: 0, p50Ms: 40, p95Ms: 90, ...over.a };
  const o = { requests: 100, errors: 0, p50Ms: 40, p95Ms: 90, ...over.o };
  const c = { compared: 0, mismatches: 0, ...over.c };
  return {
    abstracted: { ...a, errorRate: a.requests ? a.errors / a.requests : null },
    original: { ...o, errorRate: o.requests ? o.errors / o.requests : null },
    comparisons: { ...c, mismatchRate: c.compared ? c.mismatches / c.compared : null },
  };
};

Deno.test("judgeHealth applies the runbook thresholds", async (t) => {
  const judge = (f: HealthFigures) => judgeHealth(f, DEFAULT_ANALYSIS);

  await t.step("healthy within every threshold", () => {
    assert.equal(judge(figures({ a: { errors: 5 }, o: { errors: 3 } })).verdict, "healthy");
  });
  await t.step("error rate > 20 % is critical, > 10 % a warning, exactly 10 % fine", () => {
    assert.equal(judge(figures({ a: { errors: 21 }, o: { errors: 18 } })).verdict, "critical");
    const warning = judge(figures({ a: { errors: 15 }, o: { errors: 12 } }));
    assert.equal(warning.verdict, "warning");
    assert.deepEqual(warning.findings.map((f) => [f.check, f.severity]), [
      ["error_rate", "warning"],
    ]);
    assert.equal(judge(figures({ a: { errors: 10 }, o: { errors: 9 } })).verdict, "healthy");
  });
  await t.step("p95 > 1,000 ms is critical", () => {
    const report = judge(figures({ a: { p95Ms: 1000.5 } }));
    assert.equal(report.verdict, "critical");
    assert.match(report.reasons[0]!, /p95 1000.5 ms > 1000 ms/);
    assert.equal(judge(figures({ a: { p95Ms: 1000 } })).verdict, "healthy");
  });
  await t.step("too few samples is inconclusive, never healthy", () => {
    const report = judge(figures({ a: { requests: 19, errors: 0 } }));
    assert.equal(report.verdict, "inconclusive");
    assert.match(report.reasons[0]!, /only 19 abstracted request/);
  });
  await t.step(
    "…unless the failures seen already exceed the critical rate of a full sample",
    () => {
      // 5 failures of a minimum sample of 20 = 25 % even if the next 15 all succeed.
      assert.equal(judge(figures({ a: { requests: 6, errors: 5 } })).verdict, "critical");
      assert.equal(judge(figures({ a: { requests: 6, errors: 4 } })).verdict, "inconclusive");
    },
  );
  await t.step("mismatch rate is judged only with enough comparisons", () => {
    assert.equal(judge(figures({ c: { compared: 100, mismatches: 6 } })).verdict, "critical");
    assert.equal(judge(figures({ c: { compared: 100, mismatches: 2 } })).verdict, "warning");
    assert.equal(judge(figures({ c: { compared: 10, mismatches: 9 } })).verdict, "healthy");
  });
  await t.step("abstracted worse than the original by > 5 points warns", () => {
    const report = judge(figures({ a: { errors: 8 }, o: { errors: 1 } }));
    assert.equal(report.verdict, "warning");
    assert.equal(report.findings[0]!.check, "error_rate_increase");
  });
  await t.step("thresholds are configurable; null switches a check off", () => {
    const lenient = mergeAnalysis(DEFAULT_ANALYSIS, {
      minSamples: 5,
      thresholds: { criticalErrorRate: 0.5, warningErrorRate: null, criticalP95Ms: null },
    });
    const f = figures({ a: { requests: 10, errors: 3, p95Ms: 5000 }, o: { errors: 30 } });
    assert.equal(judgeHealth(f, lenient).verdict, "healthy");
  });
});

for (const provider of sqlProviders()) {
  Deno.test(`measureHealth over performance_metrics on ${provider.name}`, async (t) => {
    const db = await provider.open();
    const now = new Date("2026-11-23T12:00:00Z");
    const ago = (s: number) => new Date(now.getTime() - s * 1000);
    try {
      await simulateTraffic(db, "login", { path: "abstracted", count: 60, at: ago(10) });
      await simulateTraffic(db, "login", {
        path: "abstracted",
        count: 10,
        at: ago(20),
        status: 503,
        durationMs: 1500,
      });
      // Fallbacks: routed to abstracted, answered by the original.
      await simulateTraffic(db, "login", {
        path: "original",
        count: 5,
        at: ago(30),
        fallback: true,
        durationMs: 900,
      });
      await simulateTraffic(db, "login", {
        path: "original",
        count: 40,
        at: ago(40),
        mismatch: false,
      });
      await simulateTraffic(db, "login", {
        path: "original",
        count: 4,
        at: ago(40),
        mismatch: true,
      });
      await simulateTraffic(db, "login", { path: "original", count: 1, at: ago(41), status: 500 });
      // Outside the window, and another function: ignored.
      await simulateTraffic(db, "login", {
        path: "abstracted",
        count: 50,
        at: ago(400),
        status: 500,
      });
      await simulateTraffic(db, "signup", {
        path: "abstracted",
        count: 50,
        at: ago(5),
        status: 500,
      });

      await t.step("figures attribute fallbacks to the abstracted path", async () => {
        const f = await measureHealth(db, "login", ago(300), now);
        assert.equal(f.abstracted.requests, 75);
        assert.equal(f.abstracted.errors, 15, "10 × 503 + 5 fallbacks");
        assert.equal(f.abstracted.fallbacks, 5);
        assert.equal(f.original.requests, 45);
        assert.equal(f.original.errors, 1);
        assert.deepEqual(f.comparisons, { compared: 44, mismatches: 4, mismatchRate: 4 / 44 });
      });

      await t.step("p50/p95 equal PostgreSQL's percentile_cont over the same rows", async () => {
        const f = await measureHealth(db, "login", ago(300), now);
        const durations = [...Array(60).fill(50), ...Array(10).fill(1500), ...Array(5).fill(900)]
          .sort((x, y) => x - y);
        const cont = (p: number) => {
          const rank = p * (durations.length - 1);
          const lo = Math.floor(rank), hi = Math.ceil(rank);
          return durations[lo]! + (durations[hi]! - durations[lo]!) * (rank - lo);
        };
        assert.equal(f.abstracted.p50Ms, cont(0.5));
        assert.equal(f.abstracted.p95Ms, Math.round(cont(0.95) * 100) / 100);
      });

      await t.step("evaluateHealth: p95 1,500 ms and 9 % mismatches are critical", async () => {
        const report = await evaluateHealth(
          db,
          "login",
          { from: ago(300), to: now },
          DEFAULT_ANALYSIS,
        );
        assert.equal(report.verdict, "critical");
        const critical = report.findings.filter((f) => f.severity === "critical");
        assert.deepEqual(critical.map((f) => f.check).sort(), ["mismatch_rate", "p95_latency"]);
        assert.equal(report.window.to, now.toISOString());
      });

      await t.step("an empty window is inconclusive", async () => {
        const report = await evaluateHealth(
          db,
          "coordinator",
          { from: ago(300), to: now },
          DEFAULT_ANALYSIS,
        );
        assert.equal(report.verdict, "inconclusive");
        assert.equal(report.figures.abstracted.errorRate, null);
        assert.equal(report.figures.abstracted.p95Ms, null);
      });
    } finally {
      await db.close();
    }
  });
}
