/**
 * The batch migration engine: Supabase Auth (or a legacy table) -> Better Auth, set-based,
 * idempotent, resumable and safe under any number of concurrent invocations. Functions
 * (migrate-batch), the CLI and tests all drive this one class; it depends only on a SqlClient
 * for the target database and a SourceAdapter.
 */
import type { SqlClient } from "../db/sql-client.ts";
import { AppError } from "../result.ts";
import {
  type EngineOptions,
  type EngineOptionsInput,
  engineOptionsSchema,
  type PlanInput,
  planInputSchema,
  type RollbackInput,
  rollbackInputSchema,
  rulesOf,
  type RunInput,
  runInputSchema,
  type ValidateInput,
  validateInputSchema,
  type VerifyInput,
  verifyInputSchema,
} from "./config.ts";
import { applyLease, bisectLease, type DryRunFindings } from "./batch-writer.ts";
import { acquireLease, type Lease, LeaseLostError, leaseSummary, releaseLease } from "./leases.ts";
import {
  addCounts,
  type BatchCounts,
  createMigration,
  isFinished,
  latestMigration,
  loadMigration,
  markCompleted,
  markFailed,
  markRunning,
  type MigrationRow,
  type MigrationStatus,
  MigrationStoppedError,
  noteError,
  ZERO_COUNTS,
} from "./migration-state.ts";
import { parseInput } from "./parse.ts";
import { type BatchPlan, planScope } from "./plan.ts";
import { preflight, type PreflightResult } from "./preflight.ts";
import { describeError, RetriesExhaustedError, type RetryPolicy, withRetry } from "./retry.ts";
import { rollbackMigration, type RollbackResult } from "./rollback.ts";
import { EMAIL_PATTERN, PASSWORD_HASH_PATTERN, TRANSIENT_EXHAUSTED } from "./rules.ts";
import { TotpCarrier } from "./mfa.ts";
import type { SourceAdapter } from "./source.ts";
import { type ClassifyContext, coverageStatement } from "./statements.ts";
import { type Coverage, emptyCoverage, mergeCoverage } from "./coverage.ts";
import { migrationStatus, type StatusReport } from "./status.ts";
import { verifyMigration, type VerifyResult } from "./verify.ts";
import { processCpuMs, WaitDiscountedClock } from "../runtime/cpu.ts";
import { waitMeteredSqlClient } from "../db/wait-metered-sql-client.ts";
import type { BatchGate, BatchHold } from "./gate.ts";

/** Waits `ms`, or less when `signal` aborts. */
function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

export type StopReason =
  | "done"
  | "budget"
  /** The CPU budget (cpuBudgetMs) would be exceeded by the next batch. */
  | "cpu_budget"
  | "max_batches"
  /** Every remaining range is claimed by other live workers. */
  | "busy"
  | "rolled_back"
  /** The migration left the running state, or the caller aborted (signal). */
  | "stopped"
  /** An operator lever holds the batch (paused, outside its window, emergency rollback). */
  | "paused"
  | "transient_errors"
  | "failed";

export interface RunResult {
  readonly migration_id: string;
  readonly status: MigrationStatus;
  readonly dry_run: boolean;
  /** Users handled by THIS invocation. */
  readonly processed: number;
  readonly migrated: number;
  readonly skipped: number;
  readonly errors: number;
  /** Users of the migration not processed yet (estimate from the plan). */
  readonly remaining: number;
  readonly done: boolean;
  readonly batches: number;
  /** Lease numbers this invocation completed. */
  readonly leases: number[];
  readonly elapsed_ms: number;
  readonly stopped_because: StopReason;
  readonly totals: {
    readonly total: number;
    readonly processed: number;
    readonly migrated: number;
    readonly skipped: number;
    readonly errors: number;
  };
  readonly last_error?: string;
  /** Which lever held the batch when stopped_because is "paused". */
  readonly held_by?: BatchHold;
  /** Dry run only: planned users (up to sampleSize) and every validation failure seen. */
  readonly sample?: Record<string, unknown>[];
  readonly failures?: DryRunFindings["failures"];
  /** Dry run only: per source field, users having it, carried over, dropped and why. */
  readonly coverage?: Coverage;
}

