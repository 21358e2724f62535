/**
 * Everything the dashboard shows, read with a handful of aggregate queries (never by loading
 * metric rows into JavaScript): migration progress, per-function flags (resolved over the
 * environment exactly as routing resolves them), rollout state, traffic split and per-path
 * success/error rates and p50/p95 with time buckets for the charts, recent shadow mismatches,
 * migration errors and alerts.
 */
import type { SqlClient } from "../../db/sql-client.ts";
import { resolveRoutingConfig, type RoutingEnv } from "../../flags/resolve.ts";
import { type DivergenceCounts, type DivergenceView, listDivergences } from "../divergences.ts";
import { BatchLevers, type BatchLeverState } from "../batch-levers.ts";
import { RuntimeFlagsStore } from "../../flags/store.ts";
import { GLOBAL_FLAGS_NAME, type RoutingConfig, type RuntimeFlagsRow } from "../../flags/types.ts";
import { redactString } from "../../observability/redact.ts";
import { RolloutStore } from "../rollout-store.ts";
import type { RolloutState } from "../types.ts";
import { listStageRows } from "../../cutover/stage-store.ts";
import { type StageView, stageView } from "../../cutover/stage-service.ts";
import { initialStage, STAGED_FUNCTIONS, type StagedFunction } from "../../cutover/stages.ts";

export interface DashboardOptions {
  readonly routingEnv: RoutingEnv;
  /** Functions always listed, even without flags or traffic. */
  readonly functions?: readonly string[];
  /** Metrics window (default 60 minutes). */
  readonly windowMinutes?: number;
  /** Chart buckets across the window (default 12). */
  readonly buckets?: number;
  /** Rows in the recent mismatches / errors / alerts lists (default 15). */
  readonly recentLimit?: number;
}

export const DEFAULT_FUNCTIONS = ["signup", "login", "coordinator", "migrate-batch"] as const;

export interface MigrationProgress {
  readonly total: number;
  readonly supabaseMigrated: number;
  readonly betterAuthMigrated: number;
  /**
   * Users in both systems with the same id, however they got there (batch, lazy migration on
   * login, dual-write signup); from the two user tables when both exist here, else tracked.
   */
  readonly fullyMigrated: number;
  /** Tracked users whose two records were also compared and found equal. */
  readonly validated: number;
  /** fullyMigrated / total in percent. */
  readonly completionRate: number;
  /** Rows in each system's own user table (null when that table does not exist here). */
  readonly supabaseAuthUsers: number | null;
  readonly betterAuthUsers: number | null;
  readonly migratedUsers: number;
  readonly migratedVia: Readonly<Record<string, number>>;
}

export interface PathStats {
  readonly requests: number;
  readonly successes: number;
  readonly errors: number;
  readonly fallbacks: number;
  readonly successRate: number | null;
  readonly errorRate: number | null;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
}

export interface Bucket {
  readonly start: string;
  readonly requests: number;
  readonly errorRate: number | null;
  readonly p95Ms: number | null;
}

export interface FunctionPanel {
  readonly name: string;
  readonly config: RoutingConfig;
  readonly flagsRow: RuntimeFlagsRow | null;
  readonly rollout: RolloutState | null;
  readonly paths: { readonly original: PathStats; readonly abstracted: PathStats };
  readonly series: { readonly original: Bucket[]; readonly abstracted: Bucket[] };
  /** Share of the window's requests answered by each path, in percent (null without traffic). */
  readonly split: { readonly original: number | null; readonly abstracted: number | null };
}

export interface RecentMismatch {
  readonly createdAt: Date;
  readonly functionName: string;
  readonly operation: string;
  readonly primaryPath: string;
  readonly primaryStatus: number | null;
  readonly shadowStatus: number | null;
  readonly differingPaths: readonly string[];
  readonly shadowError: string | null;
}

export interface RecentError {
  readonly createdAt: Date;
  readonly migrationId: string | null;
  readonly userId: string | null;
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly attempts: number;
}

export interface RecentAlert {
  readonly createdAt: Date;
  readonly severity: string;
  readonly kind: string;
  readonly functionName: string | null;
  readonly title: string;
  readonly delivered: boolean;
  readonly lastError: string | null;
}

