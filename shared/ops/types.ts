/**
 * The vocabulary of rollout control: staged rollouts per function, their analysis settings, and
 * the health reports that gate them.
 */

/**
 * running: advanced step by step by the scheduled evaluation while health holds;
 * paused: left alone until an operator resumes it;
 * aborted: health failed N checks in a row, the function is back at 0 % (retry to start again);
 * completed: the last step held healthy;
 * rolling_back: a planned rollback stepping down (75 → 50 → 25 → 10 → 0);
 * rolled_back: the planned rollback reached 0 %.
 */
export const ROLLOUT_STATUSES = [
  "running",
  "paused",
  "aborted",
  "completed",
  "rolling_back",
  "rolled_back",
] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

/** Statuses the scheduled evaluation acts on. */
export const ACTIVE_STATUSES: readonly RolloutStatus[] = ["running", "rolling_back"];

/** Health thresholds; rates are fractions (0.2 = 20 %). A null threshold is not checked. */
export interface HealthThresholds {
  /** Abstracted error rate (5xx, success = false, or a fallback) above which a check fails. */
  readonly criticalErrorRate: number;
  /** Above this the rollout holds its step (does not advance) without counting a failure. */
  readonly warningErrorRate: number | null;
  readonly criticalP95Ms: number | null;
  readonly warningP95Ms: number | null;
  /** Shadow mismatch rate (over compared requests, both directions). */
  readonly criticalMismatchRate: number | null;
  readonly warningMismatchRate: number | null;
  /**
   * Abstracted error rate minus original error rate above which the check warns: the abstracted
   * path is measurably worse than what it replaces even when both are under the absolute limits.
   */
  readonly warningErrorRateIncrease: number | null;
}

/** How a rollout judges health; stored with the rollout so a running plan never changes under it. */
export interface AnalysisConfig {
  /** Sliding window; at a new step only metrics since the step began count. */
  readonly windowSeconds: number;
  /** Fewer requests routed to the abstracted path than this = inconclusive (never healthy). */
  readonly minSamples: number;
  /** Mismatch rates are only judged with at least this many compared requests. */
  readonly minComparisons: number;
  /** Consecutive failed checks that abort the rollout. */
  readonly failureLimit: number;
  /**
   * Evaluations closer together than this are skipped, so a doubled cron tick (or a retry of the
   * evaluate call) can neither count a failure twice nor advance twice.
   */
  readonly minIntervalSeconds: number;
  readonly thresholds: HealthThresholds;
}

export type HealthVerdict = "healthy" | "warning" | "critical" | "inconclusive";

/** Request figures of one path in the window. */
export interface PathFigures {
  readonly requests: number;
  readonly errors: number;
  /** errors / requests, null without requests. */
  readonly errorRate: number | null;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
}

export interface HealthFigures {
  /**
   * Requests routed to the abstracted implementation: answered by it, or by the original after a
   * fallback (a fallback counts as an abstracted error even though the client got an answer).
   */
  readonly abstracted: PathFigures & { readonly fallbacks: number };
  /** Requests routed to the original (fallbacks excluded): the baseline. */
  readonly original: PathFigures;
  readonly comparisons: {
    readonly compared: number;
    readonly mismatches: number;
    readonly mismatchRate: number | null;
  };
}

export interface HealthFinding {
  readonly check: "error_rate" | "p95_latency" | "mismatch_rate" | "error_rate_increase";
  readonly severity: "warning" | "critical";
  readonly value: number;
  readonly threshold: number;
  readonly message: string;
}

export interface HealthReport {
  readonly functionName: string;
  readonly verdict: HealthVerdict;
  /** Why: the failed checks, or what made the window inconclusive. */
  readonly reasons: readonly string[];
  readonly findings: readonly HealthFinding[];
  readonly figures: HealthFigures;
  readonly window: { readonly from: string; readonly to: string };
}

/** Who changed something, and why (stored in migration_log and runtime_flags). */
export interface Actor {
  readonly by: string;
  readonly reason?: string;
}

/** A rollout row, camel-cased. */
export interface RolloutState {
  readonly functionName: string;
  readonly status: RolloutStatus;
  readonly steps: readonly number[];
  readonly rollbackSteps: readonly number[];
  readonly currentStep: number;
  readonly holdSeconds: number;
  readonly analysis: AnalysisConfig;
  readonly consecutiveFailures: number;
  readonly stepEnteredAt: Date;
  readonly lastEvaluatedAt: Date | null;
  readonly lastHealth: HealthReport | null;
  readonly pausedFrom: "running" | "rolling_back" | null;
  readonly abortReason: string | null;
  readonly attempt: number;
  readonly startedBy: string | null;
  readonly updatedBy: string | null;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  readonly updatedAt: Date;
}

/** The percentage a rollout's current position stands for. */
export function targetPercentage(state: RolloutState): number {
  const inRollback = state.status === "rolling_back" || state.status === "rolled_back" ||
    (state.status === "paused" && state.pausedFrom === "rolling_back");
  if (state.status === "aborted") return 0;
  const steps = inRollback ? state.rollbackSteps : state.steps;
  return steps[Math.min(state.currentStep, steps.length - 1)] ?? 0;
}
