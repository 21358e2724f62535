/**
 * The rollouts table: one row per function, read and written inside the controller's
 * transactions. `lock()` takes the row lock every state change goes through, so two evaluators
 * (two cron ticks, a cron tick and an operator) never act on the same rollout at once.
 */
import type { SqlClient } from "../db/sql-client.ts";
import { analysisFromJson } from "./analysis.ts";
import type { HealthReport, RolloutState, RolloutStatus } from "./types.ts";

const COLUMNS = `function_name, status, steps, rollback_steps, current_step, hold_seconds, analysis,
  consecutive_failures, step_entered_at, last_evaluated_at, last_health, paused_from, abort_reason,
  attempt, started_by, updated_by, started_at, finished_at, updated_at`;

interface Row {
  function_name: string;
  status: RolloutStatus;
  steps: Array<number | string>;
  rollback_steps: Array<number | string>;
  current_step: number;
  hold_seconds: number;
  analysis: unknown;
  consecutive_failures: number;
  step_entered_at: Date | string;
  last_evaluated_at: Date | string | null;
  last_health: HealthReport | null;
  paused_from: "running" | "rolling_back" | null;
  abort_reason: string | null;
  attempt: number;
  started_by: string | null;
  updated_by: string | null;
  started_at: Date | string;
  finished_at: Date | string | null;
  updated_at: Date | string;
}

const toDate = (value: Date | string) => value instanceof Date ? value : new Date(value);
const toDateOrNull = (value: Date | string | null) => value === null ? null : toDate(value);

function toState(row: Row): RolloutState {
  return {
    functionName: row.function_name,
    status: row.status,
    // numeric[] arrives as strings on some drivers; numbers elsewhere.
    steps: (row.steps ?? []).map(Number),
    rollbackSteps: (row.rollback_steps ?? []).map(Number),
    currentStep: Number(row.current_step),
    holdSeconds: Number(row.hold_seconds),
    analysis: analysisFromJson(row.analysis),
    consecutiveFailures: Number(row.consecutive_failures),
    stepEnteredAt: toDate(row.step_entered_at),
    lastEvaluatedAt: toDateOrNull(row.last_evaluated_at),
    lastHealth: row.last_health ?? null,
    pausedFrom: row.paused_from,
    abortReason: row.abort_reason,
    attempt: Number(row.attempt),
    startedBy: row.started_by,
    updatedBy: row.updated_by,
    startedAt: toDate(row.started_at),
    finishedAt: toDateOrNull(row.finished_at),
    updatedAt: toDate(row.updated_at),
  };
}

/** numeric[] travels as JSON text: the same SQL on PGlite and postgres.js (prepared or not). */
const NUMERIC_ARRAY = (param: string) =>
  `ARRAY(SELECT jsonb_array_elements_text(${param}::text::jsonb)::numeric)`;

export class RolloutStore {
  constructor(private readonly sql: SqlClient) {}

  async get(functionName: string): Promise<RolloutState | null> {
    const { rows } = await this.sql.query<Row>(
      `SELECT ${COLUMNS} FROM rollouts WHERE function_name = $1`,
      [functionName],
    );
    return rows[0] ? toState(rows[0]) : null;
  }

  async list(): Promise<RolloutState[]> {
    const { rows } = await this.sql.query<Row>(
      `SELECT ${COLUMNS} FROM rollouts ORDER BY function_name`,
    );
    return rows.map(toState);
  }

  /**
   * Locks the row for the rest of the transaction. `skipLocked`: return null instead of waiting
   * when another transaction holds it (the scheduled evaluation moves on to the next rollout).
   */
  async lock(functionName: string, options: { skipLocked?: boolean } = {}) {
    const { rows } = await this.sql.query<Row>(
      `SELECT ${COLUMNS} FROM rollouts WHERE function_name = $1
       FOR UPDATE${options.skipLocked ? " SKIP LOCKED" : ""}`,
      [functionName],
    );
    return rows[0] ? toState(rows[0]) : null;
  }

  /** Functions whose rollout the scheduled evaluation acts on. */
  async activeFunctionNames(): Promise<string[]> {
    const { rows } = await this.sql.query<{ function_name: string }>(
      `SELECT function_name FROM rollouts WHERE status IN ('running', 'rolling_back')
       ORDER BY function_name`,
    );
    return rows.map((row) => row.function_name);
  }

  /** Inserts, or replaces a finished rollout of the same function (attempt counts up). */
  async put(state: Omit<RolloutState, "updatedAt" | "finishedAt"> & { finishedAt?: Date | null }) {
    const { rows } = await this.sql.query<Row>(
      `INSERT INTO rollouts (function_name, status, steps, rollback_steps, current_step,
         hold_seconds, analysis, consecutive_failures, step_entered_at, last_evaluated_at,
         last_health, paused_from, abort_reason, attempt, started_by, updated_by, started_at,
         finished_at)
       VALUES ($1, $2, ${NUMERIC_ARRAY("$3")}, ${NUMERIC_ARRAY("$4")}, $5, $6, $7::text::jsonb, $8,
         $9::timestamptz, $10::timestamptz, $11::text::jsonb, $12, $13, $14, $15, $16,
         $17::timestamptz, $18::timestamptz)
       ON CONFLICT (function_name) DO UPDATE SET
         status = EXCLUDED.status, steps = EXCLUDED.steps,
         rollback_steps = EXCLUDED.rollback_steps, current_step = EXCLUDED.current_step,
         hold_seconds = EXCLUDED.hold_seconds, analysis = EXCLUDED.analysis,
         consecutive_failures = EXCLUDED.consecutive_failures,
         step_entered_at = EXCLUDED.step_entered_at,
         last_evaluated_at = EXCLUDED.last_evaluated_at, last_health = EXCLUDED.last_health,
         paused_from = EXCLUDED.paused_from, abort_reason = EXCLUDED.abort_reason,
         attempt = EXCLUDED.attempt, started_by = EXCLUDED.started_by,
         updated_by = EXCLUDED.updated_by, started_at = EXCLUDED.started_at,
         finished_at = EXCLUDED.finished_at, updated_at = now()
       RETURNING ${COLUMNS}`,
      [
        state.functionName,
        state.status,
        JSON.stringify(state.steps),
        JSON.stringify(state.rollbackSteps),
        state.currentStep,
        state.holdSeconds,
        JSON.stringify(state.analysis),
        state.consecutiveFailures,
        state.stepEnteredAt.toISOString(),
        state.lastEvaluatedAt?.toISOString() ?? null,
        state.lastHealth === null ? null : JSON.stringify(state.lastHealth),
        state.pausedFrom,
        state.abortReason,
        state.attempt,
        state.startedBy,
        state.updatedBy,
        state.startedAt.toISOString(),
        state.finishedAt?.toISOString() ?? null,
      ],
    );
    return toState(rows[0]!);
  }
}
