/**
 * Inputs of the batch migration, validated with zod: the engine options (fixed per process, from
 * config or the CLI) and the per-request inputs of every operation (from HTTP bodies or the CLI).
 */
import { z } from "zod";

/** Migration ids travel in URLs, logs and CLI arguments: keep them plain. */
export const migrationIdSchema = z.string().regex(
  /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/,
  "expected 1-100 letters, digits, '_', '.', ':' or '-'",
);

export const batchSizeSchema = z.number().int().min(1).max(50_000);

export const engineOptionsSchema = z.object({
  /** Users per lease (keyset range) for migrations this engine creates. */
  batchSize: batchSizeSchema.default(1000),
  /** Wall-clock budget of one invocation; Supabase allows 150-400 s, cron fires every minute. */
  budgetMs: z.number().int().min(0).max(3_600_000).default(50_000),
  /**
   * CPU budget of one invocation (shared/runtime/cpu.ts: process CPU time, else elapsed time);
   * hosted Edge Functions get ~2 s of CPU per request. Unset: bounded by wall clock only (the CLI).
   */
  cpuBudgetMs: z.number().int().min(0).max(3_600_000).optional(),
  /** Retries of a batch after a transient error (serialization failure, deadlock, reset). */
  maxRetries: z.number().int().min(0).max(20).default(5),
  retryBaseDelayMs: z.number().int().min(0).max(60_000).default(100),
  retryMaxDelayMs: z.number().int().min(0).max(300_000).default(5_000),
  /** A claimed range not completed within this time is considered abandoned and re-taken. */
  leaseTtlMs: z.number().int().min(50).max(3_600_000).default(120_000),
  /** Soft-deleted source users (auth.users.deleted_at): recorded as errors, or migrated. */
  deletedUsers: z.enum(["reject", "migrate"]).default("reject"),
  /** Users banned at migration time (banned_until in the future). */
  bannedUsers: z.enum(["reject", "migrate"]).default("migrate"),
  /** Two source users with the same lower-cased email: reject the later ones, or all of them. */
  duplicateEmails: z.enum(["reject_later", "reject_all"]).default("reject_later"),
  /** How many planned users a dry run returns as a sample. */
  sampleSize: z.number().int().min(0).max(1000).default(20),
});

export type EngineOptions = z.output<typeof engineOptionsSchema>;
export type EngineOptionsInput = z.input<typeof engineOptionsSchema>;

/** The rules that decide which users migrate; stored with a migration so a resume keeps them. */
export interface MigrationRules {
  readonly deletedUsers: EngineOptions["deletedUsers"];
  readonly bannedUsers: EngineOptions["bannedUsers"];
  readonly duplicateEmails: EngineOptions["duplicateEmails"];
}

export function rulesOf(options: MigrationRules): MigrationRules {
  return {
    deletedUsers: options.deletedUsers,
    bannedUsers: options.bannedUsers,
    duplicateEmails: options.duplicateEmails,
  };
}

/**
 * The two engines behind POST /: the set-based SQL engine (the production default, also for the
 * cron's `{}`) and the per-user supabase-js original (the comparison baseline).
 */
export const BATCH_ENGINES = ["set_based", "per_user"] as const;
export type BatchEngineName = (typeof BATCH_ENGINES)[number];

export const runInputSchema = z.object({
  migration_id: migrationIdSchema.optional(),
  /** Which engine must serve this run (default set_based); see BATCH_ENGINES. */
  engine: z.enum(BATCH_ENGINES).optional(),
  batch_size: batchSizeSchema.optional(),
  dry_run: z.boolean().optional(),
  /** 0 creates (or looks up) the migration and reports on it without taking a batch. */
  max_batches: z.number().int().min(0).max(1_000_000).optional(),
  /**
   * Overrides the engine's wall-clock budget for this call (never above the engine's). A run
   * always takes at least one batch, so a budget smaller than a batch still makes progress.
   */
  budget_ms: z.number().int().min(0).max(3_600_000).optional(),
}).strict();
export type RunInput = z.input<typeof runInputSchema>;

export const rollbackInputSchema = z.object({
  migration_id: migrationIdSchema,
  confirm: z.literal(true, { error: "must be true to remove migrated users" }),
  budget_ms: z.number().int().min(0).max(3_600_000).optional(),
}).strict();
export type RollbackInput = z.input<typeof rollbackInputSchema>;

export const verifyInputSchema = z.object({
  migration_id: migrationIdSchema,
  /** Cap on the differing ids listed (all are counted). */
  max_ids: z.number().int().min(0).max(100_000).optional(),
}).strict();
export type VerifyInput = z.input<typeof verifyInputSchema>;

export const validateInputSchema = z.object({
  /** Resume a pre-flight that ran out of budget from the returned next_after_id. */
  after_id: z.guid().optional(),
  /** Cap on the failures listed (all are counted). */
  max_failures: z.number().int().min(0).max(100_000).optional(),
  budget_ms: z.number().int().min(0).max(3_600_000).optional(),
}).strict();
export type ValidateInput = z.input<typeof validateInputSchema>;

export const planInputSchema = z.object({
  /** The migration whose context (rules, duplicate emails, progress) the plan uses. */
  migration_id: migrationIdSchema.optional(),
  batch_size: batchSizeSchema.optional(),
  /** The batch is the batch_size source ids after this one (default: the migration's progress). */
  after_id: z.guid().optional(),
}).strict();
export type PlanInput = z.input<typeof planInputSchema>;
