/**
 * The gates in front of the stages (stages.ts). Each gate is a list of checks; every check
 * reports its figures whether it passed or not, so a refusal says exactly what to fix, and the
 * audit row of a move keeps the figures it was allowed on.
 *
 * - → better_auth_primary: the shadow DISAGREEMENT rate (mismatches the noise floor does not
 *   explain, shared/migrator/disagreement.ts) of the function since it entered its current stage,
 *   at most MIGRATION_STAGE_MAX_DISAGREEMENT_RATE over at least MIGRATION_STAGE_MIN_COMPARISONS
 *   comparisons; and unresolved dual-write divergences (auth_divergences 'open' or 'failed'),
 *   at most MIGRATION_STAGE_MAX_OPEN_DIVERGENCES.
 * - → better_auth_only: every valid Supabase user (auth.users, not deleted, not refused by the
 *   batch's own validation) has a Better Auth user with the same id; the identity change outbox
 *   is drained both ways with no open capture failure (shared/sync status); the latest completed
 *   batch migration verifies clean (shared/batch/verify.ts); and the dependency report
 *   (dependencies.ts) has no blocking dependency.
 * - → complete: the function has been in better_auth_only for MIGRATION_STAGE_QUIET_PERIOD_MS,
 *   with no fallback of the function and no divergence recorded in the last such period; and
 *   the dependency report has no blocking dependency.
 *
 * No check has a force: a blocking dependency means the app's own database breaks for users who
 * exist only in Better Auth (a foreign key to auth.users, a policy on auth.uid()), and an operator
 * who accepts that can fix or drop the dependency — which is what the report tells them to do.
 * Moving backwards has no gate: going back is the safe direction.
 */
import type { SqlClient } from "../db/sql-client.ts";
import { measureShadowAgreement } from "../migrator/disagreement.ts";
import type { SyncStatus } from "../sync/service.ts";
import type { LatestVerify } from "./verify-latest.ts";
import { REJECT_REASONS } from "../batch/rules.ts";
import { dependencyGate, findAuthDependencies } from "./dependencies.ts";
import type { MigrationStage } from "./stages.ts";

export interface GateSettings {
  /** MIGRATION_STAGE_MAX_DISAGREEMENT_RATE: 0–1. */
  readonly maxDisagreementRate: number;
  /** MIGRATION_STAGE_MIN_COMPARISONS. */
  readonly minComparisons: number;
  /** MIGRATION_STAGE_MAX_OPEN_DIVERGENCES. */
  readonly maxOpenDivergences: number;
  /** MIGRATION_STAGE_QUIET_PERIOD_MS. */
  readonly quietPeriodMs: number;
}

export interface GateDeps {
  readonly sql: SqlClient;
  readonly settings: GateSettings;
  /** shared/sync IdentitySync.status(). */
  readonly syncStatus: () => Promise<SyncStatus>;
  /** The latest batch migration, verified when it completed; null when none ran. */
  readonly verifyLatest: () => Promise<LatestVerify | null>;
  readonly now?: () => Date;
}

export interface GateCheck {
  readonly check: string;
  readonly ok: boolean;
  /** Why it refused (absent when it passed). */
  readonly reason?: string;
  readonly figures: Record<string, unknown>;
}

export interface GateResult {
  readonly to: MigrationStage;
  readonly ok: boolean;
  readonly checks: readonly GateCheck[];
}

export interface GateContext {
  readonly functionName: string;
  /** When the function entered its current stage; null when it has no row (env seed). */
  readonly enteredAt: Date | null;
}

/** The gate of a forward move to `to` (a move backwards has none: call only going forward). */
export async function evaluateGate(
  deps: GateDeps,
  to: MigrationStage,
  context: GateContext,
): Promise<GateResult> {
  const checks: GateCheck[] = [];
  switch (to) {
    case "better_auth_primary":
      checks.push(await shadowCheck(deps, context), await divergenceCheck(deps));
      break;
    case "better_auth_only":
      checks.push(
        await presenceCheck(deps),
        await syncCheck(deps),
        await verifyCheck(deps),
        await dependencyCheck(deps),
      );
      break;
    case "complete":
      checks.push(await quietCheck(deps, context), await dependencyCheck(deps));
      break;
    default:
      break;
  }
  return { to, ok: checks.every((check) => check.ok), checks };
}

