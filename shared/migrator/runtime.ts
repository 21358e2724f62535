/**
 * One process's migration plumbing, shared by every migrator in it: the runtime-flags cache,
 * the batched metrics writer, the comparison store and the background tasks. On Supabase each
 * function is its own isolate, so in practice one runtime serves one function.
 *
 *   const runtime = createMigrationRuntime({ sql, env: config.env });
 *   const migrator = runtime.migrator({ policy, original, abstracted });
 *   Deno.serve(migrator.fetch);
 *   // shutdown / tests: await runtime.close()  (flushes shadows and metrics first)
 */
import type { Env } from "../config/env.ts";
import type { SqlClient } from "../db/sql-client.ts";
import { FlagsCache } from "../flags/cache.ts";
import type { RoutingEnv } from "../flags/resolve.ts";
import { FlagsRoutingSource } from "../flags/routing-source.ts";
import { RuntimeFlagsStore } from "../flags/store.ts";
import type { RoutingConfigSource } from "../flags/types.ts";
import { scrubErrorText } from "./attempt.ts";
import { BackgroundTasks } from "./background.ts";
import { CircuitBreaker, SqlBreakerStore } from "./circuit-breaker.ts";
import { SqlComparisonSink } from "./comparison-store.ts";
import { type MetricsWriterOptions, SqlMetricsWriter } from "./metrics-writer.ts";
import { NoiseFloor } from "./noise-floor.ts";
import { EdgeFunctionMigrator, type EdgeFunctionMigratorOptions } from "./migrator.ts";
import type { Handler, MigratorLogger, MigratorPolicy } from "./types.ts";

/** What routing reads, plus the runtime's own settings. */
export type MigrationRuntimeEnv =
  & RoutingEnv
  & Pick<Env, "FLAGS_CACHE_TTL_MS" | "ROUTING_KEY_HEADER" | "MAX_REQUEST_BYTES">
  // Optional so callers that predate the breaker keep compiling; absent means "off".
  & Partial<
    Pick<
      Env,
      | "MIGRATION_BREAKER_ENABLED"
      | "MIGRATION_BREAKER_FAILURES"
      | "MIGRATION_BREAKER_WINDOW_MS"
      | "MIGRATION_BREAKER_OPEN_MS"
      | "MIGRATION_SHADOW_NOISE_SAMPLE_RATE"
      | "MIGRATION_SHADOW_NOISE_HALF_LIFE_MS"
    >
  >;

export interface MigrationRuntimeOptions {
  /** The database holding runtime_flags, performance_metrics and shadow_comparisons. */
  readonly sql: SqlClient;
  readonly env: MigrationRuntimeEnv;
  readonly logger?: MigratorLogger;
  /** Share a flags cache built elsewhere (e.g. from DI); built from `sql` when absent. */
  readonly flagsCache?: FlagsCache;
  readonly metrics?: Omit<MetricsWriterOptions, "background" | "onError">;
  /** Per-migrator tuning applied to every migrator made by this runtime. */
  readonly migratorDefaults?: Pick<
    EdgeFunctionMigratorOptions,
    "maxCompareBytes" | "shadowTimeoutMs" | "maxConcurrentShadows" | "storeMatches"
  >;
}

export interface MigratorParts {
  readonly policy: MigratorPolicy;
  readonly original: Handler;
  readonly abstracted: Handler;
}

const jsonLogger: MigratorLogger = {
  warn: (message, fields) =>
    console.warn(JSON.stringify({ level: "warn", msg: message, ...fields })),
  error: (message, fields) =>
    console.error(JSON.stringify({ level: "error", msg: message, ...fields })),
};