/** The plan-mode answer of both implementations (compared by the migrator). */
export interface NextBatchPlan {
  readonly migration_id: string | null;
  readonly after_id: string | null;
  readonly batch_size: number;
  readonly plan: BatchPlan;
  /**
   * Per source field of the batch: users having it, carried over, dropped and why (the
   * set-based engine's report; the per-user original has none).
   */
  readonly coverage?: Coverage;
}

export interface BatchProgress {
  readonly migrationId: string;
  readonly dryRun: boolean;
  readonly total: number;
  /** Migration-wide, as of this worker's last batch. */
  readonly processed: number;
  readonly migrated: number;
  readonly skipped: number;
  readonly errors: number;
  /** This invocation. */
  readonly invocationProcessed: number;
  readonly elapsedMs: number;
}

export interface EngineDeps {
  /** The target database: Better Auth tables, tracking tables, leases. */
  readonly db: SqlClient;
  readonly source: SourceAdapter;
  readonly options?: EngineOptionsInput;
  /** Identifies this process in batch_leases.worker_id (debugging only). */
  readonly workerId?: string;
  /** Called after every batch (the CLI's progress bar). */
  readonly onBatch?: (progress: BatchProgress) => void;
  /**
   * BETTER_AUTH_SECRET: verified TOTP factors are carried encrypted with it (mfa.ts). Without it
   * their users are refused (totp_not_carried), never migrated without the second factor.
   */
  readonly betterAuthSecret?: string;
  /** Monotonic milliseconds; injectable for tests. */
  readonly clock?: () => number;
  /**
   * CPU milliseconds. Default: the process's CPU time where the runtime reports it, else (the Edge
   * Runtime) elapsed time minus the time spent waiting on this engine's database queries.
   */
  readonly cpuClock?: () => number | undefined;
  readonly retry?: Pick<RetryPolicy, "random" | "sleep">;
  /** Operator levers asked before every batch (pause, throttle, window, emergency rollback). */
  readonly gate?: BatchGate;
}

type LeaseOutcome =
  | { kind: "done"; counts: BatchCounts; findings?: DryRunFindings }
  | { kind: "lost" }
  | { kind: "stopped" }
  | { kind: "transient"; error: string }
  | { kind: "failed"; error: string };

function newMigrationId(dryRun: boolean): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "");
  return `${dryRun ? "dry" : "batch"}_${stamp}_${crypto.randomUUID().slice(0, 8)}`;
}

export class BatchMigrationEngine {
  readonly options: EngineOptions;
  readonly #db: SqlClient;
  readonly #source: SourceAdapter;
  readonly #workerId: string;
  readonly #clock: () => number;
  readonly #cpuClock: () => number | undefined;
  readonly #retry: RetryPolicy;
  readonly #onBatch?: (progress: BatchProgress) => void;
  readonly #gate?: BatchGate;
  readonly #totp?: TotpCarrier;

