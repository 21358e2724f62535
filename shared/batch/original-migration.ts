/**
 * The original implementation as an operation with the engine's shapes, for the migrate-batch
 * function's `original` handler: POST / runs the guide's per-user loop (original.ts) within the
 * wall-clock budget; plan mode plans the same next batch as the engine, user by user through
 * the admin API, so the EdgeFunctionMigrator can compare the two plans.
 */
import type { SqlClient } from "../db/sql-client.ts";
import { AppError } from "../result.ts";
import {
  type EngineOptions,
  type PlanInput,
  planInputSchema,
  rulesOf,
  type RunInput,
  runInputSchema,
} from "./config.ts";
import type { NextBatchPlan, RunResult } from "./engine.ts";
import {
  isFinished,
  latestMigration,
  loadMigration,
  type MigrationRow,
} from "./migration-state.ts";
import {
  type AdminUsersApi,
  type OriginalContext,
  planOriginalIds,
  runOriginal,
} from "./original.ts";
import { parseInput } from "./parse.ts";
import { EMAIL_PATTERN, PASSWORD_HASH_PATTERN } from "./rules.ts";
import type { DuplicateEmail, SourceAdapter } from "./source.ts";
import { cpuOrElapsedMs } from "../runtime/cpu.ts";

export interface OriginalMigrationDeps {
  /** The database with auth.users (hash look-ups) and the Better Auth + tracking tables. */
  readonly db: SqlClient;
  /** supabase-js `auth.admin` of a service-role client. */
  readonly admin: AdminUsersApi;
  readonly source: SourceAdapter;
  readonly options: Pick<
    EngineOptions,
    "batchSize" | "budgetMs" | "cpuBudgetMs" | "deletedUsers" | "bannedUsers" | "duplicateEmails"
  >;
}

export class OriginalBatchMigration {
  constructor(private readonly deps: OriginalMigrationDeps) {}

  /** The source name its migration rows carry (kept apart from the engine's migrations). */
  get sourceName(): string {
    return `${this.deps.source.name}:per_user`;
  }

  async run(rawInput: RunInput = {}, control: { signal?: AbortSignal } = {}): Promise<RunResult> {
    const input = parseInput(runInputSchema, rawInput);
    const started = performance.now();
    const budget = Math.min(
      input.budget_ms ?? this.deps.options.budgetMs,
      this.deps.options.budgetMs,
    );
    // CPU as well as wall clock (hosted: ~2 s of CPU per request): no new page once spent.
    const cpuBudget = this.deps.options.cpuBudgetMs;
    const cpuStarted = cpuBudget === undefined ? undefined : cpuOrElapsedMs();
    let pagesDone = 0;
    // Asked once per finished page: stop while the next page (at this call's average CPU per
    // page, with the engine's 1.5× margin) still fits in the budget.
    const nextPageWouldExceed = (budget: number) => {
      pagesDone++;
      if (cpuStarted === undefined) return false;
      const spent = cpuOrElapsedMs() - cpuStarted;
      return spent + (spent / pagesDone) * 1.5 >= budget;
    };
    const migration = await this.#migration(input.migration_id, input.dry_run ?? false);
    const rules = rulesOf(this.deps.options);
    const asOf = new Date(migration.config.as_of ?? migration.created_at);
    const context: OriginalContext & { migrationId: string } = {
      db: this.deps.db,
      admin: this.deps.admin,
      migrationId: migration.id,
      migratedFrom: this.deps.source.name,
      rules,
      asOf,
      duplicates: await this.deps.source.duplicateEmails({
        rules,
        asOf,
        emailPattern: EMAIL_PATTERN,
        passwordHashPattern: PASSWORD_HASH_PATTERN,
      }),
    };
    const result = isFinished(migration.status)
      ? {
        processed: 0,
        migrated: 0,
        skipped: 0,
        errors: 0,
        pages: 0,
        reachedEnd: true,
        failures: [],
      }
      : await runOriginal(context, {
        perPage: input.batch_size ?? migration.batch_size,
        maxPages: input.max_batches,
        deadline: started + budget,
        startPage: nextPageOf(migration),
        signal: control.signal,
        shouldStop: cpuBudget === undefined ? undefined : () => nextPageWouldExceed(cpuBudget),
        inSupabaseAuth: this.deps.source.inSupabaseAuth,
        dryRun: migration.dry_run,
      });
    if (result.reachedEnd) {
      await this.deps.db.query(
        `UPDATE migration_states SET status = 'completed', completed_at = now(), updated_at = now(),
           total_count = processed_count
         WHERE id = $1 AND status = 'running'`,
        [migration.id],
      );
    }
    const final = (await loadMigration(this.deps.db, migration.id))!;
    return {
      migration_id: final.id,
      status: final.status,
      dry_run: final.dry_run,
      processed: result.processed,
      migrated: result.migrated,
      skipped: result.skipped,
      errors: result.errors,
      remaining: final.status === "completed"
        ? 0
        : Math.max(0, (await this.deps.source.count()) - final.processed_count),
      done: final.status === "completed",
      batches: result.pages,
      leases: [],
      elapsed_ms: Math.round(performance.now() - started),
      stopped_because: final.status === "completed"
        ? "done"
        : final.status === "rolled_back"
        ? "rolled_back"
        : "budget",
      totals: {
        total: final.total_count,
        processed: final.processed_count,
        migrated: final.migrated_count,
        skipped: final.skipped_count,
        errors: final.error_count,
      },
      ...(final.dry_run ? { sample: [], failures: result.failures } : {}),
    };
  }

