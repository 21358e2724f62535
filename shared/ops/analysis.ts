/**
 * Defaults and operator input for rollout plans. Thresholds follow the operations runbook:
 * critical at an auth failure rate above 20 % or a p95 above 1,000 ms, warning above 10 %.
 * Everything is overridable per rollout (and per start), and validated here so a bad value is a
 * 4xx naming the field, never a 500 or a silently odd plan.
 */
import { z } from "zod";
import { AppError, err, ok, type Result } from "../result.ts";
import type { AnalysisConfig, HealthThresholds } from "./types.ts";
import { redactString } from "../observability/redact.ts";

export const DEFAULT_STEPS: readonly number[] = [1, 5, 10, 25, 50, 75, 100];
export const DEFAULT_ROLLBACK_STEPS: readonly number[] = [75, 50, 25, 10, 0];
export const DEFAULT_HOLD_SECONDS = 300;

export const DEFAULT_THRESHOLDS: HealthThresholds = {
  criticalErrorRate: 0.2,
  warningErrorRate: 0.1,
  criticalP95Ms: 1000,
  warningP95Ms: null,
  criticalMismatchRate: 0.05,
  warningMismatchRate: 0.01,
  warningErrorRateIncrease: 0.05,
};

export const DEFAULT_ANALYSIS: AnalysisConfig = {
  windowSeconds: 300,
  minSamples: 20,
  minComparisons: 20,
  failureLimit: 3,
  minIntervalSeconds: 30,
  thresholds: DEFAULT_THRESHOLDS,
};

/** numeric(5,2) like runtime_flags.rollout_percentage: 0–100, at most two decimals. */
const percentage = z.number().min(0).max(100).refine(
  (value) => Math.abs(value * 100 - Math.round(value * 100)) < 1e-7,
  "at most two decimals",
);
const rate = z.number().min(0).max(1);
/** Operator text is stored (runtime_flags, rollouts, migration_log, alerts): redacted like logs. */
const reason = z.string().trim().min(1).max(500).transform((text) => redactString(text));

export const stepsSchema = z.array(percentage.refine((v) => v > 0, "must be above 0"))
  .min(1).max(20)
  .refine((steps) => steps.every((v, i) => i === 0 || v > steps[i - 1]!), {
    message: "must be strictly increasing",
  });

export const rollbackStepsSchema = z.array(percentage).min(1).max(20)
  .refine((steps) => steps.every((v, i) => i === 0 || v < steps[i - 1]!), {
    message: "must be strictly decreasing",
  })
  .refine((steps) => steps[steps.length - 1] === 0, { message: "must end at 0" });

const thresholdsSchema = z.strictObject({
  criticalErrorRate: rate.optional(),
  warningErrorRate: rate.nullable().optional(),
  criticalP95Ms: z.number().positive().max(600_000).nullable().optional(),
  warningP95Ms: z.number().positive().max(600_000).nullable().optional(),
  criticalMismatchRate: rate.nullable().optional(),
  warningMismatchRate: rate.nullable().optional(),
  warningErrorRateIncrease: rate.nullable().optional(),
});

export const analysisInputSchema = z.strictObject({
  windowSeconds: z.number().int().min(10).max(86_400).optional(),
  minSamples: z.number().int().min(1).max(1_000_000).optional(),
  minComparisons: z.number().int().min(1).max(1_000_000).optional(),
  failureLimit: z.number().int().min(1).max(100).optional(),
  minIntervalSeconds: z.number().int().min(0).max(3600).optional(),
  thresholds: thresholdsSchema.optional(),
});
export type AnalysisInput = z.infer<typeof analysisInputSchema>;

const holdSeconds = z.number().int().min(0).max(604_800);

export const startInputSchema = z.strictObject({
  steps: stepsSchema.optional(),
  holdSeconds: holdSeconds.optional(),
  analysis: analysisInputSchema.optional(),
  reason: reason.optional(),
});
export type StartInput = z.infer<typeof startInputSchema>;

export const retryInputSchema = z.strictObject({
  /** Step index to restart from (default 0: the first step). */
  fromStep: z.number().int().min(0).max(19).optional(),
  reason: reason.optional(),
});

export const reasonInputSchema = z.strictObject({ reason: reason.optional() });

export const plannedRollbackInputSchema = z.strictObject({
  steps: rollbackStepsSchema.optional(),
  holdSeconds: holdSeconds.optional(),
  reason: reason.optional(),
});

export const percentageInputSchema = z.strictObject({
  percentage,
  reason: reason.optional(),
});

/** The emergency rollback must be confirmed by typing the word, as on the dashboard. */
export const EMERGENCY_CONFIRMATION = "ROLLBACK";
export const UNDO_CONFIRMATION = "RESTORE";

export const emergencyInputSchema = z.strictObject({
  confirm: z.literal(EMERGENCY_CONFIRMATION, {
    error: `must be "${EMERGENCY_CONFIRMATION}" to confirm the emergency rollback`,
  }),
  reason,
});

export const undoEmergencyInputSchema = z.strictObject({
  confirm: z.literal(UNDO_CONFIRMATION, {
    error: `must be "${UNDO_CONFIRMATION}" to confirm lifting the emergency rollback`,
  }),
  reason: reason.optional(),
});

/** Merges operator overrides over a base analysis (defaults, or a rollout's stored analysis). */
export function mergeAnalysis(
  base: AnalysisConfig,
  input: AnalysisInput | undefined,
): AnalysisConfig {
  if (!input) return base;
  const overrides = Object.fromEntries(
    Object.entries(input.thresholds ?? {}).filter(([, value]) => value !== undefined),
  ) as Partial<HealthThresholds>;
  const thresholds: HealthThresholds = { ...base.thresholds, ...overrides };
  return {
    windowSeconds: input.windowSeconds ?? base.windowSeconds,
    minSamples: input.minSamples ?? base.minSamples,
    minComparisons: input.minComparisons ?? base.minComparisons,
    failureLimit: input.failureLimit ?? base.failureLimit,
    minIntervalSeconds: input.minIntervalSeconds ?? base.minIntervalSeconds,
    thresholds,
  };
}

/** Reads a stored analysis defensively: missing keys (older rows) fall back to the defaults. */
export function analysisFromJson(value: unknown): AnalysisConfig {
  const parsed = analysisInputSchema.safeParse(value);
  return mergeAnalysis(DEFAULT_ANALYSIS, parsed.success ? parsed.data : undefined);
}

/** Validates input against a schema; the error names the first offending field. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
): Result<z.output<S>, AppError> {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return ok(parsed.data);
  const issues = parsed.error.issues.map((issue) => ({
    field: issue.path.join(".") || "body",
    message: issue.message,
  }));
  const first = issues[0]!;
  return err(
    new AppError("validation_failed", `${first.field}: ${first.message}`, {
      field: first.field,
      issues,
    }),
  );
}

/**
 * Canary levers of one function (runtime_flags canary_* columns; the flags store validates the
 * values). null clears a column, so the environment's default applies again.
 */
export const canaryInputSchema = z.strictObject({
  enabled: z.boolean().nullable().optional(),
  percentage: z.number().min(0).max(100).nullable().optional(),
  selection: z.string().nullable().optional(),
  whitelist: z.array(z.string()).nullable().optional(),
  emailDomains: z.array(z.string()).nullable().optional(),
  reason: reason.optional(),
}).refine(
  (body) =>
    body.enabled !== undefined || body.percentage !== undefined || body.selection !== undefined ||
    body.whitelist !== undefined || body.emailDomains !== undefined,
  { message: "name at least one of enabled, percentage, selection, whitelist, emailDomains" },
);
