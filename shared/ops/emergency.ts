/**
 * Emergency rollback: one call forces the original implementation for EVERY function, by setting
 * force_original on the global '*' runtime_flags row (the kill switch; resolveRoutingConfig lets
 * a `true` there win over any function row). Every running instance re-reads the flags within
 * the cache TTL (≤ 5 s), so it takes effect everywhere without a redeploy.
 *
 * Rollout percentages are left as they were, so lifting the switch (`release`) restores exactly
 * the state before the incident; rollouts in progress see no abstracted traffic meanwhile and
 * simply hold (inconclusive windows never advance).
 */
import { GLOBAL_FLAGS_NAME } from "../flags/types.ts";
import { ok, type Result } from "../result.ts";
import type { AppError } from "../result.ts";
import { emergencyInputSchema, parseInput, undoEmergencyInputSchema } from "./analysis.ts";
import { OPS_COMPONENT, writeOpsLog } from "./audit.ts";
import type { OpsContext } from "./context.ts";
import type { Actor } from "./types.ts";

export interface KillSwitchState {
  readonly engaged: boolean;
  /** False when the call found the switch already in the requested position. */
  readonly changed: boolean;
  readonly updatedBy: string | null;
  readonly reason: string | null;
  readonly updatedAt: Date | null;
  /** runtime_flags version of the '*' row after the change. */
  readonly version: number | null;
}

export class EmergencySwitch {
  constructor(private readonly ctx: OpsContext) {}

  async state(): Promise<Result<KillSwitchState, AppError>> {
    return await this.ctx.transact("read the kill switch", async (unit) => {
      const row = await unit.flags.get(GLOBAL_FLAGS_NAME);
      if (!row.ok) return row;
      return ok({
        engaged: row.value?.forceOriginal === true,
        changed: false,
        updatedBy: row.value?.updatedBy ?? null,
        reason: row.value?.reason ?? null,
        updatedAt: row.value?.updatedAt ?? null,
        version: row.value?.version ?? null,
      });
    });
  }

  /** Forces the original everywhere. Input: `{ confirm: "ROLLBACK", reason }`. */
  engage(input: unknown, actor: Actor): Promise<Result<KillSwitchState, AppError>> {
    const parsed = parseInput(emergencyInputSchema, input);
    if (!parsed.ok) return Promise.resolve(parsed);
    const reason = parsed.value.reason;
    return this.ctx.transact("emergency rollback", async (unit) => {
      const before = await unit.flags.get(GLOBAL_FLAGS_NAME);
      if (!before.ok) return before;
      const already = before.value?.forceOriginal === true;
      const row = await unit.setFlags(GLOBAL_FLAGS_NAME, { forceOriginal: true }, {
        updatedBy: actor.by,
        reason,
      });
      const active = await unit.tx.query<{ function_name: string; status: string }>(
        `SELECT function_name, status FROM rollouts
          WHERE status IN ('running', 'paused', 'rolling_back') ORDER BY function_name`,
      );
      await writeOpsLog(unit.tx, {
        component: OPS_COMPONENT,
        phase: "emergency_rollback",
        status: "completed",
        message: reason,
        metadata: {
          by: actor.by,
          alreadyEngaged: already,
          previousForceOriginal: before.value?.forceOriginal ?? null,
          activeRollouts: active.rows,
          flagsVersion: row.version,
        },
      });
      if (!already) {
        await unit.alert({
          kind: "emergency_rollback",
          severity: "critical",
          functionName: null,
          title:
            `EMERGENCY ROLLBACK: every function now serves the original implementation (${reason})`,
          details: { reason, by: actor.by, activeRollouts: active.rows },
        });
      }
      return ok({
        engaged: true,
        changed: !already,
        updatedBy: row.updatedBy,
        reason: row.reason,
        updatedAt: row.updatedAt,
        version: row.version,
      });
    });
  }

  /**
   * Lifts the kill switch: force_original on '*' goes back to NULL (inherit the environment's
   * FORCE_ORIGINAL_IMPLEMENTATION). Input: `{ confirm: "RESTORE", reason? }`.
   */
  release(input: unknown, actor: Actor): Promise<Result<KillSwitchState, AppError>> {
    const parsed = parseInput(undoEmergencyInputSchema, input);
    if (!parsed.ok) return Promise.resolve(parsed);
    const reason = parsed.value.reason ?? actor.reason ?? "emergency rollback lifted";
    return this.ctx.transact("lift emergency rollback", async (unit) => {
      const before = await unit.flags.get(GLOBAL_FLAGS_NAME);
      if (!before.ok) return before;
      const wasEngaged = before.value?.forceOriginal === true;
      const row = await unit.setFlags(GLOBAL_FLAGS_NAME, { forceOriginal: null }, {
        updatedBy: actor.by,
        reason,
      });
      await writeOpsLog(unit.tx, {
        component: OPS_COMPONENT,
        phase: "emergency_rollback",
        status: "info",
        message: `lifted: ${reason}`,
        metadata: { by: actor.by, wasEngaged, flagsVersion: row.version },
      });
      if (wasEngaged) {
        await unit.alert({
          kind: "emergency_rollback_lifted",
          severity: "info",
          functionName: null,
          title: `Emergency rollback lifted: routing follows the runtime flags again (${reason})`,
          details: { reason, by: actor.by },
        });
      }
      return ok({
        engaged: false,
        changed: wasEngaged,
        updatedBy: row.updatedBy,
        reason: row.reason,
        updatedAt: row.updatedAt,
        version: row.version,
      });
    });
  }
}
