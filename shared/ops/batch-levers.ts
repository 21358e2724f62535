/**
 * The batch migration's operator levers, stored in `batch_controls` (one row) so every worker
 * and every engine call sees them: pause / resume, a throttle in users per second, and an
 * allowed time-of-day window (UTC, may wrap midnight: 22:00–06:00). As the engine's BatchGate
 * they are read before every batch, so a change takes effect at the next batch boundary. An
 * engaged emergency rollback (runtime_flags '*' force_original) holds the batch too: while the
 * operator has sent every function back to the original, the batch writes nothing to Better
 * Auth. Changes are validated, the reason redacted, and audited in migration_log.
 */
import { z } from "zod";
import type { BatchGate, BatchHold, BatchVerdict } from "../batch/gate.ts";
import type { SqlClient } from "../db/sql-client.ts";
import { GLOBAL_FLAGS_NAME } from "../flags/types.ts";
import { redactString } from "../observability/redact.ts";
import { AppError, ok, type Result } from "../result.ts";
import { parseInput } from "./analysis.ts";
import { writeOpsLog } from "./audit.ts";
import type { OpsContext } from "./context.ts";
import type { Actor } from "./types.ts";

export interface BatchControls {
  readonly paused: boolean;
  readonly maxUsersPerSecond: number | null;
  /** "HH:MM" UTC, both or neither. */
  readonly window: { readonly start: string; readonly end: string } | null;
  readonly reason: string | null;
  readonly updatedBy: string | null;
  readonly updatedAt: string | null;
}

export interface BatchLeverState extends BatchControls {
  /** Whether the batch may write now, and why not. */
  readonly hold: BatchHold | null;
}

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "expected HH:MM (UTC)");

export const batchControlsSchema = z.strictObject({
  paused: z.boolean().optional(),
  /** null removes the throttle. */
  maxUsersPerSecond: z.number().gt(0).max(1_000_000).nullable().optional(),
  /** null removes the window. */
  window: z.strictObject({ start: hhmm, end: hhmm }).refine((w) => w.start !== w.end, {
    message: "start and end must differ",
  }).nullable().optional(),
  reason: z.string().trim().min(1).max(500).transform((text) => redactString(text)).optional(),
});

const DEFAULTS: BatchControls = {
  paused: false,
  maxUsersPerSecond: null,
  window: null,
  reason: null,
  updatedBy: null,
  updatedAt: null,
};

interface Row {
  paused: boolean;
  max_users_per_second: number | null;
  window_start: string | null;
  window_end: string | null;
  reason: string | null;
  updated_by: string | null;
  updated_at: Date | string | null;
  kill: boolean | null;
}

async function readRow(sql: SqlClient): Promise<Row | undefined> {
  const { rows } = await sql.query<Row>(
    `SELECT c.paused, c.max_users_per_second,
            to_char(c.window_start, 'HH24:MI') AS window_start,
            to_char(c.window_end, 'HH24:MI') AS window_end,
            c.reason, c.updated_by, c.updated_at,
            (SELECT force_original FROM runtime_flags WHERE function_name = $1) AS kill
       FROM (SELECT 1) AS one LEFT JOIN batch_controls c ON true`,
    [GLOBAL_FLAGS_NAME],
  );
  return rows[0];
}

function controlsOf(row: Row | undefined): BatchControls {
  if (!row || row.paused === null || row.paused === undefined) return DEFAULTS;
  return {
    paused: row.paused,
    maxUsersPerSecond: row.max_users_per_second === null ? null : Number(row.max_users_per_second),
    window: row.window_start && row.window_end
      ? { start: row.window_start, end: row.window_end }
      : null,
    reason: row.reason,
    updatedBy: row.updated_by,
    updatedAt: row.updated_at === null
      ? null
      : (row.updated_at instanceof Date ? row.updated_at : new Date(row.updated_at)).toISOString(),
  };
}

/** Whether `now` (UTC) lies in [start, end), wrapping midnight when end < start. */
export function insideWindow(window: BatchControls["window"], now: Date): boolean {
  if (!window) return true;
  const minutes = now.getUTCHours() * 60 + now.getUTCMinutes();
  const toMinutes = (text: string) => Number(text.slice(0, 2)) * 60 + Number(text.slice(3, 5));
  const start = toMinutes(window.start), end = toMinutes(window.end);
  return start < end ? minutes >= start && minutes < end : minutes >= start || minutes < end;
}

function holdOf(controls: BatchControls, kill: boolean, now: Date): BatchHold | null {
  if (kill) return "emergency_rollback";
  if (controls.paused) return "paused";
  if (!insideWindow(controls.window, now)) return "outside_window";
  return null;
}

/** The engine's gate over the stored levers (read on every check: no cache, a lever is a brake). */
export class BatchLevers implements BatchGate {
  constructor(
    private readonly sql: SqlClient,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async state(now: Date = this.now()): Promise<BatchLeverState> {
    const row = await readRow(this.sql);
    const controls = controlsOf(row);
    return { ...controls, hold: holdOf(controls, row?.kill === true, now) };
  }

  async check(now: Date = this.now()): Promise<BatchVerdict> {
    const state = await this.state(now);
    return {
      ...(state.hold && { hold: state.hold }),
      maxUsersPerSecond: state.maxUsersPerSecond,
    };
  }
}

/** Changes the levers (admin API, CLI, dashboard), audited in the same transaction. */
export async function setBatchControls(
  ctx: OpsContext,
  input: unknown,
  actor: Actor,
): Promise<Result<BatchLeverState, AppError>> {
  const parsed = parseInput(batchControlsSchema, input);
  if (!parsed.ok) return parsed;
  const patch = parsed.value;
  if (
    patch.paused === undefined && patch.maxUsersPerSecond === undefined &&
    patch.window === undefined
  ) {
    return {
      ok: false,
      error: new AppError("validation_failed", "body: name at least one lever", {
        field: "body",
      }),
    };
  }
  return await ctx.transact("set batch levers", async (unit) => {
    const current = controlsOf(await readRow(unit.tx));
    const next = {
      paused: patch.paused ?? current.paused,
      maxUsersPerSecond: patch.maxUsersPerSecond === undefined
        ? current.maxUsersPerSecond
        : patch.maxUsersPerSecond,
      window: patch.window === undefined ? current.window : patch.window,
    };
    await unit.tx.query(
      `INSERT INTO batch_controls AS c (id, paused, max_users_per_second, window_start, window_end,
                                        reason, updated_by, updated_at)
       VALUES (true, $1, $2, $3::time, $4::time, $5, $6, now())
       ON CONFLICT (id) DO UPDATE SET paused = EXCLUDED.paused,
         max_users_per_second = EXCLUDED.max_users_per_second,
         window_start = EXCLUDED.window_start, window_end = EXCLUDED.window_end,
         reason = EXCLUDED.reason, updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [
        next.paused,
        next.maxUsersPerSecond,
        next.window?.start ?? null,
        next.window?.end ?? null,
        patch.reason ?? null,
        actor.by,
      ],
    );
    await writeOpsLog(unit.tx, {
      component: "ops:batch",
      phase: patch.paused === true ? "pause" : patch.paused === false ? "resume" : "levers",
      status: "completed",
      message: patch.reason ?? null,
      metadata: { ...next, by: actor.by },
    });
    const state = await new BatchLevers(unit.tx, ctx.now).state();
    return ok(state);
  });
}
