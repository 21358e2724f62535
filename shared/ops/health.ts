/**
 * Health of one function's abstracted path against its original, over a window of
 * performance_metrics. One aggregate query measures both paths (error rate, p50/p95 with
 * percentile_cont, shadow mismatch rate); judgeHealth() turns the figures into a verdict.
 *
 * Attribution: a metric's `path` is the implementation that ANSWERED. A request routed to the
 * abstracted path that failed and was answered by the original (fallback = true) is an abstracted
 * failure — the client never noticed, which is exactly why it must count — and its duration (the
 * time the client waited) counts toward the abstracted latency.
 */
import type { SqlClient } from "../db/sql-client.ts";
import { DISAGREEMENTS_SQL } from "../migrator/disagreement.ts";
import type {
  AnalysisConfig,
  HealthFigures,
  HealthFinding,
  HealthReport,
  HealthThresholds,
  HealthVerdict,
} from "./types.ts";

const MEASURE_SQL = `
SELECT
  count(*) FILTER (WHERE path = 'abstracted' OR fallback) AS a_requests,
  count(*) FILTER (WHERE fallback
                      OR (path = 'abstracted' AND (status >= 500 OR NOT success))) AS a_errors,
  count(*) FILTER (WHERE fallback) AS a_fallbacks,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms)
    FILTER (WHERE path = 'abstracted' OR fallback) AS a_p50,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)
    FILTER (WHERE path = 'abstracted' OR fallback) AS a_p95,
  count(*) FILTER (WHERE path = 'original' AND NOT fallback) AS o_requests,
  count(*) FILTER (WHERE path = 'original' AND NOT fallback
                     AND (status >= 500 OR NOT success)) AS o_errors,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms)
    FILTER (WHERE path = 'original' AND NOT fallback) AS o_p50,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)
    FILTER (WHERE path = 'original' AND NOT fallback) AS o_p95,
  count(*) FILTER (WHERE mismatch IS NOT NULL) AS compared,
  ${DISAGREEMENTS_SQL} AS mismatches
FROM performance_metrics
WHERE function_name = $1
  AND recorded_at > $2::timestamptz
  AND recorded_at <= $3::timestamptz`;

interface MeasureRow {
  a_requests: number;
  a_errors: number;
  a_fallbacks: number;
  a_p50: number | null;
  a_p95: number | null;
  o_requests: number;
  o_errors: number;
  o_p50: number | null;
  o_p95: number | null;
  compared: number;
  mismatches: number;
}

const ratio = (part: number, whole: number): number | null => whole > 0 ? part / whole : null;
const round = (value: number | null): number | null =>
  value === null ? null : Math.round(Number(value) * 100) / 100;

/** Figures of `functionName` for metrics recorded in (from, to]. */
export async function measureHealth(
  sql: SqlClient,
  functionName: string,
  from: Date,
  to: Date,
): Promise<HealthFigures> {
  const { rows } = await sql.query<MeasureRow>(MEASURE_SQL, [
    functionName,
    from.toISOString(),
    to.toISOString(),
  ]);
  const r = rows[0]!;
  const n = (value: number | string | null) => Number(value ?? 0);
  const aRequests = n(r.a_requests), aErrors = n(r.a_errors);
  const oRequests = n(r.o_requests), oErrors = n(r.o_errors);
  const compared = n(r.compared), mismatches = n(r.mismatches);
  return {
    abstracted: {
      requests: aRequests,
      errors: aErrors,
      fallbacks: n(r.a_fallbacks),
      errorRate: ratio(aErrors, aRequests),
      p50Ms: round(r.a_p50),
      p95Ms: round(r.a_p95),
    },
    original: {
      requests: oRequests,
      errors: oErrors,
      errorRate: ratio(oErrors, oRequests),
      p50Ms: round(r.o_p50),
      p95Ms: round(r.o_p95),
    },
    comparisons: { compared, mismatches, mismatchRate: ratio(mismatches, compared) },
  };
}

const pct = (value: number) => `${(value * 100).toFixed(1)} %`;

function above(
  findings: HealthFinding[],
  check: HealthFinding["check"],
  severity: HealthFinding["severity"],
  value: number | null,
  threshold: number | null,
  describe: (value: number, threshold: number) => string,
): boolean {
  if (value === null || threshold === null || !(value > threshold)) return false;
  findings.push({ check, severity, value, threshold, message: describe(value, threshold) });
  return true;
}

/**
 * The verdict over the figures:
 * - too few abstracted requests (< minSamples) is inconclusive — unless the failures already
 *   seen exceed the critical rate of a full sample, which no further success could undo;
 * - critical when the error rate, p95 or mismatch rate passes its critical threshold;
 * - warning when one passes its warning threshold, or the abstracted error rate exceeds the
 *   original's by more than warningErrorRateIncrease;
 * - healthy otherwise.
 */
