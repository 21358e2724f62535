/**
 * Claiming, holding and completing lease ranges (table batch_leases, see its migration).
 *
 * - acquire: one short transaction picks the first pending or expired range with
 *   FOR UPDATE SKIP LOCKED and stamps it with a fresh token and an expiry; concurrent workers
 *   skip each other's rows instead of waiting, and never get the same range.
 * - hold: the batch transaction starts by re-locking its range by token. If the range was
 *   re-taken meanwhile (this worker stalled past the expiry), the token no longer matches and
 *   the worker backs off; while the batch transaction holds the row lock, nobody can re-take it.
 * - complete: inside the same batch transaction, so the range is done exactly when its rows are.
 */
import type { SqlClient } from "../db/sql-client.ts";
import type { BatchCounts } from "./migration-state.ts";
import type { KeyRange } from "./source.ts";

export interface Lease {
  readonly migrationId: string;
  readonly leaseNo: number;
  readonly token: string;
  readonly range: KeyRange;
  readonly attempts: number;
}

/** The range was re-taken by another worker after this one's claim expired. */
export class LeaseLostError extends Error {
  constructor(readonly lease: Lease) {
    super(`lease ${lease.migrationId}#${lease.leaseNo} was taken over by another worker`);
    this.name = "LeaseLostError";
  }
}

export async function acquireLease(
  db: SqlClient,
  migrationId: string,
  workerId: string,
  ttlMs: number,
): Promise<Lease | null> {
  const token = crypto.randomUUID();
  const { rows } = await db.query<
    { lease_no: number; lower_id: string | null; upper_id: string | null; attempts: number }
  >(
    `UPDATE batch_leases l
     SET status = 'leased', lease_token = $2::uuid, worker_id = $3,
         leased_until = clock_timestamp() + $4::integer * interval '1 millisecond',
         attempts = l.attempts + 1
     WHERE l.migration_id = $1 AND l.lease_no = (
       SELECT c.lease_no FROM batch_leases c
       WHERE c.migration_id = $1
         AND (c.status = 'pending' OR (c.status = 'leased' AND c.leased_until < clock_timestamp()))
       ORDER BY c.lease_no
       LIMIT 1
       FOR UPDATE SKIP LOCKED)
     RETURNING l.lease_no, l.lower_id, l.upper_id, l.attempts`,
    [migrationId, token, workerId, ttlMs],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    migrationId,
    leaseNo: row.lease_no,
    token,
    range: { lower: row.lower_id, upper: row.upper_id },
    attempts: row.attempts,
  };
}

/** Re-locks the range for the current transaction and extends it; throws LeaseLostError. */
export async function holdLease(tx: SqlClient, lease: Lease, ttlMs: number): Promise<void> {
  const { rowCount } = await tx.query(
    `UPDATE batch_leases
     SET leased_until = clock_timestamp() + $4::integer * interval '1 millisecond'
     WHERE migration_id = $1 AND lease_no = $2 AND lease_token = $3::uuid AND status = 'leased'`,
    [lease.migrationId, lease.leaseNo, lease.token, ttlMs],
  );
  if (rowCount !== 1) throw new LeaseLostError(lease);
}

export async function completeLease(
  tx: SqlClient,
  lease: Lease,
  counts: BatchCounts,
  lastId: string | null,
): Promise<void> {
  const { rowCount } = await tx.query(
    `UPDATE batch_leases
     SET status = 'done', lease_token = NULL, leased_until = NULL, completed_at = now(),
         processed_count = $4, migrated_count = $5, skipped_count = $6, error_count = $7,
         last_id = $8::uuid, last_error = NULL
     WHERE migration_id = $1 AND lease_no = $2 AND lease_token = $3::uuid AND status = 'leased'`,
    [
      lease.migrationId,
      lease.leaseNo,
      lease.token,
      counts.processed,
      counts.migrated,
      counts.skipped,
      counts.errors,
      lastId,
    ],
  );
  if (rowCount !== 1) throw new LeaseLostError(lease);
}

/** Gives a range back at once (expired now), e.g. after transient retries ran out. */
export async function releaseLease(db: SqlClient, lease: Lease, error: string): Promise<void> {
  await db.query(
    `UPDATE batch_leases SET leased_until = clock_timestamp(), last_error = $4
     WHERE migration_id = $1 AND lease_no = $2 AND lease_token = $3::uuid AND status = 'leased'`,
    [lease.migrationId, lease.leaseNo, lease.token, error],
  );
}

export interface LeaseSummary {
  readonly total: number;
  readonly open: number;
  /** Claimed and not yet expired: another worker is (or may be) on it. */
  readonly active: number;
  readonly remainingPlanned: number;
}

export async function leaseSummary(db: SqlClient, migrationId: string): Promise<LeaseSummary> {
  const { rows } = await db.query<LeaseSummary>(
    `SELECT count(*) AS total,
            count(*) FILTER (WHERE status <> 'done') AS open,
            count(*) FILTER (WHERE status = 'leased' AND leased_until >= clock_timestamp())
              AS active,
            coalesce(sum(planned_count) FILTER (WHERE status <> 'done'), 0) AS "remainingPlanned"
     FROM batch_leases WHERE migration_id = $1`,
    [migrationId],
  );
  return rows[0] ?? { total: 0, open: 0, active: 0, remainingPlanned: 0 };
}
