import type { Env } from "../config/env.ts";
import type { StageRow } from "../cutover/stage-store.ts";
import { initialStage, isStagedFunction, stageBehaviour } from "../cutover/stages.ts";
import type {
  CanaryConfig,
  ResolvedRouting,
  RoutingConfig,
  RoutingConfigSource,
  RuntimeFlagsRow,
} from "./types.ts";

/** The environment variables routing reads; a full Env satisfies it. */
export type RoutingEnv =
  & Pick<
    Env,
    | "MIGRATION_ROLLOUT_PERCENTAGE"
    | "MIGRATION_ENABLE_FALLBACK"
    | "MIGRATION_ENABLE_COMPARISON"
    | "FORCE_ORIGINAL_IMPLEMENTATION"
    | "MIGRATION_FALLBACK_TIMEOUT"
    | "CANARY_ENABLED"
    | "CANARY_PERCENTAGE"
    | "CANARY_USER_SELECTION"
    | "CANARY_WHITELIST"
    | "CANARY_EMAIL_DOMAINS"
  >
  // Seed of the migration stage when a staged function has no row (shared/cutover/stages.ts).
  // Optional so routing-only callers keep compiling; without MIGRATION_MODE there are no stages.
  & Partial<Pick<Env, "MIGRATION_MODE" | "USE_BETTER_AUTH">>;

/**
 * The stage of `functionName`: its row, else the env seed; undefined for a function without
 * stages, or when the environment given has no MIGRATION_MODE (routing-only callers).
 */
export function resolveStage(
  env: RoutingEnv,
  functionName: string,
  row: StageRow | null | undefined,
) {
  if (!isStagedFunction(functionName)) return undefined;
  const stage = row?.stage ??
    (env.MIGRATION_MODE
      ? initialStage({
        MIGRATION_MODE: env.MIGRATION_MODE,
        USE_BETTER_AUTH: env.USE_BETTER_AUTH ?? false,
      })
      : undefined);
  return stage ? stageBehaviour(stage, functionName) : undefined;
}

/**
 * The effective routing policy of one function. Precedence per setting: the function's own row,
 * then the global '*' row, then the environment (a NULL column inherits).
 *
 * force_original is the exception: `true` in EITHER row wins, so the global kill switch cannot
 * be overridden by a function row that says `false`. Only when neither row says `true` does the
 * normal precedence apply (so a DB `false` can lift an environment FORCE_ORIGINAL_IMPLEMENTATION).
 *
 * fallbackTimeoutMs has no column: it always comes from MIGRATION_FALLBACK_TIMEOUT.
 */
export function resolveRoutingConfig(
  env: RoutingEnv,
  globalRow: RuntimeFlagsRow | null,
  functionRow: RuntimeFlagsRow | null,
): RoutingConfig {
  const pick = <K extends keyof RuntimeFlagsRow>(
    key: K,
  ): NonNullable<RuntimeFlagsRow[K]> | undefined =>
    (functionRow?.[key] ?? globalRow?.[key] ?? undefined) as
      | NonNullable<RuntimeFlagsRow[K]>
      | undefined;

  const killSwitch = globalRow?.forceOriginal === true || functionRow?.forceOriginal === true;
  const canary: CanaryConfig = {
    enabled: pick("canaryEnabled") ?? env.CANARY_ENABLED,
    percentage: pick("canaryPercentage") ?? env.CANARY_PERCENTAGE,
    selection: pick("canarySelection") ?? env.CANARY_USER_SELECTION,
    whitelist: normaliseList(pick("canaryWhitelist") ?? env.CANARY_WHITELIST),
    emailDomains: normaliseList(pick("canaryEmailDomains") ?? env.CANARY_EMAIL_DOMAINS)
      .map((domain) => domain.replace(/^@/, "")),
  };
  return {
    rolloutPercentage: pick("rolloutPercentage") ?? env.MIGRATION_ROLLOUT_PERCENTAGE,
    enableFallback: pick("enableFallback") ?? env.MIGRATION_ENABLE_FALLBACK,
    enableComparison: pick("enableComparison") ?? env.MIGRATION_ENABLE_COMPARISON,
    forceOriginal: killSwitch || (pick("forceOriginal") ?? env.FORCE_ORIGINAL_IMPLEMENTATION),
    fallbackTimeoutMs: env.MIGRATION_FALLBACK_TIMEOUT,
    canary,
  };
}

function normaliseList(values: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const value of values) {
    const item = value.trim().toLowerCase();
    if (item) seen.add(item);
  }
  return [...seen];
}

/** A fixed config: for tests, benchmarks, and functions that do not read runtime flags. */
export function staticRoutingSource(config: RoutingConfig): RoutingConfigSource {
  const resolved: ResolvedRouting = {
    config,
    provenance: { globalVersion: null, functionVersion: null, stale: false },
  };
  const answer = Promise.resolve(resolved);
  return { configFor: () => answer };
}

/** Routing config with everything off: every request goes to the original. */
export function defaultRoutingConfig(overrides: Partial<RoutingConfig> = {}): RoutingConfig {
  return {
    rolloutPercentage: 0,
    enableFallback: true,
    enableComparison: false,
    forceOriginal: false,
    fallbackTimeoutMs: 5000,
    ...overrides,
    canary: {
      enabled: false,
      percentage: 0,
      selection: "user_id_hash",
      whitelist: [],
      emailDomains: [],
      ...overrides.canary,
    },
  };
}