export interface DashboardData {
  readonly generatedAt: Date;
  readonly windowMinutes: number;
  readonly bucketMinutes: number;
  readonly progress: MigrationProgress;
  readonly killSwitch: {
    readonly engaged: boolean;
    readonly updatedBy: string | null;
    readonly reason: string | null;
    readonly updatedAt: Date | null;
  };
  readonly functions: readonly FunctionPanel[];
  readonly mismatches: readonly RecentMismatch[];
  readonly errors: readonly RecentError[];
  readonly alerts: readonly RecentAlert[];
  /** The batch levers and whether they hold the batch now. */
  readonly batch: BatchLeverState;
  /** auth_divergences: counts, and the newest rows that still need someone (open or failed). */
  readonly divergences: {
    readonly counts: DivergenceCounts;
    readonly unresolved: readonly DivergenceView[];
  };
  /** The migration stages of the auth functions (shared/cutover), with where each may move. */
  readonly stages: readonly StageView[];
}

const n = (value: unknown): number => Number(value ?? 0);
const nullableNumber = (value: unknown): number | null =>
  value === null || value === undefined ? null : Math.round(Number(value) * 100) / 100;
const ratio = (part: number, whole: number) => (whole > 0 ? part / whole : null);
const toDate = (value: unknown) => value instanceof Date ? value : new Date(String(value));

async function tableCount(sql: SqlClient, qualified: string): Promise<number | null> {
  const { rows } = await sql.query<{ present: boolean }>(
    "SELECT to_regclass($1) IS NOT NULL AS present",
    [qualified],
  );
  if (!rows[0]?.present) return null;
  // `qualified` is one of two constants below, never input.
  const counted = await sql.query<{ n: number }>(`SELECT count(*) AS n FROM ${qualified}`);
  return n(counted.rows[0]?.n);
}

export async function loadProgress(sql: SqlClient): Promise<MigrationProgress> {
  const totals = await sql.query<Record<string, number>>(
    `SELECT count(*) AS total,
            count(*) FILTER (WHERE supabase_migrated) AS supabase,
            count(*) FILTER (WHERE better_auth_migrated) AS better_auth,
            count(*) FILTER (WHERE supabase_migrated AND better_auth_migrated AND data_validated)
              AS fully
       FROM user_migration_status`,
  );
  const via = await sql.query<{ migrated_via: string; n: number }>(
    "SELECT migrated_via, count(*) AS n FROM migrated_users GROUP BY migrated_via ORDER BY 1",
  );
  const t = totals.rows[0] ?? {};
  const supabaseAuthUsers = await tableCount(sql, "auth.users");
  const betterAuthUsers = await tableCount(sql, 'public."user"');
  // The batch and lazy migration write Better Auth directly (not user_migration_status), so the
  // truth is the two user tables: every Supabase user is one to migrate, and it is migrated once
  // Better Auth has it under the same id.
  const inBoth = supabaseAuthUsers !== null && betterAuthUsers !== null
    ? n(
      (await sql.query<{ n: number }>(
        `SELECT count(*) AS n FROM auth.users u WHERE EXISTS (SELECT 1 FROM public."user" b WHERE b.id = u.id)`,
      )).rows[0]?.n,
    )
    : null;
  const total = supabaseAuthUsers ?? n(t.total);
  const fully = inBoth ?? n(t.fully);
  const migratedVia = Object.fromEntries(via.rows.map((row) => [row.migrated_via, n(row.n)]));
  return {
    total,
    supabaseMigrated: supabaseAuthUsers ?? n(t.supabase),
    betterAuthMigrated: betterAuthUsers ?? n(t.better_auth),
    fullyMigrated: fully,
    validated: n(t.fully),
    completionRate: total > 0 ? (fully / total) * 100 : 0,
    supabaseAuthUsers,
    betterAuthUsers,
    migratedUsers: Object.values(migratedVia).reduce((sum, value) => sum + value, 0),
    migratedVia,
  };
}

