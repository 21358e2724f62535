/**
 * Runtime flags: the per-function routing policy an operator changes in the database
 * (runtime_flags) without a redeploy. A NULL column means "inherit": from the global '*' row,
 * then from the environment.
 */
import type { CanarySelection } from "../config/env.ts";
import type { StageRow } from "../cutover/stage-store.ts";
import type { StageBehaviour } from "../cutover/stages.ts";

export type { CanarySelection };

/** function_name of the row that applies to every function; its force_original is the kill switch. */
export const GLOBAL_FLAGS_NAME = "*";

/** Same rule as the table's CHECK constraint: '*' or a Supabase function name. */
export const FUNCTION_NAME_PATTERN = /^(\*|[a-z][a-z0-9-]{0,62})$/;

/** One runtime_flags row, camel-cased. Every policy column may be null (= inherit). */
export interface RuntimeFlagsRow {
  readonly functionName: string;
  readonly rolloutPercentage: number | null;
  readonly enableFallback: boolean | null;
  readonly enableComparison: boolean | null;
  readonly forceOriginal: boolean | null;
  readonly canaryEnabled: boolean | null;
  readonly canaryPercentage: number | null;
  readonly canarySelection: CanarySelection | null;
  readonly canaryWhitelist: readonly string[] | null;
  readonly canaryEmailDomains: readonly string[] | null;
  /** Bumped by a trigger on every update. */
  readonly version: number;
  readonly updatedBy: string | null;
  readonly reason: string | null;
  readonly updatedAt: Date;
}

/** The policy columns an operator may set; `null` clears a column back to "inherit". */
export type RuntimeFlagsPatch = {
  -readonly [
    K in keyof Omit<
      RuntimeFlagsRow,
      "functionName" | "version" | "updatedBy" | "reason" | "updatedAt"
    >
  ]?: RuntimeFlagsRow[K];
};

/** The two rows that decide one function's routing: the global '*' row and its own row. */
export interface FlagsRows {
  readonly global: RuntimeFlagsRow | null;
  readonly function: RuntimeFlagsRow | null;
  /**
   * The function's migration_stages row (shared/cutover), read with the flags so both reach an
   * instance through one cache. Absent: not a staged function; null: no row (the env seed).
   */
  readonly stage?: StageRow | null;
}

export interface CanaryConfig {
  readonly enabled: boolean;
  /** 0–100, used by the 'random' and 'user_id_hash' selections. */
  readonly percentage: number;
  readonly selection: CanarySelection;
  /** Lower-cased; matched against the routing key, the email and the user id. */
  readonly whitelist: readonly string[];
  /** Lower-cased, without a leading '@'. */
  readonly emailDomains: readonly string[];
}

/** The effective routing policy of one function after DB rows override the environment. */
export interface RoutingConfig {
  readonly rolloutPercentage: number;
  readonly enableFallback: boolean;
  readonly enableComparison: boolean;
  readonly forceOriginal: boolean;
  readonly fallbackTimeoutMs: number;
  readonly canary: CanaryConfig;
  /**
   * The function's migration stage (shared/cutover/stages.ts): which path its requests are
   * pinned to and which systems they write and read. Absent for functions without stages and
   * for fixed configs (tests), which route as before.
   */
  readonly stage?: StageBehaviour;
}

/** Where a config came from, for metrics and logs. */
export interface RoutingConfigProvenance {
  readonly globalVersion: number | null;
  readonly functionVersion: number | null;
  /** True when the last database read failed and the last good flags are being served. */
  readonly stale: boolean;
}

export interface ResolvedRouting {
  readonly config: RoutingConfig;
  readonly provenance: RoutingConfigProvenance;
}

/** What the migrator asks for on every request; implementations must not throw. */
export interface RoutingConfigSource {
  configFor(functionName: string): Promise<ResolvedRouting>;
}
