/**
 * Always-on health and business watch, run on every scheduled evaluation tick whether or not a
 * rollout is active (the rollout controller only judges the abstracted path of a running rollout;
 * this watches the business itself):
 *
 * - signups: successful signups in the last `windowMinutes` against the rate of the baseline
 *   (`baselineMinutes` before it): none at all where the baseline expected some → critical;
 *   a drop of more than `signupDropRatio` → warning;
 * - login failures: the share of failed logins spiking above both an absolute rate and
 *   `loginSpikeFactor` × the baseline's share;
 * - divergences: open `auth_divergences` above a count, and new ones in the window (growth);
 * - change-outbox lag: age of the oldest unapplied `identity_change_outbox` row;
 * - batch error rate: 5xx share of `migrate-batch` calls;
 * - p95 latency per function and path.
 *
 * Figures come from `performance_metrics` (one row per client request, written by the
 * migrator), so a test can drive every check by inserting rows with past timestamps. Each firing
 * check queues one alert (ops_alerts outbox → Sentry and the webhook), deduplicated: the same
 * kind for the same function is not raised again within `repeatMinutes`.
 */
import { z } from "zod";
import type { SqlClient } from "../db/sql-client.ts";
import type { AlertInput, AlertSeverity } from "./alerts.ts";

export const watchThresholdsSchema = z.strictObject({
  /** The window each check looks at (runbook: 30 min). */
  windowMinutes: z.number().int().min(1).max(24 * 60),
  /** The baseline before it, whose rate the window is compared with. */
  baselineMinutes: z.number().int().min(1).max(30 * 24 * 60),
  /** "No signups" fires when the baseline rate expected at least this many in the window. */
  noSignupsMinExpected: z.number().min(0.1),
  /** Signups below (1 − ratio) × expected is a drop … */
  signupDropRatio: z.number().gt(0).lt(1),
  /** … judged only once the baseline expects this many (small numbers are noise). */
  signupDropMinExpected: z.number().min(1),
  /** Login failure share that is a spike when it is also `loginSpikeFactor` × the baseline's. */
  loginFailureRate: z.number().gt(0).max(1),
  loginSpikeFactor: z.number().min(1),
  loginMinAttempts: z.number().int().min(1),
  openDivergences: z.number().int().min(1),
  /** New divergences in the window. */
  divergenceGrowth: z.number().int().min(1),
  outboxLagSeconds: z.number().int().min(1),
  batchErrorRate: z.number().gt(0).max(1),
  batchMinCalls: z.number().int().min(1),
  p95Ms: z.number().int().min(1),
  p95MinSamples: z.number().int().min(1),
  /** An alert of the same kind for the same function is not repeated within this time. */
  repeatMinutes: z.number().int().min(1).max(7 * 24 * 60),
});

export type WatchThresholds = z.infer<typeof watchThresholdsSchema>;

/** Runbook defaults (README "Operations"). */
export const DEFAULT_WATCH_THRESHOLDS: WatchThresholds = {
  windowMinutes: 30,
  baselineMinutes: 24 * 60,
  noSignupsMinExpected: 1,
  signupDropRatio: 0.5,
  signupDropMinExpected: 10,
  loginFailureRate: 0.3,
  loginSpikeFactor: 2,
  loginMinAttempts: 20,
  openDivergences: 10,
  divergenceGrowth: 5,
  outboxLagSeconds: 300,
  batchErrorRate: 0.1,
  batchMinCalls: 5,
  p95Ms: 1000,
  p95MinSamples: 20,
  repeatMinutes: 60,
};

/** OPS_WATCH_THRESHOLDS (a JSON object of overrides) on top of the defaults; throws on bad input. */
export function parseWatchThresholds(json: string | undefined): WatchThresholds {
  if (!json) return DEFAULT_WATCH_THRESHOLDS;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new TypeError("OPS_WATCH_THRESHOLDS: must be a JSON object");
  }
  const parsed = watchThresholdsSchema.partial().safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TypeError(
      `OPS_WATCH_THRESHOLDS: ${issue?.path.join(".") || "value"}: ${issue?.message ?? "invalid"}`,
    );
  }
  return { ...DEFAULT_WATCH_THRESHOLDS, ...parsed.data };
}

