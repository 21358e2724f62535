/**
 * Operator actions on the migration stages: read them, check a gate without moving, move.
 * The admin routes, the CLI and the dashboard all call this one service.
 *
 * The rules of a move:
 * - forward, ONE step at a time (a gate is never skipped), through that stage's gate
 *   (gates.ts); leaving supabase_only also needs Better Auth configured (BETTER_AUTH_SECRET);
 * - backward, to any earlier stage, without a gate (the safe direction);
 * - never out of `complete` (final; the table's trigger refuses it too);
 * - every move and every refused move leaves an audit row: who, when, from, to, why, and the
 *   gate's figures.
 */
import type { SqlClient } from "../db/sql-client.ts";
import type { MigrationMode } from "../config/env.ts";
import { evaluateGate, type GateDeps, type GateResult } from "./gates.ts";
import {
  readStageAudit,
  readStageRow,
  StageConflictError,
  type StageRow,
  writeStageMove,
  writeStageRefusal,
} from "./stage-store.ts";
import {
  initialStage,
  type MigrationStage,
  stageBehaviour,
  STAGED_FUNCTIONS,
  type StagedFunction,
  stageIndex,
  STAGES,
} from "./stages.ts";

export interface StageServiceDeps extends GateDeps {
  readonly env: { readonly MIGRATION_MODE: MigrationMode; readonly USE_BETTER_AUTH: boolean };
  /** BETTER_AUTH_SECRET is set: the stages past supabase_only have a Better Auth to use. */
  readonly betterAuthConfigured: boolean;
  /** Called after a move (this process's flags cache; other instances follow within the TTL). */
  readonly onMoved?: (fn: StagedFunction) => void;
}

export interface StageView {
  readonly function: StagedFunction;
  readonly stage: MigrationStage;
  /** "database": a row; "environment": no row yet, seeded from MIGRATION_MODE × USE_BETTER_AUTH. */
  readonly source: "database" | "environment";
  readonly entered_at: string | null;
  readonly updated_by: string | null;
  readonly reason: string | null;
  readonly version: number | null;
  /** The one stage a forward move may go to; null at `complete`. */
  readonly next: MigrationStage | null;
  /** Where a move back may go; empty at `complete` (final) and at the first stage. */
  readonly back_to: readonly MigrationStage[];
  /** What the stage means for this function's requests. */
  readonly writes: string;
  readonly reads: string;
  readonly pinned_to: string | null;
}

export type MoveOutcome =
  | { readonly ok: true; readonly view: StageView; readonly gate: GateResult | null }
  | {
    readonly ok: false;
    readonly status: 404 | 409;
    /** Machine-readable refusal: which rule said no. */
    readonly refusal:
      | "unknown_function"
      | "already_in_stage"
      | "stage_final"
      | "one_step_at_a_time"
      | "better_auth_not_configured"
      | "gate_refused"
      | "concurrent_move";
    readonly message: string;
    readonly from?: MigrationStage;
    readonly to?: MigrationStage;
    readonly gate?: GateResult;
  };

function describe(stage: MigrationStage, fn: StagedFunction) {
  const behaviour = stageBehaviour(stage, fn);
  const writes = {
    supabase_only: "Supabase only",
    dual_write: "both systems, same user id",
    better_auth_only: "Better Auth only",
  }[behaviour.mode];
  const reads = behaviour.mode === "supabase_only"
    ? "Supabase"
    : behaviour.mode === "better_auth_only"
    ? "Better Auth (a user not copied yet: verified against Supabase and copied)"
    : behaviour.pin === "original"
    ? "Supabase (routed users shadowed)"
    : behaviour.betterAuthPrimary
    ? "system of record: Better Auth for routed users once in sync, else Supabase"
    : "system of record: Supabase (Better Auth for canary users)";
  return {
    writes: behaviour.pin === "original" ? "Supabase only" : writes,
    reads,
    pinned_to: behaviour.pin ?? null,
  };
}

/** What an operator sees of one function's stage (the API, the CLI and the dashboard). */
export function stageView(
  fn: StagedFunction,
  row: StageRow | null,
  seed: MigrationStage,
): StageView {
  const stage = row?.stage ?? seed;
  const index = stageIndex(stage);
  return {
    function: fn,
    stage,
    source: row ? "database" : "environment",
    entered_at: row?.enteredAt.toISOString() ?? null,
    updated_by: row?.updatedBy ?? null,
    reason: row?.reason ?? null,
    version: row?.version ?? null,
    next: stage === "complete" ? null : STAGES[index + 1]!,
    back_to: stage === "complete" ? [] : STAGES.slice(0, index).reverse(),
    ...describe(stage, fn),
  };
}