export function judgeHealth(
  figures: HealthFigures,
  analysis: Pick<AnalysisConfig, "minSamples" | "minComparisons" | "thresholds">,
): { verdict: HealthVerdict; findings: HealthFinding[]; reasons: string[] } {
  const t: HealthThresholds = analysis.thresholds;
  const a = figures.abstracted;
  const findings: HealthFinding[] = [];

  if (a.requests < analysis.minSamples) {
    const conclusive = a.errors > t.criticalErrorRate * analysis.minSamples;
    if (conclusive) {
      const value = a.errors / analysis.minSamples;
      above(
        findings,
        "error_rate",
        "critical",
        value,
        t.criticalErrorRate,
        (v, th) =>
          `abstracted errors ${a.errors} of a minimum sample of ${analysis.minSamples} ` +
          `(${pct(v)}) already exceed ${pct(th)}`,
      );
      return { verdict: "critical", findings, reasons: findings.map((f) => f.message) };
    }
    return {
      verdict: "inconclusive",
      findings,
      reasons: [
        `only ${a.requests} abstracted request(s) in the window; at least ${analysis.minSamples} needed`,
      ],
    };
  }

  above(
    findings,
    "error_rate",
    "critical",
    a.errorRate,
    t.criticalErrorRate,
    (v, th) =>
      `abstracted error rate ${pct(v)} > ${
        pct(th)
      } (${a.errors}/${a.requests}, ${a.fallbacks} fallbacks)`,
  );
  above(
    findings,
    "p95_latency",
    "critical",
    a.p95Ms,
    t.criticalP95Ms,
    (v, th) => `abstracted p95 ${v} ms > ${th} ms`,
  );
  const comparisons = figures.comparisons;
  const mismatchRate = comparisons.compared >= analysis.minComparisons
    ? comparisons.mismatchRate
    : null;
  above(
    findings,
    "mismatch_rate",
    "critical",
    mismatchRate,
    t.criticalMismatchRate,
    (v, th) =>
      `shadow mismatch rate ${pct(v)} > ${
        pct(th)
      } (${comparisons.mismatches}/${comparisons.compared})`,
  );

  const critical = new Set(findings.map((f) => f.check));
  if (!critical.has("error_rate")) {
    above(
      findings,
      "error_rate",
      "warning",
      a.errorRate,
      t.warningErrorRate,
      (v, th) => `abstracted error rate ${pct(v)} > ${pct(th)}`,
    );
  }
  if (!critical.has("p95_latency")) {
    above(
      findings,
      "p95_latency",
      "warning",
      a.p95Ms,
      t.warningP95Ms,
      (v, th) => `abstracted p95 ${v} ms > ${th} ms`,
    );
  }
  if (!critical.has("mismatch_rate")) {
    above(
      findings,
      "mismatch_rate",
      "warning",
      mismatchRate,
      t.warningMismatchRate,
      (v, th) => `shadow mismatch rate ${pct(v)} > ${pct(th)}`,
    );
  }
  const o = figures.original;
  if (
    !critical.has("error_rate") && a.errorRate !== null && o.errorRate !== null &&
    o.requests >= analysis.minSamples
  ) {
    above(
      findings,
      "error_rate_increase",
      "warning",
      a.errorRate - o.errorRate,
      t.warningErrorRateIncrease,
      (v, th) =>
        `abstracted error rate ${pct(a.errorRate!)} exceeds the original's ${pct(o.errorRate!)} ` +
        `by ${pct(v)} (> ${pct(th)})`,
    );
  }

  const verdict: HealthVerdict = findings.some((f) => f.severity === "critical")
    ? "critical"
    : findings.length > 0
    ? "warning"
    : "healthy";
  return { verdict, findings, reasons: findings.map((f) => f.message) };
}

/** Measures and judges one function over (from, to]. */
export async function evaluateHealth(
  sql: SqlClient,
  functionName: string,
  window: { from: Date; to: Date },
  analysis: Pick<AnalysisConfig, "minSamples" | "minComparisons" | "thresholds">,
): Promise<HealthReport> {
  const figures = await measureHealth(sql, functionName, window.from, window.to);
  const judged = judgeHealth(figures, analysis);
  return {
    functionName,
    verdict: judged.verdict,
    reasons: judged.reasons,
    findings: judged.findings,
    figures,
    window: { from: window.from.toISOString(), to: window.to.toISOString() },
  };
}

/** Health of the ORIGINAL path alone (a planned rollback must not push traffic onto a failing one). */
export function judgeOriginal(
  figures: HealthFigures,
  analysis: Pick<AnalysisConfig, "minSamples" | "thresholds">,
): { critical: boolean; reason: string | null } {
  const o = figures.original;
  if (o.requests < analysis.minSamples) return { critical: false, reason: null };
  const t = analysis.thresholds;
  if (o.errorRate !== null && o.errorRate > t.criticalErrorRate) {
    return {
      critical: true,
      reason: `original error rate ${pct(o.errorRate)} > ${pct(t.criticalErrorRate)}`,
    };
  }
  if (o.p95Ms !== null && t.criticalP95Ms !== null && o.p95Ms > t.criticalP95Ms) {
    return { critical: true, reason: `original p95 ${o.p95Ms} ms > ${t.criticalP95Ms} ms` };
  }
  return { critical: false, reason: null };
}
