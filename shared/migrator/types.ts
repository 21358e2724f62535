/**
 * The contract between the EdgeFunctionMigrator and the functions it wraps. Plain Request /
 * Response only (no Hono), so any function can use it.
 */

/** Which implementation ran (or answered). */
export type ImplementationPath = "original" | "abstracted";

/**
 * 'live' commits its work. 'plan' computes the same result without committing anything: used for
 * shadow runs of writes (validate, look up, build the response; never insert, update or send).
 */
export type ExecutionMode = "live" | "plan";

export interface HandlerContext {
  readonly requestId: string;
  /** URL path of the request, e.g. "/signup" or "/migrate-batch/status". */
  readonly path: string;
  readonly mode: ExecutionMode;
  /** Aborted when the migrator gives up on this attempt (timeout, client gone). */
  readonly signal: AbortSignal;
  /**
   * Call right before the first durable write. Returns true: go ahead and write (the migrator will
   * not run the other implementation for this request any more). Returns false: the migrator has
   * given up on this attempt (timeout) or this is a plan run, so the handler MUST NOT write and
   * should return promptly. This atomic gate is what makes fallback after a timeout safe.
   * Calling it again after a true is harmless and returns true.
   */
  claimCommit(): boolean;
  /** The key routing hashed (lower-cased email, JWT sub, or the configured header), if any. */
  readonly routingKey?: string;
  /** True when a canary rule (not the percentage rollout) selected this request. */
  readonly canary: boolean;
}

export type Handler = (req: Request, ctx: HandlerContext) => Promise<Response>;

/**
 * How safe an operation is to repeat:
 * - read_only: no durable effect, safe to repeat and to shadow live;
 * - idempotent: repeating it has the same effect as once (e.g. an upsert keyed on the request);
 * - write: repeating it could duplicate; fallback only if nothing was committed.
 */
export type OperationSafety = "read_only" | "idempotent" | "write";

/**
 * 'live' runs the other implementation for real (only honoured for read_only and idempotent
 * operations; a 'write' asking for 'live' runs in 'plan'); 'plan' runs it with mode 'plan'.
 */
export type ShadowMode = "off" | "live" | "plan";

export interface OperationPolicy {
  /** Short stable name for metrics, e.g. "signup", "batch.status". */
  readonly name: string;
  readonly safety: OperationSafety;
  readonly shadow: ShadowMode;
}

/** Who the request is for, as far as routing can tell without verifying anything. */
export interface RoutingIdentity {
  /** The key that is hashed; undefined when the request names no user. */
  readonly key?: string;
  /** Lower-cased email (body `email`, else the JWT `email` claim). */
  readonly email?: string;
  /** JWT `sub` or the configured header's value. */
  readonly userId?: string;
}

export interface MigratorPolicy {
  /** The Supabase function name (runtime_flags.function_name), e.g. "signup". */
  readonly functionName: string;
  /**
   * Classifies a request into an operation. Must not read the body (it has already been read by
   * the migrator; use method and URL). A throw is treated as { safety: 'write', shadow: 'off' }.
   */
  classify(req: Request): OperationPolicy;
  /**
   * Paths ignored when comparing shadow responses, on top of the defaults: dot-separated, '*'
   * matches one segment, '**' any number (including none); array items are indexed segments.
   * Examples: "user.id", "session.*", "*.created_at", "**.token".
   */
  readonly volatilePaths?: readonly string[];
  /**
   * Pins a request to one implementation whatever canary and percentage say (the kill switch
   * still wins): for operations that name no user, where a percentage means nothing — e.g.
   * migrate-batch's cron run, which the set-based engine serves by default. Undefined: route
   * normally. Must not throw (a throw routes normally).
   */
  pinnedPath?(req: Request, body: Uint8Array | null): ImplementationPath | undefined;
  /** Replaces the built-in routing-key extraction (header, email, JWT sub). */
  routingIdentity?(req: Request, body: Uint8Array | null): RoutingIdentity;
  /** Extra keys redacted from stored comparison bodies (e.g. "email" to keep PII out). */
  readonly redactKeys?: readonly string[];
  /** Hash salt of the percentage rollout; the default is shared by all functions (see routing.ts). */
  readonly rolloutSalt?: string;
}

/** One row for performance_metrics. */
export interface RequestMetric {
  readonly functionName: string;
  readonly operation: string;
  /** The implementation that answered the client. */
  readonly path: ImplementationPath;
  readonly durationMs: number;
  readonly status: number;
  readonly success: boolean;
  readonly fallback: boolean;
  /** null when no comparison ran. */
  readonly mismatch: boolean | null;
  /** A mismatch the shadow noise floor does not explain; null when no comparison ran. */
  readonly disagreement?: boolean | null;
  readonly canary: boolean;
  readonly requestId: string;
  readonly errorMessage: string | null;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly recordedAt: Date;
}

/** Accepts metrics without blocking the caller. */
export interface MetricsSink {
  record(metric: RequestMetric): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** One row for shadow_comparisons. Bodies are already redacted. */
export interface ShadowComparison {
  readonly requestId: string;
  readonly functionName: string;
  readonly operation: string;
  readonly primaryPath: ImplementationPath;
  readonly shadowPath: ImplementationPath;
  readonly matched: boolean;
  readonly primaryStatus: number | null;
  readonly shadowStatus: number | null;
  readonly differingPaths: readonly string[];
  readonly primaryBody: unknown;
  readonly shadowBody: unknown;
  readonly shadowError: string | null;
  /** Differing paths the noise floor explains (noise-floor.ts); empty when none. */
  readonly noisePaths?: readonly string[];
  /** A difference the noise floor does not explain; null when unknown (shadow timed out). */
  readonly disagreement?: boolean | null;
}

export interface ComparisonSink {
  save(comparison: ShadowComparison): Promise<void>;
}

/** Structured logging hook; fields are redacted by the migrator before they get here. */
export interface MigratorLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}