export class StageService {
  constructor(private readonly deps: StageServiceDeps) {}

  #seed(): MigrationStage {
    return initialStage(this.deps.env);
  }

  #view(fn: StagedFunction, row: StageRow | null): StageView {
    return stageView(fn, row, this.#seed());
  }

  get sql(): SqlClient {
    return this.deps.sql;
  }

  async list(): Promise<StageView[]> {
    const views: StageView[] = [];
    for (const fn of Object.keys(STAGED_FUNCTIONS) as StagedFunction[]) {
      views.push(this.#view(fn, await readStageRow(this.deps.sql, fn)));
    }
    return views;
  }

  async get(fn: StagedFunction): Promise<StageView> {
    return this.#view(fn, await readStageRow(this.deps.sql, fn));
  }

  /** The gate of the next stage, evaluated now, without moving (the dashboard's "check"). */
  async check(fn: StagedFunction): Promise<{ view: StageView; gate: GateResult | null }> {
    const row = await readStageRow(this.deps.sql, fn);
    const view = this.#view(fn, row);
    if (!view.next) return { view, gate: null };
    return {
      view,
      gate: await evaluateGate(this.deps, view.next, {
        functionName: fn,
        enteredAt: row?.enteredAt ?? null,
      }),
    };
  }

  audit(fn: StagedFunction | null, limit = 50) {
    return readStageAudit(this.deps.sql, fn, limit);
  }

  async move(
    fn: string,
    input: { to: MigrationStage; reason: string; actor: string },
  ): Promise<MoveOutcome> {
    if (!Object.hasOwn(STAGED_FUNCTIONS, fn)) {
      return {
        ok: false,
        status: 404,
        refusal: "unknown_function",
        message: `${fn} has no migration stages (staged: ${
          Object.keys(STAGED_FUNCTIONS).join(", ")
        })`,
      };
    }
    const staged = fn as StagedFunction;
    const row = await readStageRow(this.deps.sql, staged);
    const from = row?.stage ?? this.#seed();
    const { to, reason, actor } = input;
    const refuse = (
      refusal: Exclude<MoveOutcome, { ok: true }>["refusal"],
      message: string,
      gate?: GateResult,
    ): MoveOutcome => ({ ok: false, status: 409, refusal, message, from, to, gate });
    if (from === "complete") {
      return refuse("stage_final", `${fn} is complete, which is final`);
    }
    if (from === to) return refuse("already_in_stage", `${fn} is already in ${to}`);
    const forward = stageIndex(to) > stageIndex(from);
    let gate: GateResult | null = null;
    if (forward) {
      if (stageIndex(to) !== stageIndex(from) + 1) {
        return refuse(
          "one_step_at_a_time",
          `${fn} moves forward one stage at a time: from ${from} the next stage is ${
            STAGES[stageIndex(from) + 1]
          }`,
        );
      }
      if (!this.deps.betterAuthConfigured) {
        return refuse(
          "better_auth_not_configured",
          `${to} needs Better Auth: set BETTER_AUTH_SECRET for the functions first`,
        );
      }
      gate = await evaluateGate(this.deps, to, {
        functionName: staged,
        enteredAt: row?.enteredAt ?? null,
      });
      if (!gate.ok) {
        await writeStageRefusal(this.deps.sql, {
          functionName: staged,
          from,
          to,
          actor,
          reason,
          gate: gateFigures(gate),
        });
        const why = gate.checks.filter((check) => !check.ok).map((check) => check.reason);
        return refuse("gate_refused", `${fn} cannot move to ${to}: ${why.join("; ")}`, gate);
      }
    }
    try {
      const written = await writeStageMove(this.deps.sql, {
        functionName: staged,
        from,
        to,
        actor,
        reason,
        gate: gate ? gateFigures(gate) : { backwards: true },
      });
      this.deps.onMoved?.(staged);
      return { ok: true, view: this.#view(staged, written), gate };
    } catch (error) {
      if (error instanceof StageConflictError) {
        return refuse("concurrent_move", error.message);
      }
      throw error;
    }
  }
}

/** What the audit keeps of a gate: every check's verdict and figures. */
function gateFigures(gate: GateResult): Record<string, unknown> {
  return { ok: gate.ok, checks: gate.checks };
}
