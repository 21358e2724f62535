/**
 * The rollout controller (in the spirit of Argo Rollouts and Flagger, for edge functions): a
 * staged plan per function moves runtime_flags.rollout_percentage step by step, and only a
 * scheduled evaluation (`evaluateRollouts(now)`: the dev server's cron locally, pg_cron calling
 * the evaluate route in production) moves it forward — and only while the abstracted path stays
 * healthy over the analysis window.
 *
 * Per evaluation and active rollout, in one transaction holding the rollout's row lock:
 * - running: critical → one more consecutive failure; at `failureLimit` the rollout aborts: the
 *   flag drops to 0 % in that same transaction, with the reason and figures in migration_log and
 *   a critical alert queued. healthy → failures reset; once the step has been held `holdSeconds`
 *   the next step's percentage is written (after the last step: completed). warning and
 *   inconclusive hold the step without counting a failure.
 * - rolling_back (planned rollback, 75 → 50 → 25 → 10 → 0): each step is held, then stepped down;
 *   a critical abstracted path skips straight to 0; a critical ORIGINAL path holds the step
 *   (pushing more users onto a failing original would not help them).
 *
 * Safe to run concurrently and repeatedly: rows are taken with FOR UPDATE SKIP LOCKED (a second
 * evaluator skips a rollout being evaluated), and an evaluation within `minIntervalSeconds` of the
 * previous one is a no-op, so a doubled cron tick never counts a failure or advances twice.
 */
import type { z } from "zod";
import { AppError, err, ok, type Result } from "../result.ts";
import { RuntimeFlagsStore } from "../flags/store.ts";
import { GLOBAL_FLAGS_NAME, type RuntimeFlagsRow } from "../flags/types.ts";
import {
  canaryInputSchema,
  DEFAULT_ANALYSIS,
  DEFAULT_HOLD_SECONDS,
  DEFAULT_ROLLBACK_STEPS,
  DEFAULT_STEPS,
  mergeAnalysis,
  parseInput,
  percentageInputSchema,
  plannedRollbackInputSchema,
  reasonInputSchema,
  retryInputSchema,
  startInputSchema,
} from "./analysis.ts";
import type { DeliveryReport } from "./alerts.ts";
import { rolloutComponent, writeOpsLog } from "./audit.ts";
import type { OpsContext, UnitOfWork } from "./context.ts";
import {
  evaluateRollout,
  type EvaluationAction,
  type EvaluationResult,
  setRolloutPercentage,
} from "./evaluation.ts";
import { evaluateHealth } from "./health.ts";
import {
  DEFAULT_WATCH_THRESHOLDS,
  runWatch,
  type WatchReport,
  type WatchThresholds,
} from "./watch.ts";
import { RolloutStore } from "./rollout-store.ts";
import {
  type Actor,
  type AnalysisConfig,
  type HealthReport,
  type RolloutState,
  targetPercentage,
} from "./types.ts";

export type { EvaluationAction, EvaluationResult };

/** A Supabase function name (the '*' global row is not a rollout). */
export const ROLLOUT_FUNCTION_NAME = /^[a-z][a-z0-9-]{0,62}$/;

export interface RolloutDefaults {
  readonly steps: readonly number[];
  readonly rollbackSteps: readonly number[];
  readonly holdSeconds: number;
  readonly analysis: AnalysisConfig;
}

export interface RolloutControllerOptions {
  readonly context: OpsContext;
  readonly defaults?: Partial<RolloutDefaults>;
  /** MIGRATION_ROLLOUT_PERCENTAGE: what a function without a percentage flag runs at. */
  readonly envRolloutPercentage?: number;
  /** When set, rollouts of other function names are refused (404): catches typos. */
  readonly knownFunctions?: readonly string[];
  /** The always-on watch run on every tick (default: the runbook thresholds; false = off). */
  readonly watch?: WatchThresholds | false;
}

export interface EvaluationReport {
  readonly evaluatedAt: string;
  readonly results: readonly EvaluationResult[];
  /** The always-on health and business checks of this tick (null when off or failed). */
  readonly watch: WatchReport | null;
  readonly alerts: DeliveryReport | null;
}