function result(
  check: string,
  ok: boolean,
  reason: string,
  figures: Record<string, unknown>,
): GateCheck {
  return ok ? { check, ok, figures } : { check, ok, reason, figures };
}

async function shadowCheck(deps: GateDeps, context: GateContext): Promise<GateCheck> {
  const { maxDisagreementRate, minComparisons } = deps.settings;
  const to = deps.now?.() ?? new Date();
  const from = context.enteredAt ?? new Date(0);
  const agreement = await measureShadowAgreement(deps.sql, context.functionName, from, to);
  const rate = agreement.disagreementRate;
  const enough = agreement.compared >= minComparisons;
  const below = rate === null || rate <= maxDisagreementRate;
  const ok = enough && below;
  const reason = !enough
    ? `${agreement.compared} shadow comparisons since ${from.toISOString()}, ` +
      `at least ${minComparisons} needed`
    : `shadow disagreement rate ${rate} is above ${maxDisagreementRate}`;
  return result("shadow_disagreement", ok, reason, {
    since: from.toISOString(),
    compared: agreement.compared,
    mismatches: agreement.mismatches,
    noise_only: agreement.noiseOnly,
    disagreements: agreement.disagreements,
    disagreement_rate: rate,
    max_disagreement_rate: maxDisagreementRate,
    min_comparisons: minComparisons,
  });
}

async function divergenceCheck(deps: GateDeps): Promise<GateCheck> {
  const { rows } = await deps.sql.query<{ open: number | string; failed: number | string }>(
    `SELECT count(*) FILTER (WHERE status = 'open') AS open,
            count(*) FILTER (WHERE status = 'failed') AS failed
       FROM auth_divergences WHERE status IN ('open', 'failed')`,
  );
  const open = Number(rows[0]?.open ?? 0);
  const failed = Number(rows[0]?.failed ?? 0);
  const max = deps.settings.maxOpenDivergences;
  return result(
    "open_divergences",
    open + failed <= max,
    `${
      open + failed
    } unresolved divergences (${open} open, ${failed} failed), at most ${max} allowed`,
    { open, failed, max_open_divergences: max },
  );
}

async function presenceCheck(deps: GateDeps): Promise<GateCheck> {
  const { rows: exists } = await deps.sql.query<{ present: boolean }>(
    "SELECT to_regclass('auth.users') IS NOT NULL AS present",
  );
  if (!exists[0]?.present) {
    return result("users_in_better_auth", false, "auth.users is not readable in this database", {
      supabase_users: null,
    });
  }
  const { rows } = await deps.sql.query<Record<string, number | string | string[] | null>>(
    `WITH rejected AS (
       SELECT DISTINCT user_id FROM migration_errors
        WHERE user_id IS NOT NULL AND error_code = ANY($1::text[])
     ),
     live AS (
       SELECT u.id, (r.user_id IS NOT NULL) AS rejected
         FROM auth.users u LEFT JOIN rejected r ON r.user_id = u.id::text
        WHERE u.deleted_at IS NULL
     )
     SELECT count(*) FILTER (WHERE NOT rejected) AS valid,
            count(*) FILTER (WHERE rejected) AS rejected,
            count(*) FILTER (WHERE NOT rejected AND NOT EXISTS
              (SELECT 1 FROM "user" b WHERE b.id = live.id)) AS missing,
            (SELECT coalesce(array_agg(id::text ORDER BY id), '{}') FROM (
               SELECT l.id FROM live l
                WHERE NOT l.rejected AND NOT EXISTS (SELECT 1 FROM "user" b WHERE b.id = l.id)
                ORDER BY l.id LIMIT 20) m) AS missing_ids
       FROM live`,
    [[...REJECT_REASONS]],
  );
  const row = rows[0] ?? {};
  const missing = Number(row.missing ?? 0);
  return result(
    "users_in_better_auth",
    missing === 0,
    `${missing} valid Supabase users have no Better Auth user (run the batch migration)`,
    {
      supabase_users: Number(row.valid ?? 0),
      rejected_by_batch: Number(row.rejected ?? 0),
      missing,
      missing_ids: row.missing_ids ?? [],
    },
  );
}

