/**
 * migration_states rows of batch migrations: creation (with the lease plan and the duplicate
 * emails, in one transaction), status transitions and the per-batch counters.
 */
import type { SqlClient } from "../db/sql-client.ts";
import { AppError } from "../result.ts";
import type { MigrationRules } from "./config.ts";
import type { DuplicateEmail } from "./source.ts";

export type MigrationStatus = "pending" | "running" | "completed" | "failed" | "rolled_back";

/**
 * A migration that has ended for good: completed, or rolled back by an operator. A call without
 * an id (the cron) reports it and starts nothing: it must neither start over nor undo a rollback.
 */
export function isFinished(status: MigrationStatus): boolean {
  return status === "completed" || status === "rolled_back";
}

export interface MigrationRow {
  readonly id: string;
  readonly source: string;
  readonly status: MigrationStatus;
  readonly dry_run: boolean;
  readonly batch_size: number;
  readonly total_count: number;
  readonly processed_count: number;
  readonly migrated_count: number;
  readonly skipped_count: number;
  readonly error_count: number;
  readonly last_processed_id: string | null;
  readonly config: StoredConfig;
  readonly last_error: string | null;
  readonly started_at: Date | null;
  readonly completed_at: Date | null;
  readonly rolled_back_at: Date | null;
  readonly created_at: Date;
  readonly updated_at: Date;
}

/** Fixed when the migration is created, so every batch, worker and resume applies the same rules. */
export interface StoredConfig {
  readonly rules: MigrationRules;
  /** ISO timestamp: "now" for the ban rule. */
  readonly as_of: string;
}

const COLUMNS = `id, source, status, dry_run, batch_size, total_count, processed_count,
  migrated_count, skipped_count, error_count, last_processed_id, config, last_error, started_at,
  completed_at, rolled_back_at, created_at, updated_at`;