interface StatsRow {
  function_name: string;
  path: "original" | "abstracted";
  requests: number;
  successes: number;
  errors: number;
  fallbacks: number;
  p50: number | null;
  p95: number | null;
}

interface BucketRow {
  function_name: string;
  path: "original" | "abstracted";
  bucket: number;
  requests: number;
  errors: number;
  p95: number | null;
}

const EMPTY_STATS: PathStats = {
  requests: 0,
  successes: 0,
  errors: 0,
  fallbacks: 0,
  successRate: null,
  errorRate: null,
  p50Ms: null,
  p95Ms: null,
};

function toStats(row: StatsRow | undefined): PathStats {
  if (!row) return EMPTY_STATS;
  const requests = n(row.requests), successes = n(row.successes), errors = n(row.errors);
  return {
    requests,
    successes,
    errors,
    fallbacks: n(row.fallbacks),
    successRate: ratio(successes, requests),
    errorRate: ratio(errors, requests),
    p50Ms: nullableNumber(row.p50),
    p95Ms: nullableNumber(row.p95),
  };
}

export async function loadDashboardData(
  sql: SqlClient,
  options: DashboardOptions,
  now: Date = new Date(),
): Promise<DashboardData> {
  const windowMinutes = options.windowMinutes ?? 60;
  const bucketCount = options.buckets ?? 12;
  const bucketSeconds = (windowMinutes * 60) / bucketCount;
  const limit = options.recentLimit ?? 15;
  const from = new Date(now.getTime() - windowMinutes * 60_000);
  const range = [from.toISOString(), now.toISOString()];

  const flagsResult = await new RuntimeFlagsStore(sql).list();
  if (!flagsResult.ok) throw flagsResult.error;
  const flags = flagsResult.value;
  const globalRow = flags.find((row) => row.functionName === GLOBAL_FLAGS_NAME) ?? null;
  const rollouts = await new RolloutStore(sql).list();

  const stats = await sql.query<StatsRow>(
    `SELECT function_name, path, count(*) AS requests,
            count(*) FILTER (WHERE success) AS successes,
            count(*) FILTER (WHERE status >= 500 OR NOT success) AS errors,
            count(*) FILTER (WHERE fallback) AS fallbacks,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95
       FROM performance_metrics
      WHERE recorded_at > $1::timestamptz AND recorded_at <= $2::timestamptz
      GROUP BY function_name, path`,
    range,
  );
  const buckets = await sql.query<BucketRow>(
    `SELECT function_name, path,
            LEAST(floor(extract(epoch FROM recorded_at - $1::timestamptz) / $3)::int, $4 - 1)
              AS bucket,
            count(*) AS requests,
            count(*) FILTER (WHERE status >= 500 OR NOT success) AS errors,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95
       FROM performance_metrics
      WHERE recorded_at > $1::timestamptz AND recorded_at <= $2::timestamptz
      GROUP BY 1, 2, 3`,
    [...range, bucketSeconds, bucketCount],
  );

  const names = new Set<string>(options.functions ?? DEFAULT_FUNCTIONS);
  for (const row of flags) if (row.functionName !== GLOBAL_FLAGS_NAME) names.add(row.functionName);
  for (const rollout of rollouts) names.add(rollout.functionName);
  for (const row of stats.rows) names.add(row.function_name);

  const series = (fn: string, path: "original" | "abstracted"): Bucket[] =>
    Array.from({ length: bucketCount }, (_, index) => {
      const row = buckets.rows.find((b) =>
        b.function_name === fn && b.path === path && n(b.bucket) === index
      );
      const requests = n(row?.requests);
      return {
        start: new Date(from.getTime() + index * bucketSeconds * 1000).toISOString(),
        requests,
        errorRate: row ? ratio(n(row.errors), requests) : null,
        p95Ms: row ? nullableNumber(row.p95) : null,
      };
    });

  const functions: FunctionPanel[] = [...names].sort().map((name) => {
    const flagsRow = flags.find((row) => row.functionName === name) ?? null;
    const original = toStats(
      stats.rows.find((r) => r.function_name === name && r.path === "original"),
    );
    const abstracted = toStats(
      stats.rows.find((r) => r.function_name === name && r.path === "abstracted"),
    );
    const total = original.requests + abstracted.requests;
    const share = (part: number) => (total > 0 ? (part / total) * 100 : null);
    return {
      name,
      config: resolveRoutingConfig(options.routingEnv, globalRow, flagsRow),
      flagsRow,
      rollout: rollouts.find((r) => r.functionName === name) ?? null,
      paths: { original, abstracted },
      series: { original: series(name, "original"), abstracted: series(name, "abstracted") },
      split: { original: share(original.requests), abstracted: share(abstracted.requests) },
    };
  });

  const mismatches = await sql.query<Record<string, unknown>>(
    `SELECT created_at, function_name, operation, primary_path, primary_status, shadow_status,
            differing_paths, shadow_error
       FROM shadow_comparisons WHERE NOT matched
      ORDER BY created_at DESC, id DESC LIMIT $1`,
    [limit],
  );
  const errors = await sql.query<Record<string, unknown>>(
    `SELECT created_at, migration_id, user_id, error_code, error_message, attempts
       FROM migration_errors ORDER BY created_at DESC, id DESC LIMIT $1`,
    [limit],
  );
  const alerts = await sql.query<Record<string, unknown>>(
    `SELECT created_at, severity, kind, function_name, title, done_at, last_error,
            cardinality(delivered_to) AS delivered_count
       FROM ops_alerts ORDER BY created_at DESC, id DESC LIMIT $1`,
    [limit],
  );

  const divergences = await listDivergences(sql, { limit, unresolved: true });

  return {
    generatedAt: now,
    windowMinutes,
    bucketMinutes: bucketSeconds / 60,
    progress: await loadProgress(sql),
    killSwitch: {
      engaged: globalRow?.forceOriginal === true,
      updatedBy: globalRow?.updatedBy ?? null,
      reason: globalRow?.reason ?? null,
      updatedAt: globalRow?.updatedAt ?? null,
    },
    functions,
    mismatches: mismatches.rows.map((row) => ({
      createdAt: toDate(row.created_at),
      functionName: String(row.function_name),
      operation: String(row.operation),
      primaryPath: String(row.primary_path),
      primaryStatus: row.primary_status === null ? null : n(row.primary_status),
      shadowStatus: row.shadow_status === null ? null : n(row.shadow_status),
      differingPaths: (row.differing_paths as string[] | null) ?? [],
      shadowError: row.shadow_error === null ? null : redactString(String(row.shadow_error)),
    })),
    errors: errors.rows.map((row) => ({
      createdAt: toDate(row.created_at),
      migrationId: (row.migration_id as string | null) ?? null,
      userId: (row.user_id as string | null) ?? null,
      errorCode: String(row.error_code),
      errorMessage: redactString(String(row.error_message)),
      attempts: n(row.attempts),
    })),
    alerts: alerts.rows.map((row) => ({
      createdAt: toDate(row.created_at),
      severity: String(row.severity),
      kind: String(row.kind),
      functionName: (row.function_name as string | null) ?? null,
      title: String(row.title),
      delivered: row.done_at !== null && row.last_error === null,
      lastError: (row.last_error as string | null) ?? null,
    })),
    batch: await new BatchLevers(sql, () => now).state(),
    divergences: { counts: divergences.counts, unresolved: divergences.items },
    stages: await loadStages(sql, options.routingEnv),
  };
}

/** Each staged function's row, else its env seed (no MIGRATION_MODE given: supabase_only). */
async function loadStages(sql: SqlClient, env: RoutingEnv): Promise<StageView[]> {
  const rows = await listStageRows(sql);
  const seed = env.MIGRATION_MODE
    ? initialStage({
      MIGRATION_MODE: env.MIGRATION_MODE,
      USE_BETTER_AUTH: env.USE_BETTER_AUTH ?? false,
    })
    : "supabase_only";
  return (Object.keys(STAGED_FUNCTIONS) as StagedFunction[]).map((fn) =>
    stageView(fn, rows.find((row) => row.functionName === fn) ?? null, seed)
  );
}