async function syncCheck(deps: GateDeps): Promise<GateCheck> {
  const status = await deps.syncStatus();
  const pending = status.toBetterAuth.pending + status.toSupabase.pending;
  const ok = pending === 0 && status.openCaptureFailures === 0;
  return result(
    "sync_drained",
    ok,
    `identity change outbox not drained: ${status.toBetterAuth.pending} pending toward Better Auth, ` +
      `${status.toSupabase.pending} toward Supabase, ${status.openCaptureFailures} open capture failures`,
    {
      pending_to_better_auth: status.toBetterAuth.pending,
      pending_to_supabase: status.toSupabase.pending,
      stuck_to_better_auth: status.toBetterAuth.stuck,
      stuck_to_supabase: status.toSupabase.stuck,
      open_capture_failures: status.openCaptureFailures,
    },
  );
}

async function verifyCheck(deps: GateDeps): Promise<GateCheck> {
  const latest = await deps.verifyLatest();
  // Users who came through dual write or lazy migration are in no batch migration: presence
  // and the drained outbox cover them; the batch's own copy is held to its checksum here.
  if (!latest) {
    return result("batch_verify", true, "", { migration_id: null, note: "no batch migration ran" });
  }
  const verified = latest.result;
  if (!verified) {
    return result(
      "batch_verify",
      latest.status === "rolled_back",
      `batch migration ${latest.migrationId} is ${latest.status}: let it finish, then verify`,
      { migration_id: latest.migrationId, status: latest.status },
    );
  }
  return result(
    "batch_verify",
    verified.equal,
    `batch migration ${verified.migration_id} does not verify: ${verified.differing} users differ`,
    {
      migration_id: verified.migration_id,
      migrated: verified.migrated,
      matching: verified.matching,
      differing: verified.differing,
      differing_ids: verified.differing_ids.slice(0, 20),
    },
  );
}

async function dependencyCheck(deps: GateDeps): Promise<GateCheck> {
  const gate = dependencyGate(await findAuthDependencies(deps.sql));
  if (gate.ok) return result("auth_dependencies", true, "", { blocking: 0, names: [] });
  return result("auth_dependencies", false, gate.reason, {
    blocking: gate.names.length,
    names: gate.names,
  });
}

async function quietCheck(deps: GateDeps, context: GateContext): Promise<GateCheck> {
  const now = deps.now?.() ?? new Date();
  const quietMs = deps.settings.quietPeriodMs;
  const since = new Date(now.getTime() - quietMs);
  const inStageMs = context.enteredAt ? now.getTime() - context.enteredAt.getTime() : null;
  const { rows } = await deps.sql.query<
    { fallbacks: number | string; divergences: number | string }
  >(
    `SELECT (SELECT count(*) FROM performance_metrics
              WHERE function_name = $1 AND fallback AND recorded_at > $2::timestamptz) AS fallbacks,
            (SELECT count(*) FROM auth_divergences WHERE created_at > $2::timestamptz)
              AS divergences`,
    [context.functionName, since.toISOString()],
  );
  const fallbacks = Number(rows[0]?.fallbacks ?? 0);
  const divergences = Number(rows[0]?.divergences ?? 0);
  const longEnough = inStageMs !== null && inStageMs >= quietMs;
  const reason = !longEnough
    ? `in better_auth_only for ${inStageMs ?? 0} ms of the ${quietMs} ms quiet period`
    : `${fallbacks} fallbacks and ${divergences} divergences in the last ${quietMs} ms`;
  return result("quiet_period", longEnough && fallbacks === 0 && divergences === 0, reason, {
    entered_at: context.enteredAt?.toISOString() ?? null,
    in_stage_ms: inStageMs,
    quiet_period_ms: quietMs,
    fallbacks,
    divergences,
  });
}

/** The gate thresholds from the validated environment (shared/config/env.ts). */
export function gateSettingsFromEnv(env: {
  readonly MIGRATION_STAGE_MAX_DISAGREEMENT_RATE: number;
  readonly MIGRATION_STAGE_MIN_COMPARISONS: number;
  readonly MIGRATION_STAGE_MAX_OPEN_DIVERGENCES: number;
  readonly MIGRATION_STAGE_QUIET_PERIOD_MS: number;
}): GateSettings {
  return {
    maxDisagreementRate: env.MIGRATION_STAGE_MAX_DISAGREEMENT_RATE,
    minComparisons: env.MIGRATION_STAGE_MIN_COMPARISONS,
    maxOpenDivergences: env.MIGRATION_STAGE_MAX_OPEN_DIVERGENCES,
    quietPeriodMs: env.MIGRATION_STAGE_QUIET_PERIOD_MS,
  };
}
