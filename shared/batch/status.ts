/**
 * GET /status: every batch migration with progress, rate, ETA and error counts, plus the
 * migration guide's tracker totals over user_migration_status (total, supabaseMigrated,
 * betterAuthMigrated, fullyMigrated, completionRate) — computed with one aggregate each, never
 * by loading rows into JavaScript.
 */
import type { SqlClient } from "../db/sql-client.ts";
import type { MigrationStatus } from "./migration-state.ts";

export interface MigrationProgress {
  readonly id: string;
  readonly source: string;
  readonly status: MigrationStatus;
  readonly dry_run: boolean;
  readonly batch_size: number;
  readonly total: number;
  readonly processed: number;
  readonly migrated: number;
  readonly skipped: number;
  readonly errors: number;
  readonly remaining: number;
  /** 0-100. */
  readonly progress_percent: number;
  /** Users per second between start and the last batch. */
  readonly rate_per_second: number | null;
  readonly eta_seconds: number | null;
  readonly errors_by_code: Record<string, number>;
  readonly leases: { readonly total: number; readonly done: number; readonly active: number };
  readonly last_processed_id: string | null;
  readonly last_error: string | null;
  readonly started_at: Date | null;
  readonly updated_at: Date;
  readonly completed_at: Date | null;
  readonly rolled_back_at: Date | null;
}

export interface TrackerTotals {
  readonly total: number;
  readonly supabaseMigrated: number;
  readonly betterAuthMigrated: number;
  readonly fullyMigrated: number;
  /** fullyMigrated / total in percent (0 when there is nobody). */
  readonly completionRate: number;
}

export interface StatusReport {
  readonly migrations: MigrationProgress[];
  readonly totals: TrackerTotals;
}

export async function migrationStatus(db: SqlClient): Promise<StatusReport> {
  const { rows } = await db.query<
    & Omit<MigrationProgress, "progress_percent" | "rate_per_second" | "eta_seconds" | "remaining">
    & {
      elapsed_seconds: number | null;
    }
  >(
    `SELECT m.id, m.source, m.status, m.dry_run, m.batch_size,
            m.total_count AS total, m.processed_count AS processed,
            m.migrated_count AS migrated, m.skipped_count AS skipped, m.error_count AS errors,
            m.last_processed_id, m.last_error, m.started_at, m.updated_at, m.completed_at,
            m.rolled_back_at,
            extract(epoch FROM coalesce(m.completed_at, m.updated_at) - m.started_at)::float8
              AS elapsed_seconds,
            coalesce((SELECT jsonb_object_agg(e.error_code, e.n) FROM (
                        SELECT error_code, count(*) AS n FROM migration_errors
                        WHERE migration_id = m.id GROUP BY error_code) e), '{}'::jsonb)
              AS errors_by_code,
            (SELECT jsonb_build_object(
                      'total', count(*),
                      'done', count(*) FILTER (WHERE l.status = 'done'),
                      'active', count(*) FILTER (WHERE l.status = 'leased'
                                                 AND l.leased_until >= clock_timestamp()))
             FROM batch_leases l WHERE l.migration_id = m.id) AS leases
     FROM migration_states m
     WHERE m.kind = 'users'
     ORDER BY m.created_at DESC, m.id`,
  );
  const migrations = rows.map(({ elapsed_seconds, ...row }): MigrationProgress => {
    const remaining = row.status === "completed" ? 0 : Math.max(0, row.total - row.processed);
    const rate = elapsed_seconds && elapsed_seconds > 0 && row.processed > 0
      ? row.processed / elapsed_seconds
      : null;
    return {
      ...row,
      remaining,
      progress_percent: row.status === "completed"
        ? 100
        : row.total > 0
        ? Math.min(100, Math.round((row.processed / row.total) * 10_000) / 100)
        : 0,
      rate_per_second: rate === null ? null : Math.round(rate * 10) / 10,
      eta_seconds: rate === null || row.status !== "running"
        ? (remaining === 0 ? 0 : null)
        : Math.ceil(remaining / rate),
    };
  });
  const totals = await db.query<TrackerTotals>(
    `SELECT count(*) AS total,
            count(*) FILTER (WHERE supabase_migrated) AS "supabaseMigrated",
            count(*) FILTER (WHERE better_auth_migrated) AS "betterAuthMigrated",
            count(*) FILTER (WHERE supabase_migrated AND better_auth_migrated AND data_validated)
              AS "fullyMigrated"
     FROM user_migration_status`,
  );
  const t = totals.rows[0]!;
  return {
    migrations,
    totals: {
      total: t.total,
      supabaseMigrated: t.supabaseMigrated,
      betterAuthMigrated: t.betterAuthMigrated,
      fullyMigrated: t.fullyMigrated,
      completionRate: t.total > 0 ? (t.fullyMigrated / t.total) * 100 : 0,
    },
  };
}
