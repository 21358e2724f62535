/**
 * Plain-text renderings of rollout state for terminals (the ops CLI) and logs.
 */
import type { OpsOverview, RolloutView } from "./controller.ts";
import { type RolloutState, targetPercentage } from "./types.ts";

const time = (date: Date | string | null) =>
  date === null ? "–" : new Date(date).toISOString().replace("T", " ").slice(0, 19) + "Z";

/** One line per rollout: status, position in the plan, failures, last verdict. */
export function formatState(state: RolloutState): string {
  const inRollback = state.status === "rolling_back" || state.status === "rolled_back" ||
    state.pausedFrom === "rolling_back";
  const plan = inRollback ? state.rollbackSteps : state.steps;
  const parts = [
    `${state.functionName}: ${state.status}`,
    `at ${targetPercentage(state)} %`,
    `step ${Math.min(state.currentStep + 1, plan.length)}/${plan.length} (${plan.join(" → ")} %)`,
    `since ${time(state.stepEnteredAt)}`,
    `failed checks ${state.consecutiveFailures}/${state.analysis.failureLimit}`,
  ];
  if (state.lastHealth) {
    parts.push(
      `last check ${state.lastHealth.verdict}${
        state.lastHealth.reasons.length ? `: ${state.lastHealth.reasons.join("; ")}` : ""
      }`,
    );
  }
  if (state.abortReason) parts.push(`aborted: ${state.abortReason}`);
  return parts.join(" · ");
}

export function formatRollout(view: RolloutView): string {
  const lines = [
    `${view.functionName}: routing at ${view.effectivePercentage} %${
      view.killSwitch ? " — FORCED TO THE ORIGINAL (kill switch)" : ""
    }`,
    view.rollout ? `  ${formatState(view.rollout)}` : "  no rollout",
  ];
  const row = view.flags.function;
  if (row) {
    lines.push(
      `  flags v${row.version}: rollout ${row.rolloutPercentage ?? "inherit"} %, fallback ${
        row.enableFallback ?? "inherit"
      }, comparison ${row.enableComparison ?? "inherit"}, canary ${
        row.canaryEnabled ?? "inherit"
      } (updated by ${row.updatedBy ?? "?"} at ${time(row.updatedAt)})`,
    );
  }
  return lines.join("\n");
}

export function formatOverview(overview: OpsOverview): string {
  const kill = overview.killSwitch;
  const lines = [
    kill.engaged
      ? `EMERGENCY ROLLBACK ENGAGED by ${kill.updatedBy ?? "?"} at ${time(kill.updatedAt)}: ${
        kill.reason ?? ""
      }`
      : "emergency rollback: off",
    "",
    "rollouts:",
    ...(overview.rollouts.length === 0
      ? ["  none"]
      : overview.rollouts.map((state) => `  ${formatState(state)}`)),
    "",
    "runtime flags (rollout %):",
    ...(overview.flags.length === 0 ? ["  none (every function follows the environment)"] : overview
      .flags.map((row) =>
        `  ${row.functionName.padEnd(16)} ${
          row.rolloutPercentage === null ? "inherit" : `${row.rolloutPercentage} %`
        }${row.forceOriginal ? "  force_original" : ""}`
      )),
  ];
  return lines.join("\n");
}