export interface WatchCheck {
  readonly kind: string;
  readonly functionName: string | null;
  readonly firing: boolean;
  readonly severity: AlertSeverity;
  readonly title: string;
  readonly figures: Record<string, number | null>;
}

export interface WatchReport {
  readonly checks: readonly WatchCheck[];
  /** Kinds (with function) alerted this tick; firing checks deduplicated are not listed. */
  readonly raised: readonly string[];
}

const n = (value: unknown): number => Number(value ?? 0);
const pct = (value: number) => `${(value * 100).toFixed(1)} %`;

/** Runs every check inside `tx` and queues the alerts of firing, not recently raised ones. */
export async function runWatch(
  tx: SqlClient,
  alert: (input: AlertInput) => Promise<number>,
  thresholds: WatchThresholds,
  now: Date,
): Promise<WatchReport> {
  const t = thresholds;
  const windowMs = t.windowMinutes * 60_000;
  const from = new Date(now.getTime() - windowMs);
  const baseFrom = new Date(from.getTime() - t.baselineMinutes * 60_000);
  const scale = t.windowMinutes / t.baselineMinutes;
  const checks: WatchCheck[] = [];

  // Signups and logins: current window and baseline in one scan of the metrics.
  const { rows: traffic } = await tx.query<{
    function_name: string;
    current_ok: number;
    current_total: number;
    base_ok: number;
    base_total: number;
  }>(
    `SELECT function_name,
            count(*) FILTER (WHERE recorded_at >= $2 AND status BETWEEN 200 AND 299) AS current_ok,
            count(*) FILTER (WHERE recorded_at >= $2) AS current_total,
            count(*) FILTER (WHERE recorded_at < $2 AND status BETWEEN 200 AND 299) AS base_ok,
            count(*) FILTER (WHERE recorded_at < $2) AS base_total
       FROM performance_metrics
      WHERE function_name IN ('signup', 'login')
        AND recorded_at >= $1::timestamptz AND recorded_at < $3::timestamptz
      GROUP BY function_name`,
    [baseFrom.toISOString(), from.toISOString(), now.toISOString()],
  );
  const of = (name: string) => traffic.find((row) => row.function_name === name);
  const signup = of("signup");
  const signups = n(signup?.current_ok);
  const expected = n(signup?.base_ok) * scale;
  checks.push({
    kind: "watch_no_signups",
    functionName: "signup",
    firing: signups === 0 && expected >= t.noSignupsMinExpected,
    severity: "critical",
    title: `No successful signups in ${t.windowMinutes} min (the baseline expected ${
      expected.toFixed(1)
    })`,
    figures: { signups, expected: round(expected), attempts: n(signup?.current_total) },
  });
  checks.push({
    kind: "watch_signup_drop",
    functionName: "signup",
    firing: signups > 0 && expected >= t.signupDropMinExpected &&
      signups < expected * (1 - t.signupDropRatio),
    severity: "warning",
    title: `Signups dropped to ${signups} in ${t.windowMinutes} min (baseline ${
      expected.toFixed(1)
    })`,
    figures: { signups, expected: round(expected), dropRatio: t.signupDropRatio },
  });

  const login = of("login");
  const attempts = n(login?.current_total);
  const failureRate = attempts > 0 ? (attempts - n(login?.current_ok)) / attempts : 0;
  const baseAttempts = n(login?.base_total);
  const baseRate = baseAttempts > 0 ? (baseAttempts - n(login?.base_ok)) / baseAttempts : 0;
  checks.push({
    kind: "watch_login_failures",
    functionName: "login",
    firing: attempts >= t.loginMinAttempts && failureRate >= t.loginFailureRate &&
      failureRate >= baseRate * t.loginSpikeFactor,
    severity: "warning",
    title: `Login failures at ${pct(failureRate)} of ${attempts} attempts (baseline ${
      pct(baseRate)
    })`,
    figures: { attempts, failureRate: round(failureRate), baselineRate: round(baseRate) },
  });

  const { rows: [divergences] } = await tx.query<{ open: number; fresh: number }>(
    `SELECT count(*) FILTER (WHERE status = 'open') AS open,
            count(*) FILTER (WHERE created_at >= $1::timestamptz) AS fresh
       FROM auth_divergences`,
    [from.toISOString()],
  );
  const open = n(divergences?.open);
  const fresh = n(divergences?.fresh);
  checks.push({
    kind: "watch_open_divergences",
    functionName: null,
    firing: open >= t.openDivergences,
    severity: "warning",
    title: `${open} open auth divergences need attention`,
    figures: { open },
  });
  checks.push({
    kind: "watch_divergences_growing",
    functionName: null,
    firing: fresh >= t.divergenceGrowth,
    severity: "warning",
    title: `${fresh} new auth divergences in ${t.windowMinutes} min`,
    figures: { new: fresh, open },
  });

  const { rows: [outbox] } = await tx.query<{ lag: number | null; pending: number }>(
    `SELECT extract(epoch FROM ($1::timestamptz - min(captured_at)))::float8 AS lag,
            count(*) AS pending
       FROM identity_change_outbox WHERE applied_at IS NULL`,
    [now.toISOString()],
  );
  const lag = outbox?.lag === null || outbox?.lag === undefined ? 0 : Number(outbox.lag);
  checks.push({
    kind: "watch_outbox_lag",
    functionName: null,
    firing: lag >= t.outboxLagSeconds,
    severity: lag >= t.outboxLagSeconds * 4 ? "critical" : "warning",
    title: `Identity change outbox ${Math.round(lag)} s behind (${n(outbox?.pending)} unapplied)`,
    figures: { lagSeconds: Math.round(lag), pending: n(outbox?.pending) },
  });

  const { rows: paths } = await tx.query<{
    function_name: string;
    path: string;
    total: number;
    errors: number;
    p95: number | null;
  }>(
    `SELECT function_name, path, count(*) AS total,
            count(*) FILTER (WHERE status >= 500) AS errors,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95
       FROM performance_metrics
      WHERE recorded_at >= $1::timestamptz AND recorded_at < $2::timestamptz
      GROUP BY function_name, path ORDER BY function_name, path`,
    [from.toISOString(), now.toISOString()],
  );
  const batch = paths.filter((row) => row.function_name === "migrate-batch");
  const calls = batch.reduce((sum, row) => sum + n(row.total), 0);
  const batchErrors = batch.reduce((sum, row) => sum + n(row.errors), 0);
  const batchRate = calls > 0 ? batchErrors / calls : 0;
  checks.push({
    kind: "watch_batch_errors",
    functionName: "migrate-batch",
    firing: calls >= t.batchMinCalls && batchRate >= t.batchErrorRate,
    severity: "warning",
    title: `migrate-batch failing: ${batchErrors} of ${calls} calls (${pct(batchRate)})`,
    figures: { calls, errors: batchErrors, errorRate: round(batchRate) },
  });
  for (const row of paths) {
    const p95 = row.p95 === null ? null : Math.round(Number(row.p95));
    checks.push({
      kind: `watch_p95_${row.path}`,
      functionName: row.function_name,
      firing: n(row.total) >= t.p95MinSamples && p95 !== null && p95 > t.p95Ms,
      severity: "warning",
      title: `${row.function_name} (${row.path}) p95 ${p95} ms over ${n(row.total)} requests`,
      figures: { p95Ms: p95, requests: n(row.total), thresholdMs: t.p95Ms },
    });
  }

  const raised: string[] = [];
  for (const check of checks.filter((c) => c.firing)) {
    const { rows: recent } = await tx.query(
      `SELECT 1 FROM ops_alerts
        WHERE kind = $1 AND function_name IS NOT DISTINCT FROM $2
          AND created_at > $3::timestamptz - make_interval(mins => $4::int)
        LIMIT 1`,
      [check.kind, check.functionName, now.toISOString(), t.repeatMinutes],
    );
    if (recent.length > 0) continue;
    await alert({
      kind: check.kind,
      severity: check.severity,
      functionName: check.functionName,
      title: check.title,
      details: { figures: check.figures, windowMinutes: t.windowMinutes },
    });
    raised.push(`${check.kind}${check.functionName ? `:${check.functionName}` : ""}`);
  }
  return { checks, raised };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