function describe(error: unknown): string {
  return scrubErrorText(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
}

export class MigrationRuntime {
  readonly background: BackgroundTasks;
  readonly flagsStore: RuntimeFlagsStore;
  readonly flagsCache: FlagsCache;
  readonly routing: RoutingConfigSource;
  readonly metrics: SqlMetricsWriter;
  readonly comparisons: SqlComparisonSink;
  /** Shared by every migrator of this runtime (one breaker per function name); null when off. */
  readonly breaker: CircuitBreaker | null;
  /** Shared by every migrator of this runtime (keyed per function and operation); null when off. */
  readonly noiseFloor: NoiseFloor | null;
  readonly #options: MigrationRuntimeOptions;
  readonly #logger: MigratorLogger;

  constructor(options: MigrationRuntimeOptions) {
    this.#options = options;
    const logger = this.#logger = options.logger ?? jsonLogger;
    this.background = new BackgroundTasks({
      onError: (error) =>
        logger.error("migration background task failed", { error: describe(error) }),
    });
    this.flagsStore = new RuntimeFlagsStore(options.sql);
    this.flagsCache = options.flagsCache ?? new FlagsCache(this.flagsStore, {
      ttlMs: options.env.FLAGS_CACHE_TTL_MS,
      onError: (error, functionName) =>
        logger.warn("runtime flags read failed; serving last good flags", {
          function: functionName,
          error: describe(error),
        }),
    });
    this.routing = new FlagsRoutingSource(options.env, this.flagsCache);
    this.metrics = new SqlMetricsWriter(options.sql, {
      ...options.metrics,
      background: this.background,
      onError: (error, info) =>
        logger.warn("performance metrics write failed", { ...info, error: describe(error) }),
    });
    this.comparisons = new SqlComparisonSink(options.sql);
    this.breaker = breakerFromEnv(options, this.background, logger);
    const sampleRate = options.env.MIGRATION_SHADOW_NOISE_SAMPLE_RATE ?? 0;
    this.noiseFloor = sampleRate > 0
      ? new NoiseFloor({
        sampleRate,
        halfLifeMs: options.env.MIGRATION_SHADOW_NOISE_HALF_LIFE_MS ?? 600_000,
      })
      : null;
  }

  /** A migrator for one function, wired to this runtime's flags, metrics and comparisons. */
  migrator(parts: MigratorParts): EdgeFunctionMigrator {
    return new EdgeFunctionMigrator({
      ...this.#options.migratorDefaults,
      ...parts,
      routing: this.routing,
      metrics: this.metrics,
      comparisons: new SqlComparisonSink(this.#options.sql, {
        redactKeys: parts.policy.redactKeys,
      }),
      background: this.background,
      logger: this.#logger,
      ...(this.breaker && { breaker: this.breaker }),
      ...(this.noiseFloor && { noiseFloor: this.noiseFloor }),
      routingKeyHeader: this.#options.env.ROUTING_KEY_HEADER,
      maxBodyBytes: this.#options.env.MAX_REQUEST_BYTES,
    });
  }

  /** Settles shadows and abandoned attempts, then writes buffered metrics. */
  async flush(): Promise<void> {
    await this.background.drain();
    await this.metrics.flush();
  }

  /** flush(), then stop the metrics writer. Does not close `sql` (its owner does). */
  async close(): Promise<void> {
    await this.flush();
    await this.metrics.close();
  }
}

/** MIGRATION_BREAKER_*: on when MIGRATION_BREAKER_ENABLED is true (the env schema's default). */
function breakerFromEnv(
  options: MigrationRuntimeOptions,
  background: BackgroundTasks,
  logger: MigratorLogger,
): CircuitBreaker | null {
  const env = options.env;
  if (env.MIGRATION_BREAKER_ENABLED !== true) return null;
  return new CircuitBreaker({
    failureThreshold: env.MIGRATION_BREAKER_FAILURES ?? 5,
    windowMs: env.MIGRATION_BREAKER_WINDOW_MS ?? 30_000,
    openMs: env.MIGRATION_BREAKER_OPEN_MS ?? 30_000,
    cacheTtlMs: env.FLAGS_CACHE_TTL_MS,
    store: new SqlBreakerStore(options.sql),
    track: (task) => background.track(task),
    onStoreError: (error, name) =>
      logger.warn("circuit breaker state unavailable; using this instance's own", {
        breaker: name,
        error: describe(error),
      }),
  });
}

export function createMigrationRuntime(options: MigrationRuntimeOptions): MigrationRuntime {
  return new MigrationRuntime(options);
}
