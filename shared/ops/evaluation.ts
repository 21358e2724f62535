/**
 * One scheduled evaluation of one rollout, inside the caller's transaction (which holds the
 * rollout's row lock): measure health over the window since the step began (at most
 * `windowSeconds`), then act — see RolloutController for the rules. Every state change writes
 * the runtime flag, a migration_log entry and (for aborts, completions, rollbacks) an alert in
 * the same transaction.
 */
import { ok, type Result } from "../result.ts";
import type { AppError } from "../result.ts";
import { rolloutComponent, writeOpsLog } from "./audit.ts";
import type { UnitOfWork } from "./context.ts";
import { evaluateHealth, judgeOriginal } from "./health.ts";
import { RolloutStore } from "./rollout-store.ts";
import { type HealthReport, type RolloutState, targetPercentage } from "./types.ts";

export type EvaluationAction =
  | "advanced"
  | "completed"
  | "held"
  | "failed_check"
  | "aborted"
  | "stepped_down"
  | "rolled_back"
  | "skipped"
  | "error";

export interface EvaluationResult {
  readonly functionName: string;
  readonly action: EvaluationAction;
  readonly status?: RolloutState["status"];
  readonly percentage?: number;
  readonly verdict?: HealthReport["verdict"];
  readonly reasons: readonly string[];
}

type Outcome = { state: RolloutState; result: EvaluationResult };

/** Writes a rollout's percentage to runtime_flags, audited as `by` with `reason`. */
export async function setRolloutPercentage(
  unit: UnitOfWork,
  functionName: string,
  percentage: number,
  by: string,
  reason: string,
): Promise<void> {
  await unit.setFlags(functionName, { rolloutPercentage: percentage }, {
    updatedBy: by,
    reason: reason.slice(0, 500),
  });
}

export async function evaluateRollout(
  unit: UnitOfWork,
  functionName: string,
  now: Date,
): Promise<Result<EvaluationResult, AppError>> {
  const store = new RolloutStore(unit.tx);
  const state = await store.lock(functionName, { skipLocked: true });
  if (!state) {
    return ok({ functionName, action: "skipped", reasons: ["being evaluated elsewhere"] });
  }
  if (state.status !== "running" && state.status !== "rolling_back") {
    return ok({ functionName, action: "skipped", status: state.status, reasons: ["not active"] });
  }
  const minGapMs = state.analysis.minIntervalSeconds * 1000;
  if (state.lastEvaluatedAt && now.getTime() - state.lastEvaluatedAt.getTime() < minGapMs) {
    return ok({
      functionName,
      action: "skipped",
      status: state.status,
      reasons: [`evaluated less than ${state.analysis.minIntervalSeconds} s ago`],
    });
  }
  const from = new Date(
    Math.max(now.getTime() - state.analysis.windowSeconds * 1000, state.stepEnteredAt.getTime()),
  );
  const health = await evaluateHealth(unit.tx, functionName, { from, to: now }, state.analysis);
  const outcome = state.status === "running"
    ? await evaluateRunning(unit, state, health, now)
    : await evaluateRollingBack(unit, state, health, now);
  await store.put({ ...outcome.state, lastEvaluatedAt: now, lastHealth: health });
  if (state.lastHealth?.verdict !== health.verdict && outcome.result.action === "held") {
    await writeOpsLog(unit.tx, {
      component: rolloutComponent(functionName),
      phase: "health_check",
      status: "info",
      message: `${health.verdict}: ${health.reasons.join("; ") || "no findings"}`,
      metadata: {
        percentage: targetPercentage(state),
        verdict: health.verdict,
        figures: health.figures,
      },
      at: now,
    });
  }
  return ok(outcome.result);
}

