/**
 * Applies one lease: the whole range in one transaction, and when that fails permanently, the
 * range bisected into smaller id sets (each its own transaction) until every user that can be
 * written is, and each user that cannot is recorded alone. A user's rows and its tracking rows
 * are always in the same transaction, so no split ever leaves half a user behind.
 */
import type { SqlClient } from "../db/sql-client.ts";
import { type Coverage, mergeCoverage } from "./coverage.ts";
import {
  addBatchToMigration,
  addCounts,
  type BatchCounts,
  MigrationStoppedError,
  ZERO_COUNTS,
} from "./migration-state.ts";
import { completeLease, holdLease, type Lease, LeaseLostError } from "./leases.ts";
import {
  describeError,
  RetriesExhaustedError,
  type RetryPolicy,
  type StoredError,
  withRetry,
} from "./retry.ts";
import { WRITE_FAILED } from "./rules.ts";
import type { SourceAdapter, SourceScope } from "./source.ts";
import {
  type ClassifyContext,
  type DryRunRow,
  dryRunStatement,
  writeBatchStatement,
  type WriteCounts,
} from "./statements.ts";
import { LEASE_PLANNER_SETTINGS, prepareBatchWrites } from "./created-rows.ts";

/** Planned users and validation failures a dry run reports. */
export interface DryRunFindings {
  readonly sample: Record<string, unknown>[];
  readonly failures: { id: string; email: string | null; reason: string }[];
  readonly coverage: Coverage;
}

/**
 * JIT compilation costs 50-200 ms per statement once the planner's estimate crosses
 * jit_above_cost, which the batch statement can: far more than it could save on 5,000 rows.
 */
export const NO_JIT = "SET LOCAL jit = off";

export interface ScopeResult {
  readonly counts: BatchCounts;
  readonly findings?: DryRunFindings;
}

/** Some planned rows were not written (a concurrent writer got there first): split the batch. */
export class IncompleteBatchError extends Error {
  constructor(readonly counts: WriteCounts) {
    super(
      `batch wrote ${counts.users_inserted}/${counts.to_migrate} users, ` +
        `${counts.accounts_inserted}/${counts.accounts_expected} accounts, ` +
        `${counts.tracking_inserted}/${counts.to_migrate} tracking rows`,
    );
    this.name = "IncompleteBatchError";
  }
}

/** Errors that belong to particular rows (data, constraints): worth splitting the batch for. */
export function isRowSpecific(error: unknown): boolean {
  const code = describeError(error).code;
  return code.startsWith("22") || code.startsWith("23") || error instanceof IncompleteBatchError;
}

export interface WriterContext {
  readonly db: SqlClient;
  readonly source: SourceAdapter;
  readonly classify: ClassifyContext & { migrationId: string };
  readonly dryRun: boolean;
  readonly sampleSize: number;
  readonly leaseTtlMs: number;
  readonly retry: RetryPolicy;
}

function writeCountsToBatch(row: WriteCounts): BatchCounts {
  return {
    processed: row.processed,
    migrated: row.to_migrate + row.already_ours,
    skipped: row.skipped - row.already_ours,
    errors: row.rejected,
  };
}

/** Runs the statement for one scope inside `tx` (the caller owns the transaction). */
async function applyScope(
  tx: SqlClient,
  context: WriterContext,
  statement: { sql: string; params: unknown[] },
): Promise<ScopeResult & { lastId: string | null }> {
  if (context.dryRun) {
    await tx.query(LEASE_PLANNER_SETTINGS);
    const row = (await tx.query<DryRunRow>(statement.sql, statement.params)).rows[0]!;
    return {
      counts: {
        processed: row.processed,
        migrated: row.to_migrate + row.already_ours,
        skipped: row.skipped - row.already_ours,
        errors: row.rejected,
      },
      findings: { sample: row.sample, failures: row.failures, coverage: row.coverage },
      lastId: row.last_id,
    };
  }
  await prepareBatchWrites(tx, context.classify.migrationId, context.source.inSupabaseAuth);
  const row = (await tx.query<WriteCounts>(statement.sql, statement.params)).rows[0]!;
  const complete = row.users_inserted === row.to_migrate &&
    row.tracking_inserted === row.to_migrate && row.status_upserted === row.to_migrate &&
    row.accounts_inserted === row.accounts_expected &&
    row.two_factor_inserted === row.two_factor_expected;
  if (!complete) throw new IncompleteBatchError(row);
  return { counts: writeCountsToBatch(row), lastId: row.last_id };
}

function buildStatement(context: WriterContext, scope: SourceScope) {
  return context.dryRun
    ? dryRunStatement(context.classify, scope, context.sampleSize)
    : writeBatchStatement(context.classify, scope, new Date());
}