export async function loadMigration(db: SqlClient, id: string): Promise<MigrationRow | null> {
  const { rows } = await db.query<MigrationRow>(
    `SELECT ${COLUMNS} FROM migration_states WHERE id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

/** The most recent migration of a source (real or dry), or null. */
export async function latestMigration(
  db: SqlClient,
  source: string,
  dryRun: boolean,
): Promise<MigrationRow | null> {
  const { rows } = await db.query<MigrationRow>(
    `SELECT ${COLUMNS} FROM migration_states
     WHERE source = $1 AND dry_run = $2 AND kind = 'users'
     ORDER BY created_at DESC, id DESC LIMIT 1`,
    [source, dryRun],
  );
  return rows[0] ?? null;
}

export async function listMigrations(db: SqlClient): Promise<MigrationRow[]> {
  const { rows } = await db.query<MigrationRow>(
    `SELECT ${COLUMNS} FROM migration_states WHERE kind = 'users' ORDER BY created_at DESC, id`,
  );
  return rows;
}

export interface MigrationPlan {
  readonly id: string;
  readonly source: string;
  readonly dryRun: boolean;
  readonly batchSize: number;
  readonly total: number;
  /** Every batchSize-th source id: lease k covers (boundaries[k-2], boundaries[k-1]]. */
  readonly boundaries: readonly string[];
  readonly duplicates: readonly DuplicateEmail[];
  readonly config: StoredConfig;
}

/** Serialises migration creation per source across processes (transaction-scoped). */
const CREATE_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('edge-migrator:batch:' || $1))";

/**
 * Inserts the migration, its leases and duplicate emails atomically. `reuse` runs under the
 * creation lock first: when it returns a migration (another worker created one meanwhile), that
 * one is returned and nothing is inserted.
 */
export async function createMigration(
  db: SqlClient,
  plan: MigrationPlan,
  reuse: (tx: SqlClient) => Promise<MigrationRow | null>,
): Promise<MigrationRow> {
  try {
    return await db.transaction(async (tx) => {
      await tx.query(CREATE_LOCK_SQL, [plan.source]);
      const existing = await reuse(tx);
      if (existing) return existing;
      await tx.query(
        `INSERT INTO migration_states (id, kind, source, status, dry_run, batch_size, total_count,
                                       config)
         VALUES ($1, 'users', $2, 'pending', $3, $4, $5, $6::text::jsonb)`,
        [
          plan.id,
          plan.source,
          plan.dryRun,
          plan.batchSize,
          plan.total,
          JSON.stringify(plan.config),
        ],
      );
      // Lease k (1-based) covers (b[k-2], b[k-1]]; the last one is open-ended upwards.
      await tx.query(
        `INSERT INTO batch_leases (migration_id, lease_no, lower_id, upper_id, planned_count)
         SELECT $1::text, k, CASE WHEN k = 1 THEN NULL ELSE b[k - 1] END,
                CASE WHEN k <= cardinality(b) THEN b[k] END,
                CASE WHEN k <= cardinality(b) THEN $3::integer ELSE $4::integer END
         FROM (SELECT $2::text[]::uuid[] AS b) bounds,
              generate_series(1, cardinality(b) + 1) AS k`,
        [
          plan.id,
          [...plan.boundaries],
          plan.batchSize,
          Math.max(0, plan.total - plan.boundaries.length * plan.batchSize),
        ],
      );
      if (plan.duplicates.length > 0) {
        await tx.query(
          `INSERT INTO batch_duplicate_emails (migration_id, email_lower, keeper_id)
           SELECT $1, d.email_lower, d.keeper_id
           FROM jsonb_to_recordset($2::text::jsonb) AS d(email_lower text, keeper_id uuid)`,
          [plan.id, JSON.stringify(plan.duplicates)],
        );
      }
      const created = await loadMigration(tx, plan.id);
      if (!created) throw new AppError("internal_error", "migration vanished after insert");
      return created;
    });
  } catch (error) {
    if ((error as { code?: string }).code === "23505") {
      throw new AppError(
        "conflict",
        `migration ${plan.id} cannot start: it exists already, or another migration of ` +
          `${plan.source} is in progress`,
        undefined,
        { cause: error },
      );
    }
    throw error;
  }
}

/** pending/failed -> running (a failed migration resumes); never revives a rolled-back one. */
export async function markRunning(db: SqlClient, id: string): Promise<void> {
  await db.query(
    `UPDATE migration_states
     SET status = 'running', started_at = coalesce(started_at, now()), updated_at = now(),
         last_error = CASE WHEN status = 'failed' THEN NULL ELSE last_error END
     WHERE id = $1 AND status IN ('pending', 'failed')`,
    [id],
  );
}

export async function markCompleted(db: SqlClient, id: string): Promise<void> {
  await db.query(
    `UPDATE migration_states
     SET status = 'completed', completed_at = now(), updated_at = now(),
         total_count = processed_count
     WHERE id = $1 AND status IN ('pending', 'running')`,
    [id],
  );
}

export async function markFailed(db: SqlClient, id: string, message: string): Promise<void> {
  await db.query(
    `UPDATE migration_states SET status = 'failed', last_error = $2, updated_at = now()
     WHERE id = $1 AND status IN ('pending', 'running')`,
    [id, message],
  );
}

export async function noteError(db: SqlClient, id: string, message: string): Promise<void> {
  await db.query(
    "UPDATE migration_states SET last_error = $2, updated_at = now() WHERE id = $1",
    [id, message],
  );
}

export interface BatchCounts {
  readonly processed: number;
  readonly migrated: number;
  readonly skipped: number;
  readonly errors: number;
}

export const ZERO_COUNTS: BatchCounts = { processed: 0, migrated: 0, skipped: 0, errors: 0 };

export function addCounts(a: BatchCounts, b: BatchCounts): BatchCounts {
  return {
    processed: a.processed + b.processed,
    migrated: a.migrated + b.migrated,
    skipped: a.skipped + b.skipped,
    errors: a.errors + b.errors,
  };
}

/**
 * Adds a completed batch to the migration, inside the batch's transaction, and advances
 * last_processed_id to the highest id below which every range is done. Throws when the
 * migration is no longer running (rolled back or failed meanwhile), so the batch rolls back.
 */
export async function addBatchToMigration(
  tx: SqlClient,
  id: string,
  counts: BatchCounts,
): Promise<void> {
  const { rowCount } = await tx.query(
    `UPDATE migration_states m SET
       processed_count = processed_count + $2,
       migrated_count = migrated_count + $3,
       skipped_count = skipped_count + $4,
       error_count = error_count + $5,
       updated_at = now(),
       last_processed_id = CASE
         WHEN w.id IS NOT NULL AND (m.last_processed_id IS NULL OR w.id > m.last_processed_id::uuid)
         THEN w.id::text ELSE m.last_processed_id END
     FROM (SELECT (
       SELECT l.last_id FROM batch_leases l
       WHERE l.migration_id = $1 AND l.status = 'done' AND l.last_id IS NOT NULL
         AND l.lease_no < coalesce((SELECT min(o.lease_no) FROM batch_leases o
                                    WHERE o.migration_id = $1 AND o.status <> 'done'), 2147483647)
       ORDER BY l.lease_no DESC LIMIT 1) AS id) w
     WHERE m.id = $1 AND m.status = 'running'`,
    [id, counts.processed, counts.migrated, counts.skipped, counts.errors],
  );
  if (rowCount !== 1) throw new MigrationStoppedError(id);
}

/** The migration left the running state (rollback, failure) while a batch was in flight. */
export class MigrationStoppedError extends Error {
  constructor(readonly migrationId: string) {
    super(`migration ${migrationId} is no longer running`);
    this.name = "MigrationStoppedError";
  }
}
