/**
 * What drives the scheduled rollout evaluation.
 *
 * Production: pg_cron → pg_net POSTs `/functions/v1/migrate-batch/admin/rollouts/evaluate` every
 * minute with the service-role key (migrations/20261123000700_rollout_control.sql).
 * Locally: the dev server's LocalCron runs one of these tasks — over HTTP exactly like pg_cron
 * (evaluationRequestTask), or in-process when the dev server holds the OpsServices
 * (inProcessEvaluationTask).
 */
import type { TickResult } from "./cron.ts";
import type { EvaluationReport, RolloutController } from "../../shared/ops/controller.ts";

/** The path pg_cron calls, relative to the project URL. */
export const EVALUATE_PATH = "/functions/v1/migrate-batch/admin/rollouts/evaluate";

/** One line for the cron log: what each active rollout did. */
export function summariseEvaluation(report: EvaluationReport): string {
  if (report.results.length === 0) return "no active rollouts";
  return report.results
    .map((r) =>
      `${r.functionName}: ${r.action}${r.percentage !== undefined ? ` @${r.percentage}%` : ""}`
    )
    .join(", ");
}

export function evaluationRequestTask(
  baseUrl: string,
  serviceRoleKey: string,
  path: string = EVALUATE_PATH,
): (signal: AbortSignal) => Promise<TickResult> {
  return async (signal) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Authorization: `Bearer ${serviceRoleKey}`,
        apikey: serviceRoleKey,
      },
      body: "{}",
      signal,
    });
    const body = await response.json().catch(() => null) as
      | { data?: EvaluationReport; error?: { code: string; message: string } }
      | null;
    const summary = body?.data
      ? summariseEvaluation(body.data)
      : body?.error
      ? `${body.error.code}: ${body.error.message}`
      : `HTTP ${response.status}`;
    return { status: response.status, summary };
  };
}

export function inProcessEvaluationTask(
  controller: RolloutController,
): (signal: AbortSignal) => Promise<TickResult> {
  return async () => {
    const report = await controller.evaluateRollouts();
    const failed = report.results.some((r) => r.action === "error");
    return { status: failed ? 500 : 200, summary: summariseEvaluation(report) };
  };
}