/** The whole lease in one transaction, completed with it. Retries transient errors. */
export async function applyLease(context: WriterContext, lease: Lease): Promise<ScopeResult> {
  const scope: SourceScope = { kind: "range", range: lease.range };
  return await withRetry(async () => {
    const statement = await buildStatement(context, scope);
    return await context.db.transaction(async (tx) => {
      await holdLease(tx, lease, context.leaseTtlMs);
      const result = await applyScope(tx, context, statement);
      await completeLease(tx, lease, result.counts, result.lastId);
      await addBatchToMigration(tx, lease.migrationId, result.counts);
      return result;
    });
  }, context.retry);
}

export interface BisectOutcome {
  readonly result: ScopeResult;
  /** No part of the range could be written: the migration is stopped, not the users blamed. */
  readonly systemic: boolean;
  readonly firstError: StoredError;
}

/**
 * Splits a lease whose single transaction failed. Parts that succeed commit on their own (the
 * lease stays claimed); users failing alone are recorded as write_failed; then the lease is
 * completed with the sum. A crash in between is harmless: the re-taken lease counts users this
 * migration already wrote as migrated and writes the rest.
 */
export async function bisectLease(
  context: WriterContext,
  lease: Lease,
  cause: unknown,
): Promise<BisectOutcome> {
  const ids = await withRetry(() => context.source.idsInRange(lease.range), context.retry);
  let counts = ZERO_COUNTS;
  let succeeded = 0;
  const sample: Record<string, unknown>[] = [];
  const validationFailures: DryRunFindings["failures"] = [];
  const coverage: Coverage = {};
  const failed: { id: string; error: StoredError }[] = [];

  const attempt = async (part: readonly string[]): Promise<void> => {
    if (part.length === 0) return;
    const scope: SourceScope = { kind: "ids", ids: part };
    try {
      const result = await withRetry(async () => {
        const statement = await buildStatement(context, scope);
        return await context.db.transaction(async (tx) => {
          await holdLease(tx, lease, context.leaseTtlMs);
          return await applyScope(tx, context, statement);
        });
      }, context.retry);
      counts = addCounts(counts, result.counts);
      succeeded++;
      if (result.findings) {
        sample.push(...result.findings.sample);
        validationFailures.push(...result.findings.failures);
        mergeCoverage(coverage, result.findings.coverage);
      }
    } catch (error) {
      // Not this part's fault: stop bisecting and let the engine handle it.
      if (
        error instanceof LeaseLostError || error instanceof MigrationStoppedError ||
        error instanceof RetriesExhaustedError
      ) throw error;
      if (part.length === 1) {
        failed.push({ id: part[0]!, error: describeError(error) });
        return;
      }
      const middle = Math.ceil(part.length / 2);
      await attempt(part.slice(0, middle));
      await attempt(part.slice(middle));
    }
  };

  const middle = Math.ceil(ids.length / 2);
  await attempt(ids.slice(0, middle));
  await attempt(ids.slice(middle));

  const firstError = describeError(cause);
  // Nothing at all could be written and more than one user failed: far more likely a broken
  // statement, source or schema than bad rows. Recording every user as failed would "complete"
  // the range with nobody migrated, so the engine stops the migration instead (resumable).
  if (succeeded === 0 && (failed.length > 1 || (failed.length === 0 && !isRowSpecific(cause)))) {
    return { result: { counts }, systemic: true, firstError };
  }
  const failedCounts: BatchCounts = {
    processed: failed.length,
    migrated: 0,
    skipped: 0,
    errors: failed.length,
  };
  const total = addCounts(counts, failedCounts);
  await withRetry(
    () =>
      context.db.transaction(async (tx) => {
        await holdLease(tx, lease, context.leaseTtlMs);
        if (failed.length > 0) {
          await tx.query(
            `INSERT INTO migration_errors (migration_id, user_id, error_code, error_message,
                                           error_details, retryable)
             SELECT $1, f.id, $2, f.message, f.details, false
             FROM jsonb_to_recordset($3::text::jsonb) AS f(id text, message text, details jsonb)
             ON CONFLICT (migration_id, user_id, error_code) WHERE user_id IS NOT NULL
             DO NOTHING`,
            [
              lease.migrationId,
              WRITE_FAILED,
              JSON.stringify(failed.map((f) => ({
                id: f.id,
                message: f.error.message,
                details: {
                  stage: context.dryRun ? "plan" : "write",
                  sqlstate: f.error.code,
                  constraint: f.error.constraint,
                  table: f.error.table,
                },
              }))),
            ],
          );
        }
        await completeLease(tx, lease, total, ids.at(-1) ?? null);
        await addBatchToMigration(tx, lease.migrationId, total);
      }),
    context.retry,
  );
  return {
    result: {
      counts: total,
      findings: context.dryRun
        ? {
          sample,
          failures: [
            ...validationFailures,
            ...failed.map((f) => ({ id: f.id, email: null, reason: WRITE_FAILED })),
          ],
          coverage,
        }
        : undefined,
    },
    systemic: false,
    firstError,
  };
}