async function evaluateRunning(
  unit: UnitOfWork,
  state: RolloutState,
  health: HealthReport,
  now: Date,
): Promise<Outcome> {
  const fn = state.functionName;
  const percentage = targetPercentage(state);
  const stepLabel = `${state.currentStep + 1}/${state.steps.length}`;
  const base = { functionName: fn, verdict: health.verdict, reasons: health.reasons };

  if (health.verdict === "critical") {
    const failures = state.consecutiveFailures + 1;
    const limit = state.analysis.failureLimit;
    if (failures < limit) {
      await writeOpsLog(unit.tx, {
        component: rolloutComponent(fn),
        phase: "health_check",
        status: "failed",
        message: health.reasons.join("; "),
        metadata: {
          percentage,
          step: stepLabel,
          failures,
          failureLimit: limit,
          figures: health.figures,
          findings: health.findings,
        },
        at: now,
      });
      return {
        state: { ...state, consecutiveFailures: failures },
        result: { ...base, action: "failed_check", status: "running", percentage },
      };
    }
    const reason = `health check failed ${failures} time(s) in a row at ${percentage} %: ${
      health.reasons.join("; ")
    }`;
    await setRolloutPercentage(unit, fn, 0, "rollout-controller", `aborted: ${reason}`);
    // The canary cohort is on the new path too (it bypasses the percentage): off with it.
    await unit.setFlags(fn, { canaryEnabled: false }, {
      updatedBy: "rollout-controller",
      reason: `aborted: ${reason}`.slice(0, 500),
    });
    await writeOpsLog(unit.tx, {
      component: rolloutComponent(fn),
      phase: "abort",
      status: "aborted",
      message: reason,
      metadata: {
        percentage,
        step: stepLabel,
        failures,
        failureLimit: limit,
        figures: health.figures,
        findings: health.findings,
        window: health.window,
        attempt: state.attempt,
      },
      at: now,
    });
    await unit.alert({
      kind: "rollout_aborted",
      severity: "critical",
      functionName: fn,
      title: `Rollout of ${fn} aborted at ${percentage} % and set to 0 %: ${
        health.reasons[0] ?? "health check failed"
      }`,
      details: {
        percentage,
        step: stepLabel,
        reason,
        figures: health.figures,
        findings: health.findings,
        window: health.window,
      },
    });
    return {
      state: {
        ...state,
        status: "aborted",
        consecutiveFailures: failures,
        abortReason: reason,
        finishedAt: now,
        updatedBy: "rollout-controller",
      },
      result: { ...base, action: "aborted", status: "aborted", percentage: 0 },
    };
  }

  if (health.verdict !== "healthy") {
    return { state, result: { ...base, action: "held", status: "running", percentage } };
  }
  const healthy = { ...state, consecutiveFailures: 0 };
  if (now.getTime() - state.stepEnteredAt.getTime() < state.holdSeconds * 1000) {
    return { state: healthy, result: { ...base, action: "held", status: "running", percentage } };
  }
  const isLast = state.currentStep >= state.steps.length - 1;
  if (isLast) {
    await writeOpsLog(unit.tx, {
      component: rolloutComponent(fn),
      phase: "complete",
      status: "completed",
      message: `rollout completed at ${percentage} %`,
      metadata: { percentage, figures: health.figures, attempt: state.attempt },
      at: now,
    });
    await unit.alert({
      kind: "rollout_completed",
      severity: "info",
      functionName: fn,
      title: `Rollout of ${fn} completed at ${percentage} %`,
      details: { percentage, step: stepLabel, figures: health.figures },
    });
    return {
      state: {
        ...healthy,
        status: "completed",
        finishedAt: now,
        updatedBy: "rollout-controller",
      },
      result: { ...base, action: "completed", status: "completed", percentage },
    };
  }
  const next = state.steps[state.currentStep + 1]!;
  await setRolloutPercentage(
    unit,
    fn,
    next,
    "rollout-controller",
    `rollout step ${state.currentStep + 2}/${state.steps.length}`,
  );
  await writeOpsLog(unit.tx, {
    component: rolloutComponent(fn),
    phase: "step",
    status: "completed",
    message: `${percentage} % → ${next} %`,
    metadata: {
      from: percentage,
      to: next,
      step: `${state.currentStep + 2}/${state.steps.length}`,
      figures: health.figures,
    },
    at: now,
  });
  return {
    state: {
      ...healthy,
      currentStep: state.currentStep + 1,
      stepEnteredAt: now,
      updatedBy: "rollout-controller",
    },
    result: { ...base, action: "advanced", status: "running", percentage: next },
  };
}

async function evaluateRollingBack(
  unit: UnitOfWork,
  state: RolloutState,
  health: HealthReport,
  now: Date,
): Promise<Outcome> {
  const fn = state.functionName;
  const percentage = targetPercentage(state);
  const base = { functionName: fn, verdict: health.verdict, reasons: health.reasons };
  const abstractedCritical = health.verdict === "critical";
  const original = judgeOriginal(health.figures, state.analysis);

  if (!abstractedCritical && original.critical) {
    if (state.lastHealth && !judgeOriginal(state.lastHealth.figures, state.analysis).critical) {
      await unit.alert({
        kind: "planned_rollback_held",
        severity: "warning",
        functionName: fn,
        title: `Planned rollback of ${fn} held at ${percentage} %: ${original.reason}`,
        details: { percentage, reason: original.reason, figures: health.figures },
      });
    }
    return {
      state,
      result: {
        ...base,
        action: "held",
        status: "rolling_back",
        percentage,
        reasons: [original.reason!],
      },
    };
  }
  const holdDone = now.getTime() - state.stepEnteredAt.getTime() >= state.holdSeconds * 1000;
  if (!abstractedCritical && !holdDone) {
    return { state, result: { ...base, action: "held", status: "rolling_back", percentage } };
  }
  // A failing abstracted path skips the remaining steps: the rollback was meant to get there anyway.
  const nextIndex = abstractedCritical ? state.rollbackSteps.length - 1 : state.currentStep + 1;
  const next = state.rollbackSteps[nextIndex] ?? 0;
  const done = nextIndex >= state.rollbackSteps.length - 1;
  await setRolloutPercentage(
    unit,
    fn,
    next,
    "rollout-controller",
    abstractedCritical ? "planned rollback: abstracted path critical" : "planned rollback step",
  );
  await writeOpsLog(unit.tx, {
    component: rolloutComponent(fn),
    phase: "planned_rollback",
    status: done ? "completed" : "info",
    message: `${percentage} % → ${next} %${
      abstractedCritical ? ` (abstracted critical: ${health.reasons.join("; ")})` : ""
    }`,
    metadata: { from: percentage, to: next, figures: health.figures, verdict: health.verdict },
    at: now,
  });
  if (done) {
    await unit.alert({
      kind: "planned_rollback_completed",
      severity: abstractedCritical ? "critical" : "info",
      functionName: fn,
      title: abstractedCritical
        ? `Planned rollback of ${fn} jumped from ${percentage} % to 0 %: ${health.reasons[0]}`
        : `Planned rollback of ${fn} completed: 0 %`,
      details: { percentage: next, figures: health.figures, findings: health.findings },
    });
  }
  return {
    state: {
      ...state,
      status: done ? "rolled_back" : "rolling_back",
      currentStep: nextIndex,
      stepEnteredAt: now,
      finishedAt: done ? now : null,
      updatedBy: "rollout-controller",
    },
    result: {
      ...base,
      action: done ? "rolled_back" : "stepped_down",
      status: done ? "rolled_back" : "rolling_back",
      percentage: next,
    },
  };
}