/** Everything an operator needs about one function. */
export interface RolloutView {
  readonly functionName: string;
  readonly rollout: RolloutState | null;
  /** The percentage the function's routing uses now (its row, else '*', else the env). */
  readonly effectivePercentage: number;
  readonly killSwitch: boolean;
  readonly flags: {
    readonly function: RuntimeFlagsRow | null;
    readonly global: RuntimeFlagsRow | null;
  };
}

export interface OpsOverview {
  readonly killSwitch: {
    readonly engaged: boolean;
    readonly updatedBy: string | null;
    readonly reason: string | null;
    readonly updatedAt: Date | null;
  };
  readonly rollouts: readonly RolloutState[];
  readonly flags: readonly RuntimeFlagsRow[];
}

const conflict = (message: string, details?: unknown) =>
  err(new AppError("conflict", message, details));

export class RolloutController {
  readonly #ctx: OpsContext;
  readonly #defaults: RolloutDefaults;
  readonly #envPercentage: number;
  readonly #known: ReadonlySet<string> | null;
  readonly #watch: WatchThresholds | false;

  constructor(options: RolloutControllerOptions) {
    this.#ctx = options.context;
    this.#watch = options.watch ?? DEFAULT_WATCH_THRESHOLDS;
    this.#defaults = {
      steps: options.defaults?.steps ?? DEFAULT_STEPS,
      rollbackSteps: options.defaults?.rollbackSteps ?? DEFAULT_ROLLBACK_STEPS,
      holdSeconds: options.defaults?.holdSeconds ?? DEFAULT_HOLD_SECONDS,
      analysis: options.defaults?.analysis ?? DEFAULT_ANALYSIS,
    };
    this.#envPercentage = options.envRolloutPercentage ?? 0;
    this.#known = options.knownFunctions ? new Set(options.knownFunctions) : null;
  }

  get defaults(): RolloutDefaults {
    return this.#defaults;
  }

  // ---------------------------------------------------------------- reading

  async get(functionName: string): Promise<Result<RolloutView, AppError>> {
    const invalid = this.#checkName(functionName);
    if (invalid) return err(invalid);
    try {
      const rollout = await new RolloutStore(this.#ctx.sql).get(functionName);
      const rows = await this.#flagsStore().rowsFor(functionName);
      if (!rows.ok) return rows;
      return ok(this.#view(functionName, rollout, rows.value.function, rows.value.global));
    } catch (cause) {
      return err(
        new AppError("database_error", "could not read the rollout", undefined, { cause }),
      );
    }
  }

  async overview(): Promise<Result<OpsOverview, AppError>> {
    try {
      const rollouts = await new RolloutStore(this.#ctx.sql).list();
      const flags = await this.#flagsStore().list();
      if (!flags.ok) return flags;
      const global = flags.value.find((row) => row.functionName === GLOBAL_FLAGS_NAME) ?? null;
      return ok({
        killSwitch: {
          engaged: global?.forceOriginal === true,
          updatedBy: global?.updatedBy ?? null,
          reason: global?.reason ?? null,
          updatedAt: global?.updatedAt ?? null,
        },
        rollouts,
        flags: flags.value,
      });
    } catch (cause) {
      return err(new AppError("database_error", "could not read rollouts", undefined, { cause }));
    }
  }

  /** Health of a function right now, over its rollout's analysis (or the defaults); no changes. */
  async health(
    functionName: string,
    options: { windowSeconds?: number; now?: Date } = {},
  ): Promise<Result<HealthReport, AppError>> {
    const invalid = this.#checkName(functionName);
    if (invalid) return err(invalid);
    try {
      const rollout = await new RolloutStore(this.#ctx.sql).get(functionName);
      const analysis = rollout?.analysis ?? this.#defaults.analysis;
      const to = options.now ?? this.#ctx.now();
      const seconds = options.windowSeconds ?? analysis.windowSeconds;
      return ok(
        await evaluateHealth(this.#ctx.sql, functionName, {
          from: new Date(to.getTime() - seconds * 1000),
          to,
        }, analysis),
      );
    } catch (cause) {
      return err(new AppError("database_error", "could not measure health", undefined, { cause }));
    }
  }

  // ---------------------------------------------------------------- operator actions

  /** Starts (or restarts after it finished) the staged rollout of a function at its first step. */
  start(functionName: string, input: unknown, actor: Actor) {
    return this.#locked("start rollout", functionName, startInputSchema, input, async (
      { unit, store, existing, body },
    ) => {
      const reason = body.reason ?? actor.reason;
      if (existing && isOngoing(existing)) {
        return conflict(
          `a rollout of ${functionName} is ${existing.status}; pause, roll back or wait for it`,
          { field: "functionName", status: existing.status },
        );
      }
      const now = this.#ctx.now();
      const steps = body.steps ?? [...this.#defaults.steps];
      const analysis = mergeAnalysis(this.#defaults.analysis, body.analysis);
      const state = await store.put({
        functionName,
        status: "running",
        steps,
        rollbackSteps: [],
        currentStep: 0,
        holdSeconds: body.holdSeconds ?? this.#defaults.holdSeconds,
        analysis,
        consecutiveFailures: 0,
        stepEnteredAt: now,
        lastEvaluatedAt: null,
        lastHealth: null,
        pausedFrom: null,
        abortReason: null,
        attempt: (existing?.attempt ?? 0) + 1,
        startedBy: actor.by,
        updatedBy: actor.by,
        startedAt: now,
        finishedAt: null,
      });
      await setRolloutPercentage(
        unit,
        functionName,
        steps[0]!,
        actor.by,
        reason ?? "rollout started",
      );
      await writeOpsLog(unit.tx, {
        component: rolloutComponent(functionName),
        phase: "start",
        status: "started",
        message: reason ?? null,
        metadata: {
          by: actor.by,
          steps,
          holdSeconds: state.holdSeconds,
          analysis,
          percentage: steps[0],
          attempt: state.attempt,
        },
      });
      await unit.alert({
        kind: "rollout_started",
        severity: "info",
        functionName,
        title: `Rollout of ${functionName} started at ${steps[0]} % (plan ${steps.join(" → ")} %)`,
        details: { percentage: steps[0], step: `1/${steps.length}`, by: actor.by, reason },
      });
      return ok(state);
    });
  }

  /** Restarts an aborted rollout (from its first step, or `fromStep`). */
  retry(functionName: string, input: unknown, actor: Actor) {
    return this.#locked("retry rollout", functionName, retryInputSchema, input, async (
      { unit, store, existing, body },
    ) => {
      const reason = body.reason ?? actor.reason;
      if (!existing) return err(notFound(functionName));
      if (existing.status !== "aborted") {
        return conflict(
          `only an aborted rollout can be retried; ${functionName} is ${existing.status}`,
          {
            status: existing.status,
          },
        );
      }
      const fromStep = body.fromStep ?? 0;
      if (fromStep >= existing.steps.length) {
        return err(
          new AppError(
            "validation_failed",
            `fromStep: the plan has ${existing.steps.length} steps`,
            {
              field: "fromStep",
            },
          ),
        );
      }
      const now = this.#ctx.now();
      const percentage = existing.steps[fromStep]!;
      const state = await store.put({
        ...existing,
        status: "running",
        currentStep: fromStep,
        consecutiveFailures: 0,
        stepEnteredAt: now,
        lastEvaluatedAt: null,
        lastHealth: null,
        abortReason: null,
        attempt: existing.attempt + 1,
        updatedBy: actor.by,
        startedAt: now,
        finishedAt: null,
      });
      await setRolloutPercentage(
        unit,
        functionName,
        percentage,
        actor.by,
        reason ?? "rollout retried",
      );
      await writeOpsLog(unit.tx, {
        component: rolloutComponent(functionName),
        phase: "retry",
        status: "started",
        message: reason ?? null,
        metadata: {
          by: actor.by,
          percentage,
          step: fromStep,
          attempt: state.attempt,
          previousAbortReason: existing.abortReason,
        },
      });
      return ok(state);
    });
  }

  pause(functionName: string, input: unknown, actor: Actor) {
    return this.#locked("pause rollout", functionName, reasonInputSchema, input, async (
      { unit, store, existing, body },
    ) => {
      const reason = body.reason ?? actor.reason;
      if (!existing) return err(notFound(functionName));
      if (existing.status !== "running" && existing.status !== "rolling_back") {
        return conflict(`${functionName}'s rollout is ${existing.status}, not running`, {
          status: existing.status,
        });
      }
      const state = await store.put({
        ...existing,
        status: "paused",
        pausedFrom: existing.status,
        updatedBy: actor.by,
      });
      await writeOpsLog(unit.tx, {
        component: rolloutComponent(functionName),
        phase: "pause",
        status: "info",
        message: reason ?? null,
        metadata: { by: actor.by, percentage: targetPercentage(state), from: existing.status },
      });
      return ok(state);
    });
  }

  /** Resumes a paused rollout at its current step (the hold time starts again). */
  resume(functionName: string, input: unknown, actor: Actor) {
    return this.#locked("resume rollout", functionName, reasonInputSchema, input, async (
      { unit, store, existing, body },
    ) => {
      const reason = body.reason ?? actor.reason;
      if (!existing) return err(notFound(functionName));
      if (existing.status !== "paused" || !existing.pausedFrom) {
        return conflict(`${functionName}'s rollout is ${existing.status}, not paused`, {
          status: existing.status,
        });
      }
      const state = await store.put({
        ...existing,
        status: existing.pausedFrom,
        pausedFrom: null,
        consecutiveFailures: 0,
        stepEnteredAt: this.#ctx.now(),
        lastEvaluatedAt: null,
        updatedBy: actor.by,
      });
      // An operator may have set the percentage by hand while it was paused: the plan resumes.
      const percentage = targetPercentage(state);
      await setRolloutPercentage(
        unit,
        functionName,
        percentage,
        actor.by,
        reason ?? "rollout resumed",
      );
      await writeOpsLog(unit.tx, {
        component: rolloutComponent(functionName),
        phase: "resume",
        status: "info",
        message: reason ?? null,
        metadata: { by: actor.by, percentage, status: state.status },
      });
      return ok(state);
    });
  }

  /**
   * Planned rollback: steps the function down (default 75 → 50 → 25 → 10 → 0, only the steps
   * below its current percentage), one step per hold, with health checks between steps.
   */
  rollback(functionName: string, input: unknown, actor: Actor) {
    return this.#locked(
      "start planned rollback",
      functionName,
      plannedRollbackInputSchema,
      input,
      async (
        { unit, store, existing, body },
      ) => {
        const reason = body.reason ?? actor.reason;
        if (
          existing &&
          (existing.status === "rolling_back" ||
            (existing.status === "paused" && existing.pausedFrom === "rolling_back"))
        ) {
          return conflict(`a planned rollback of ${functionName} is already ${existing.status}`, {
            status: existing.status,
          });
        }
        const rows = await unit.flags.rowsFor(functionName);
        if (!rows.ok) return rows;
        const current = effectivePercentage(
          rows.value.function,
          rows.value.global,
          this.#envPercentage,
        );
        if (current <= 0) {
          return conflict(`${functionName} already serves 0 % through the abstracted path`, {
            percentage: current,
          });
        }
        const plan = body.steps ?? [...this.#defaults.rollbackSteps];
        const sequence = plan.filter((p) => p < current);
        if (sequence[sequence.length - 1] !== 0) sequence.push(0);
        const now = this.#ctx.now();
        const first = sequence[0]!;
        const state = await store.put({
          functionName,
          status: first === 0 ? "rolled_back" : "rolling_back",
          steps: existing?.steps ?? [...this.#defaults.steps],
          rollbackSteps: sequence,
          currentStep: 0,
          holdSeconds: body.holdSeconds ?? existing?.holdSeconds ??
            this.#defaults.holdSeconds,
          analysis: existing?.analysis ?? this.#defaults.analysis,
          consecutiveFailures: 0,
          stepEnteredAt: now,
          lastEvaluatedAt: null,
          lastHealth: null,
          pausedFrom: null,
          abortReason: null,
          attempt: existing?.attempt ?? 1,
          startedBy: existing?.startedBy ?? actor.by,
          updatedBy: actor.by,
          startedAt: existing?.startedAt ?? now,
          finishedAt: first === 0 ? now : null,
        });
        await setRolloutPercentage(
          unit,
          functionName,
          first,
          actor.by,
          reason ?? "planned rollback",
        );
        await writeOpsLog(unit.tx, {
          component: rolloutComponent(functionName),
          phase: "planned_rollback",
          status: first === 0 ? "completed" : "started",
          message: reason ?? null,
          metadata: { by: actor.by, from: current, steps: sequence, percentage: first },
        });
        await unit.alert({
          kind: "planned_rollback_started",
          severity: "warning",
          functionName,
          title: `Planned rollback of ${functionName} from ${current} %: ${sequence.join(" → ")} %`,
          details: { percentage: first, by: actor.by, reason },
        });
        return ok(state);
      },
    );
  }

  /** Canary levers of one function (enable, percentage, selection, lists), audited. */
  setCanary(functionName: string, input: unknown, actor: Actor) {
    return this.#locked(
      "set canary",
      functionName,
      canaryInputSchema,
      input,
      async ({ unit, body }) => {
        const patch = Object.fromEntries(
          Object.entries({
            canaryEnabled: body.enabled,
            canaryPercentage: body.percentage,
            canarySelection: body.selection,
            canaryWhitelist: body.whitelist,
            canaryEmailDomains: body.emailDomains,
          }).filter(([, value]) => value !== undefined),
        );
        const reason = body.reason ?? actor.reason ?? "canary set by an operator";
        const flags = await unit.setFlags(functionName, patch, { updatedBy: actor.by, reason });
        await writeOpsLog(unit.tx, {
          component: rolloutComponent(functionName),
          phase: "canary",
          status: "info",
          message: reason,
          metadata: { ...patch, by: actor.by },
        });
        return ok(flags);
      },
    );
  }

  /**
   * Sets a function's rollout percentage by hand. A running rollout (or planned rollback) is
   * paused first, so the controller does not undo the operator's change at its next step.
   */
  setPercentage(functionName: string, input: unknown, actor: Actor) {
    return this.#locked(
      "set rollout percentage",
      functionName,
      percentageInputSchema,
      input,
      async (
        { unit, store, existing, body },
      ) => {
        const reason = body.reason ?? actor.reason ?? "percentage set by an operator";
        let rollout = existing;
        if (existing && (existing.status === "running" || existing.status === "rolling_back")) {
          rollout = await store.put({
            ...existing,
            status: "paused",
            pausedFrom: existing.status,
            updatedBy: actor.by,
          });
        }
        const before = await unit.flags.get(functionName);
        const flags = await unit.setFlags(functionName, {
          rolloutPercentage: body.percentage,
        }, {
          updatedBy: actor.by,
          reason,
        });
        await writeOpsLog(unit.tx, {
          component: rolloutComponent(functionName),
          phase: "set_percentage",
          status: "info",
          message: reason,
          metadata: {
            by: actor.by,
            percentage: body.percentage,
            previous: before.ok ? before.value?.rolloutPercentage ?? null : null,
            pausedRollout: rollout !== existing,
          },
        });
        return ok({ flags, rollout });
      },
    );
  }

  // ---------------------------------------------------------------- scheduled evaluation

  /**
   * Evaluates every active rollout once, runs the always-on watch (every tick, rollout or not),
   * then delivers due alerts. Never throws.
   */
  async evaluateRollouts(now: Date = this.#ctx.now()): Promise<EvaluationReport> {
    let names: string[];
    try {
      names = await new RolloutStore(this.#ctx.sql).activeFunctionNames();
    } catch (error) {
      this.#ctx.logger.error("could not list active rollouts", { error });
      names = [];
    }
    const results: EvaluationResult[] = [];
    for (const functionName of names) {
      // One broken rollout (or a bad row) must not stop the others from being evaluated.
      const outcome = await this.#ctx.transact(
        "evaluate rollout",
        (unit) => evaluateRollout(unit, functionName, now),
        { deliverAlerts: false },
      );
      results.push(
        outcome.ok
          ? outcome.value
          : { functionName, action: "error", reasons: [outcome.error.message] },
      );
    }
    const watch = await this.#runWatch(now);
    const alerts = this.#ctx.alerts ? await this.#ctx.alerts.deliverDue() : null;
    return { evaluatedAt: now.toISOString(), results, watch, alerts };
  }

  async #runWatch(now: Date): Promise<WatchReport | null> {
    const thresholds = this.#watch;
    if (thresholds === false) return null;
    const outcome = await this.#ctx.transact(
      "health watch",
      async (unit) => ok(await runWatch(unit.tx, (alert) => unit.alert(alert), thresholds, now)),
      { deliverAlerts: false },
    );
    return outcome.ok ? outcome.value : null;
  }

  // ---------------------------------------------------------------- helpers

  /** Reads outside a transaction go through the same store the flags cache uses. */
  #flagsStore(): RuntimeFlagsStore {
    return new RuntimeFlagsStore(this.#ctx.sql);
  }

  #view(
    functionName: string,
    rollout: RolloutState | null,
    fnRow: RuntimeFlagsRow | null,
    globalRow: RuntimeFlagsRow | null,
  ): RolloutView {
    return {
      functionName,
      rollout,
      effectivePercentage: effectivePercentage(fnRow, globalRow, this.#envPercentage),
      killSwitch: globalRow?.forceOriginal === true || fnRow?.forceOriginal === true,
      flags: { function: fnRow, global: globalRow },
    };
  }

  /**
   * The frame of every operator action on one rollout: the input and the name are validated,
   * then `act` runs in one transaction holding the rollout's row lock (`existing` is null when
   * the function never had a rollout).
   */
  #locked<S extends z.ZodType, T>(
    action: string,
    functionName: string,
    schema: S,
    input: unknown,
    act: (locked: {
      unit: UnitOfWork;
      store: RolloutStore;
      existing: RolloutState | null;
      body: z.output<S>;
    }) => Promise<Result<T, AppError>>,
  ): Promise<Result<T, AppError>> {
    const parsed = parseInput(schema, input);
    if (!parsed.ok) return Promise.resolve(parsed);
    const invalid = this.#checkName(functionName);
    if (invalid) return Promise.resolve(err(invalid));
    return this.#ctx.transact(action, async (unit) => {
      const store = new RolloutStore(unit.tx);
      return await act({
        unit,
        store,
        existing: await store.lock(functionName),
        body: parsed.value,
      });
    });
  }

  #checkName(functionName: string): AppError | null {
    if (!ROLLOUT_FUNCTION_NAME.test(functionName)) {
      return new AppError(
        "validation_failed",
        "functionName must be a function name (lower-case letters, digits, '-')",
        { field: "functionName" },
      );
    }
    if (this.#known && !this.#known.has(functionName)) {
      return new AppError("not_found", `no function named ${functionName}`, {
        field: "functionName",
        known: [...this.#known],
      });
    }
    return null;
  }
}

function isOngoing(state: RolloutState): boolean {
  return state.status === "running" || state.status === "paused" || state.status === "rolling_back";
}

function notFound(functionName: string): AppError {
  return new AppError("not_found", `no rollout of ${functionName}`, { field: "functionName" });
}

/** The percentage routing uses: the function's row, else the global row, else the env. */
export function effectivePercentage(
  fnRow: RuntimeFlagsRow | null,
  globalRow: RuntimeFlagsRow | null,
  envPercentage: number,
): number {
  return fnRow?.rolloutPercentage ?? globalRow?.rolloutPercentage ?? envPercentage;
}