  /** The same batch as BatchMigrationEngine.planNextBatch, planned one user at a time. */
  async planNextBatch(rawInput: PlanInput = {}): Promise<NextBatchPlan> {
    const input = parseInput(planInputSchema, rawInput);
    const migration = input.migration_id
      ? await loadMigration(this.deps.db, input.migration_id)
      : await latestMigration(this.deps.db, this.deps.source.name, false);
    if (input.migration_id && !migration) {
      throw new AppError("not_found", `migration ${input.migration_id} does not exist`);
    }
    const after = input.after_id ?? migration?.last_processed_id ?? null;
    const size = input.batch_size ?? migration?.batch_size ?? this.deps.options.batchSize;
    const ids = await this.deps.source.idsAfter(after, size);
    const rules = migration?.config.rules ?? rulesOf(this.deps.options);
    const asOf = migration ? new Date(migration.config.as_of) : new Date();
    const duplicates: DuplicateEmail[] = migration
      ? (await this.deps.db.query<DuplicateEmail>(
        "SELECT email_lower, keeper_id FROM batch_duplicate_emails WHERE migration_id = $1",
        [migration.id],
      )).rows
      : await this.deps.source.duplicateEmails({
        rules,
        asOf,
        emailPattern: EMAIL_PATTERN,
        passwordHashPattern: PASSWORD_HASH_PATTERN,
      });
    const plan = await planOriginalIds({
      db: this.deps.db,
      admin: this.deps.admin,
      migrationId: migration?.id ?? null,
      migratedFrom: this.deps.source.name,
      rules,
      asOf,
      duplicates,
    }, ids);
    return { migration_id: migration?.id ?? null, after_id: after, batch_size: size, plan };
  }

  /** The per-user path's own migration row (source "<source>:per_user"), created on demand. */
  async #migration(id: string | undefined, dryRun: boolean): Promise<MigrationRow> {
    if (id) {
      const existing = await loadMigration(this.deps.db, id);
      if (existing) return existing;
    } else {
      const latest = await latestMigration(this.deps.db, this.sourceName, dryRun);
      if (latest && ["pending", "running"].includes(latest.status)) return latest;
      if (latest && !dryRun && isFinished(latest.status)) return latest;
    }
    const newId = id ??
      `${dryRun ? "dry" : "per_user"}_${Date.now().toString(36)}_${
        crypto.randomUUID().slice(0, 8)
      }`;
    await this.deps.db.query(
      `INSERT INTO migration_states (id, kind, source, status, dry_run, batch_size, total_count,
                                     config, started_at)
       VALUES ($1, 'users', $2, 'running', $3, $4, $5, $6::text::jsonb, now())
       ON CONFLICT DO NOTHING`,
      [
        newId,
        this.sourceName,
        dryRun,
        this.deps.options.batchSize,
        await this.deps.source.count(),
        JSON.stringify({ rules: rulesOf(this.deps.options), as_of: new Date().toISOString() }),
      ],
    );
    const created = await loadMigration(this.deps.db, newId);
    if (!created) throw new AppError("conflict", `migration ${newId} could not be created`);
    return created;
  }
}

/** The listing page an earlier invocation stopped before (config.next_page), else the first. */
function nextPageOf(migration: MigrationRow): number {
  const page = (migration.config as { next_page?: unknown }).next_page;
  return typeof page === "number" && Number.isInteger(page) && page > 0 ? page : 1;
}