  constructor(deps: EngineDeps) {
    this.options = parseInput(engineOptionsSchema, deps.options ?? {});
    if (deps.cpuClock) {
      this.#db = deps.db;
      this.#cpuClock = deps.cpuClock;
    } else if (processCpuMs() !== undefined) {
      this.#db = deps.db;
      this.#cpuClock = processCpuMs;
    } else {
      const clock = new WaitDiscountedClock();
      this.#db = waitMeteredSqlClient(deps.db, clock);
      this.#cpuClock = () => clock.cpuMs();
    }
    this.#source = deps.source;
    this.#workerId = deps.workerId ?? `worker-${crypto.randomUUID().slice(0, 8)}`;
    this.#clock = deps.clock ?? (() => performance.now());
    this.#onBatch = deps.onBatch;
    this.#gate = deps.gate;
    this.#totp = deps.betterAuthSecret ? new TotpCarrier(deps.betterAuthSecret) : undefined;
    this.#retry = {
      maxRetries: this.options.maxRetries,
      baseDelayMs: this.options.retryBaseDelayMs,
      maxDelayMs: this.options.retryMaxDelayMs,
      ...deps.retry,
    };
  }

  get source(): SourceAdapter {
    return this.#source;
  }

  /** Runs (or continues) a migration until done, the budget is spent or max_batches is hit. */
  async run(rawInput: RunInput = {}, control: { signal?: AbortSignal } = {}): Promise<RunResult> {
    const input = parseInput(runInputSchema, rawInput);
    const started = this.#clock();
    const budget = Math.min(input.budget_ms ?? this.options.budgetMs, this.options.budgetMs);
    const cpu = new CpuMeter(this.#cpuClock, this.options.cpuBudgetMs);
    let migration = await this.#resolveMigration(input);
    const dryRun = migration.dry_run;
    if (migration.status === "pending" || migration.status === "failed") {
      await markRunning(this.#db, migration.id);
    }
    let counts = ZERO_COUNTS;
    const leases: number[] = [];
    const sample: Record<string, unknown>[] = [];
    const failures: DryRunFindings["failures"] = [];
    const coverage: Coverage = emptyCoverage();
    let stop: StopReason;
    let lastError: string | undefined;
    let averageBatchMs = 0;
    let heldBy: BatchHold | undefined;

    if (migration.status === "completed") stop = "done";
    else if (migration.status === "rolled_back") stop = "rolled_back";
    else {
      const classify = this.#classifyContext(migration);
      for (;;) {
        if (input.max_batches !== undefined && leases.length >= input.max_batches) {
          stop = "max_batches";
          break;
        }
        // An in-process database (PGlite) settles every query without returning to the event
        // loop, so an abort from a timer or a signal listener could never run: yield once per
        // batch when the caller can abort.
        if (control.signal) await new Promise((resolve) => setTimeout(resolve, 0));
        if (control.signal?.aborted) {
          stop = "stopped";
          break;
        }
        // Stop while the next batch (with margin) still fits in the budget; but always take one
        // batch, so a budget smaller than a batch still makes progress.
        if (leases.length > 0 && this.#clock() - started + averageBatchMs * 1.5 >= budget) {
          stop = "budget";
          break;
        }
        // The same rule for CPU time: hosted functions are ended past ~2 s of CPU per request.
        if (leases.length > 0 && cpu.nextBatchWouldExceed()) {
          stop = "cpu_budget";
          break;
        }
        // The levers are read before every batch, so a pause or an emergency rollback stops a
        // run in progress at the next batch boundary (no Better Auth write after it).
        const verdict = this.#gate ? await this.#gate.check() : null;
        if (verdict?.hold) {
          heldBy = verdict.hold;
          stop = "paused";
          break;
        }
        let lease: Lease | null;
        try {
          lease = await withRetry(
            () => acquireLease(this.#db, migration.id, this.#workerId, this.options.leaseTtlMs),
            this.#retry,
          );
        } catch (error) {
          if (!(error instanceof RetriesExhaustedError)) throw error;
          lastError = describeError(error).message;
          stop = "transient_errors";
          break;
        }
        if (!lease) {
          const summary = await leaseSummary(this.#db, migration.id);
          if (summary.open === 0) {
            await markCompleted(this.#db, migration.id);
            stop = "done";
          } else {
            stop = "busy";
          }
          break;
        }
        const batchStarted = this.#clock();
        const batchCpu = cpu.startBatch();
        const outcome = await this.#processLease(classify, lease, dryRun);
        batchCpu.end();
        const batchMs = this.#clock() - batchStarted;
        averageBatchMs = averageBatchMs === 0 ? batchMs : averageBatchMs * 0.7 + batchMs * 0.3;
        if (outcome.kind === "lost") continue;
        if (outcome.kind === "stopped") {
          stop = "stopped";
          break;
        }
        if (outcome.kind === "transient" || outcome.kind === "failed") {
          lastError = outcome.error;
          stop = outcome.kind === "transient" ? "transient_errors" : "failed";
          break;
        }
        counts = addCounts(counts, outcome.counts);
        leases.push(lease.leaseNo);
        const rate = verdict?.maxUsersPerSecond;
        if (rate) {
          // Throttle: this batch's users may not have taken less than users / rate seconds.
          const waitMs = (outcome.counts.processed / rate) * 1000 - batchMs;
          if (waitMs > 0) {
            if (this.#clock() - started + waitMs >= budget) {
              stop = "budget";
              break;
            }
            await delay(waitMs, control.signal);
          }
        }
        if (outcome.findings) {
          const room = Math.max(0, this.options.sampleSize - sample.length);
          sample.push(...outcome.findings.sample.slice(0, room));
          failures.push(...outcome.findings.failures);
          mergeCoverage(coverage, outcome.findings.coverage);
        }
        if (this.#onBatch) {
          const current = await loadMigration(this.#db, migration.id);
          if (current) this.#onBatch(progressOf(current, counts, this.#clock() - started));
        }
      }
    }

    migration = (await loadMigration(this.#db, migration.id)) ?? migration;
    if (stop === "stopped" && migration.status === "rolled_back") stop = "rolled_back";
    const summary = migration.status === "completed"
      ? { remainingPlanned: 0 }
      : await leaseSummary(this.#db, migration.id);
    return {
      migration_id: migration.id,
      status: migration.status,
      dry_run: dryRun,
      processed: counts.processed,
      migrated: counts.migrated,
      skipped: counts.skipped,
      errors: counts.errors,
      remaining: migration.status === "completed"
        ? 0
        : Math.max(summary.remainingPlanned, migration.total_count - migration.processed_count, 0),
      done: migration.status === "completed",
      batches: leases.length,
      leases,
      elapsed_ms: Math.round(this.#clock() - started),
      stopped_because: stop,
      totals: {
        total: migration.total_count,
        processed: migration.processed_count,
        migrated: migration.migrated_count,
        skipped: migration.skipped_count,
        errors: migration.error_count,
      },
      ...(lastError !== undefined ? { last_error: lastError } : {}),
      ...(heldBy !== undefined ? { held_by: heldBy } : {}),
      ...(dryRun ? { sample, failures, coverage } : {}),
    };
  }

  /** Continues a stopped or failed migration by id (the CLI's `resume ID`). */
  async resume(migrationId: string, input: Omit<RunInput, "migration_id"> = {}) {
    const migration = await loadMigration(this.#db, migrationId);
    if (!migration) throw new AppError("not_found", `migration ${migrationId} does not exist`);
    return await this.run({ ...input, migration_id: migrationId });
  }

  async rollback(rawInput: RollbackInput): Promise<RollbackResult> {
    const input = parseInput(rollbackInputSchema, rawInput);
    return await rollbackMigration(this.#db, input.migration_id, {
      budgetMs: Math.min(input.budget_ms ?? this.options.budgetMs, this.options.budgetMs),
      clock: this.#clock,
    });
  }

  async verify(rawInput: VerifyInput): Promise<VerifyResult> {
    const input = parseInput(verifyInputSchema, rawInput);
    const migration = await this.#requireMigration(input.migration_id);
    return await verifyMigration(this.#db, this.#source, migration, { maxIds: input.max_ids });
  }

  async validate(rawInput: ValidateInput = {}): Promise<PreflightResult> {
    const input = parseInput(validateInputSchema, rawInput);
    return await preflight(this.#db, this.#source, {
      rules: rulesOf(this.options),
      batchSize: this.options.batchSize,
      afterId: input.after_id ?? null,
      maxFailures: input.max_failures ?? 1000,
      budgetMs: Math.min(input.budget_ms ?? this.options.budgetMs, this.options.budgetMs),
      clock: this.#clock,
      totp: this.#totp,
    });
  }

  async status(): Promise<StatusReport> {
    return await migrationStatus(this.#db);
  }

  /**
   * The set-based plan for a given set of source ids, in a migration's context (or a fresh
   * pre-flight context): what a run would do to each of them. The per-user original produces
   * the same structure (original.ts); plan.ts compares the two.
   */
  async plan(ids: readonly string[], migrationId?: string): Promise<BatchPlan> {
    const migration = migrationId ? await this.#requireMigration(migrationId) : null;
    const context = migration ? this.#classifyContext(migration) : await this.#preflightContext();
    return await planScope(this.#db, context, ids);
  }

  /**
   * Plan mode: what the next batch would be and what would happen to each of its users, with
   * no write at all. The batch is the batch_size source ids after `after_id` (default: the
   * migration's last_processed_id), so the per-user original can plan exactly the same users.
   */
  async planNextBatch(rawInput: PlanInput = {}): Promise<NextBatchPlan> {
    const input = parseInput(planInputSchema, rawInput);
    const migration = input.migration_id
      ? await this.#requireMigration(input.migration_id)
      : await latestMigration(this.#db, this.#source.name, false);
    const after = input.after_id ?? migration?.last_processed_id ?? null;
    const size = input.batch_size ?? migration?.batch_size ?? this.options.batchSize;
    const ids = await this.#source.idsAfter(after, size);
    const context = migration ? this.#classifyContext(migration) : await this.#preflightContext();
    const scope = { kind: "ids" as const, ids };
    const statement = await coverageStatement(context, scope);
    const { rows } = await this.#db.query<{ coverage: Coverage }>(
      statement.sql,
      statement.params,
    );
    return {
      migration_id: migration?.id ?? null,
      after_id: after,
      batch_size: size,
      plan: await planScope(this.#db, context, ids),
      coverage: mergeCoverage(emptyCoverage(), rows[0]?.coverage ?? {}),
    };
  }

  async #requireMigration(id: string): Promise<MigrationRow> {
    const migration = await loadMigration(this.#db, id);
    if (!migration) throw new AppError("not_found", `migration ${id} does not exist`);
    return migration;
  }

  async #preflightContext(): Promise<ClassifyContext> {
    const rules = rulesOf(this.options);
    const asOf = new Date();
    const rows = await this.#source.duplicateEmails({
      rules,
      asOf,
      emailPattern: EMAIL_PATTERN,
      passwordHashPattern: PASSWORD_HASH_PATTERN,
    });
    return {
      migrationId: null,
      source: this.#source,
      rules,
      asOf,
      totp: this.#totp,
      duplicates: { kind: "inline", rows },
    };
  }

  #classifyContext(migration: MigrationRow): ClassifyContext & { migrationId: string } {
    return {
      migrationId: migration.id,
      source: this.#source,
      rules: migration.config.rules,
      asOf: new Date(migration.config.as_of),
      totp: this.#totp,
      duplicates: { kind: "table" },
    };
  }

  /** Finds the migration to work on, creating (and planning) one when there is none. */
  async #resolveMigration(input: ReturnType<typeof runInputSchema.parse>): Promise<MigrationRow> {
    const dryRun = input.dry_run ?? false;
    if (input.migration_id !== undefined) {
      const existing = await loadMigration(this.#db, input.migration_id);
      if (existing) return this.#checkCompatible(existing, input.dry_run);
    } else {
      const latest = await latestMigration(this.#db, this.#source.name, dryRun);
      if (latest && this.#continuable(latest, dryRun)) return latest;
    }
    const id = input.migration_id ?? newMigrationId(dryRun);
    const batchSize = input.batch_size ?? this.options.batchSize;
    const rules = rulesOf(this.options);
    const asOf = new Date();
    // Planning reads happen outside the creation transaction (PGlite has one connection).
    const [total, boundaries, duplicates] = [
      await this.#source.count(),
      await this.#source.keyBoundaries(batchSize),
      await this.#source.duplicateEmails({
        rules,
        asOf,
        emailPattern: EMAIL_PATTERN,
        passwordHashPattern: PASSWORD_HASH_PATTERN,
      }),
    ];
    return await createMigration(this.#db, {
      id,
      source: this.#source.name,
      dryRun,
      batchSize,
      total,
      boundaries,
      duplicates,
      config: { rules, as_of: asOf.toISOString() },
    }, async (tx) => {
      if (input.migration_id !== undefined) {
        const raced = await loadMigration(tx, input.migration_id);
        return raced ? this.#checkCompatible(raced, input.dry_run) : null;
      }
      const latest = await latestMigration(tx, this.#source.name, dryRun);
      return latest && this.#continuable(latest, dryRun) ? latest : null;
    });
  }

  /**
   * Without an id, a call continues the source's unfinished migration. A finished real
   * migration is reported as done, and a rolled-back one as rolled back: cron keeps firing after
   * the end or an operator's rollback, and must neither start over nor undo the rollback (a new
   * migration takes an explicit new migration_id). A new dry run starts after a finished one, as
   * the data may have changed.
   */
  #continuable(migration: MigrationRow, dryRun: boolean): boolean {
    if (["pending", "running", "failed"].includes(migration.status)) return true;
    return !dryRun && isFinished(migration.status);
  }

  #checkCompatible(migration: MigrationRow, dryRun: boolean | undefined): MigrationRow {
    if (migration.source !== this.#source.name) {
      throw new AppError(
        "conflict",
        `migration ${migration.id} reads ${migration.source}, not ${this.#source.name}`,
      );
    }
    if (dryRun !== undefined && migration.dry_run !== dryRun) {
      throw new AppError(
        "conflict",
        `migration ${migration.id} is ${migration.dry_run ? "a dry run" : "a real run"}`,
      );
    }
    return migration;
  }

  async #processLease(
    classify: ClassifyContext & { migrationId: string },
    lease: Lease,
    dryRun: boolean,
  ): Promise<LeaseOutcome> {
    const context = {
      db: this.#db,
      source: this.#source,
      classify,
      dryRun,
      sampleSize: this.options.sampleSize,
      leaseTtlMs: this.options.leaseTtlMs,
      retry: this.#retry,
    };
    try {
      const result = await applyLease(context, lease);
      return { kind: "done", counts: result.counts, findings: result.findings };
    } catch (error) {
      const handled = await this.#handleLeaseError(lease, error);
      if (handled) return handled;
      // A permanent error: split the range so one bad row cannot block the others.
      try {
        const outcome = await bisectLease(context, lease, error);
        if (outcome.systemic) {
          const message = `batch ${lease.leaseNo} failed as a whole: ${outcome.firstError.message}`;
          await releaseLease(this.#db, lease, message);
          await markFailed(this.#db, lease.migrationId, message);
          return { kind: "failed", error: message };
        }
        return { kind: "done", counts: outcome.result.counts, findings: outcome.result.findings };
      } catch (inner) {
        const again = await this.#handleLeaseError(lease, inner);
        if (again) return again;
        const message = `batch ${lease.leaseNo} failed: ${describeError(inner).message}`;
        await releaseLease(this.#db, lease, message);
        await markFailed(this.#db, lease.migrationId, message);
        return { kind: "failed", error: message };
      }
    }
  }

  /** Outcomes for errors that are not about the batch's rows; null for the rest. */
  async #handleLeaseError(lease: Lease, error: unknown): Promise<LeaseOutcome | null> {
    if (error instanceof LeaseLostError) return { kind: "lost" };
    if (error instanceof MigrationStoppedError) return { kind: "stopped" };
    if (error instanceof RetriesExhaustedError) {
      const message = `batch ${lease.leaseNo}: ${error.message}`;
      await this.#recordTransientFailure(lease, message, error).catch(() => {
        // The database may be the thing that is down; the lease then simply expires.
      });
      return { kind: "transient", error: message };
    }
    return null;
  }

  async #recordTransientFailure(lease: Lease, message: string, error: RetriesExhaustedError) {
    await releaseLease(this.#db, lease, message);
    const stored = describeError(error.lastError);
    await this.#db.query(
      `INSERT INTO migration_errors (migration_id, error_code, error_message, error_details,
                                     retryable, attempts)
       VALUES ($1, $2, $3, $4::text::jsonb, true, $5)`,
      [
        lease.migrationId,
        TRANSIENT_EXHAUSTED,
        message,
        JSON.stringify({ lease_no: lease.leaseNo, sqlstate: stored.code, range: lease.range }),
        error.attempts,
      ],
    );
    await noteError(this.#db, lease.migrationId, message);
  }
}

function progressOf(row: MigrationRow, invocation: BatchCounts, elapsedMs: number): BatchProgress {
  return {
    migrationId: row.id,
    dryRun: row.dry_run,
    total: row.total_count,
    processed: row.processed_count,
    migrated: row.migrated_count,
    skipped: row.skipped_count,
    errors: row.error_count,
    invocationProcessed: invocation.processed,
    elapsedMs,
  };
}

/**
 * CPU spent by one run and a moving average per batch, so the run stops while the next batch
 * (with the same 1.5× margin as the wall-clock rule) still fits. Inert without a budget or when
 * the runtime cannot tell CPU time.
 */
class CpuMeter {
  readonly #clock: () => number | undefined;
  readonly #budgetMs: number | undefined;
  readonly #started: number | undefined;
  #averageBatchMs = 0;

  constructor(clock: () => number | undefined, budgetMs: number | undefined) {
    this.#clock = clock;
    this.#budgetMs = budgetMs;
    this.#started = budgetMs === undefined ? undefined : clock();
  }

  nextBatchWouldExceed(): boolean {
    if (this.#budgetMs === undefined || this.#started === undefined) return false;
    const now = this.#clock();
    if (now === undefined) return false;
    return now - this.#started + this.#averageBatchMs * 1.5 >= this.#budgetMs;
  }

  startBatch(): { end(): void } {
    const started = this.#started === undefined ? undefined : this.#clock();
    return {
      end: () => {
        const now = started === undefined ? undefined : this.#clock();
        if (started === undefined || now === undefined) return;
        const spent = now - started;
        this.#averageBatchMs = this.#averageBatchMs === 0
          ? spent
          : this.#averageBatchMs * 0.7 + spent * 0.3;
      },
    };
  }
}
