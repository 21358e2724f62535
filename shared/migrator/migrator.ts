/**
 * The EdgeFunctionMigrator: serves each request with the original or the abstracted
 * implementation of a function, by sticky per-user routing under runtime flags, with safe
 * fallback, shadow comparison off the response path, and non-blocking metrics.
 *
 * Per request:
 * 1. request id (a valid incoming x-request-id, else a new UUID); body read once (bounded);
 * 2. routing config (runtime flags over env, cached) → operation policy → routing identity →
 *    decision: kill switch → stage pin → policy pin → canary → sticky percentage (routing.ts);
 * 3. original: run it. abstracted: when fallback is on, ask the circuit breaker first (open → the
 *    original at once, recorded as a fallback; circuit-breaker.ts), then run it under
 *    MIGRATION_FALLBACK_TIMEOUT;
 *    on a throw, a 5xx or the timeout, the original serves the request only when repeating is
 *    safe (read_only/idempotent, or the attempt never claimed a commit). An attempt that claimed a
 *    commit and then timed out is waited for: its own answer is returned, nothing runs twice;
 * 4. response stamped with x-request-id and x-migration-path and returned; the shadow (if any)
 *    and the metric are handed to background tasks.
 */
import { defaultRoutingConfig } from "../flags/resolve.ts";
import type { ResolvedRouting, RoutingConfigSource } from "../flags/types.ts";
import {
  describeFailure,
  discard,
  invoke,
  isFailure,
  type Outcome,
  scrubErrorText,
  TIMED_OUT,
  withTimeout,
} from "./attempt.ts";
import { BackgroundTasks } from "./background.ts";
import type { Admission, CircuitBreaker } from "./circuit-breaker.ts";
import { CommitGate } from "./commit-gate.ts";
import { DEFAULT_VOLATILE_PATHS, PathMatcher } from "./compare.ts";
import {
  BodyTooLargeError,
  copyRequest,
  errorResponse,
  readBody,
  requestIdOf,
  stampResponse,
} from "./http.ts";
import type { NoiseFloor } from "./noise-floor.ts";
import { decideRoute, type RouteDecision } from "./routing.ts";
import { extractRoutingIdentity } from "./routing-key.ts";
import { effectiveShadowMode, runShadow } from "./shadow.ts";
import type {
  ComparisonSink,
  Handler,
  HandlerContext,
  ImplementationPath,
  MetricsSink,
  MigratorLogger,
  MigratorPolicy,
  OperationPolicy,
  RoutingIdentity,
} from "./types.ts";

export interface EdgeFunctionMigratorOptions {
  readonly policy: MigratorPolicy;
  readonly original: Handler;
  readonly abstracted: Handler;
  /** Runtime flags over env (FlagsRoutingSource), or staticRoutingSource(config). */
  readonly routing: RoutingConfigSource;
  /** performance_metrics writer (SqlMetricsWriter); metrics are dropped when absent. */
  readonly metrics?: MetricsSink;
  /** shadow_comparisons writer (SqlComparisonSink); comparisons still run (and count) without. */
  readonly comparisons?: ComparisonSink;
  /** Shared with the metrics writer so one drain() settles everything. */
  readonly background?: BackgroundTasks;
  readonly logger?: MigratorLogger;
  /** ROUTING_KEY_HEADER. */
  readonly routingKeyHeader?: string;
  /** Larger bodies get 413 (default 1 MiB; pass MAX_REQUEST_BYTES). */
  readonly maxBodyBytes?: number;
  /** Bodies longer than this are compared as truncated text (default 256 KiB). */
  readonly maxCompareBytes?: number;
  /** A shadow run is abandoned after this (default 10 s). */
  readonly shadowTimeoutMs?: number;
  /** Beyond this many shadows in flight, new ones are skipped (load shedding; default 16). */
  readonly maxConcurrentShadows?: number;
  /** Also store matching comparisons (without bodies). Default false: matches are only counted. */
  readonly storeMatches?: boolean;
  /**
   * Circuit breaker of the abstracted path, keyed by the function name (circuit-breaker.ts). It
   * acts only while fallback is enabled: open → the original serves at once, no attempt, no
   * shadow of the abstracted path.
   */
  readonly breaker?: CircuitBreaker;
  /**
   * Shadow noise floor (noise-floor.ts): on a sample, the primary runs a second time beside the
   * shadow, and mismatches on paths that differ between two runs of it are reported as noise.
   */
  readonly noiseFloor?: NoiseFloor;
}

/** Set on responses the breaker decided: "open" (sent straight to the original) or "probe". */
export const BREAKER_HEADER = "x-migration-breaker";

/** What answered, and how: the basis of the response and of its metric. */
interface Served {
  readonly path: ImplementationPath;
  readonly outcome: Outcome;
  readonly fallback: boolean;
  readonly errorMessage: string | null;
  readonly notes?: Readonly<Record<string, unknown>>;
}

const UNCLASSIFIED: OperationPolicy = { name: "unclassified", safety: "write", shadow: "off" };

export class EdgeFunctionMigrator {
  readonly functionName: string;
  readonly #options: EdgeFunctionMigratorOptions;
  readonly #background: BackgroundTasks;
  readonly #volatile: PathMatcher;
  readonly #maxBodyBytes: number;
  #activeShadows = 0;

  constructor(options: EdgeFunctionMigratorOptions) {
    this.#options = options;
    this.functionName = options.policy.functionName;
    this.#background = options.background ??
      new BackgroundTasks({
        onError: (error) => this.#log("error", "background task failed", error),
      });
    this.#volatile = new PathMatcher([
      ...DEFAULT_VOLATILE_PATHS,
      ...(options.policy.volatilePaths ?? []),
    ]);
    this.#maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  }

  /** Use as a fetch handler: `Deno.serve(migrator.fetch)` or from a Hono route. */
  readonly fetch = (req: Request): Promise<Response> => this.handle(req);

  async handle(req: Request): Promise<Response> {
    const started = performance.now();
    const requestId = requestIdOf(req);
    try {
      let body: Uint8Array | null;
      try {
        body = await readBody(req, this.#maxBodyBytes);
      } catch (error) {
        return stampResponse(this.#bodyError(error), requestId, "none");
      }
      const routing = await this.#routing();
      const operation = this.#classify(req);
      const identity = this.#identity(req, body);
      const decision = decideRoute(routing.config, identity, {
        rolloutSalt: this.#options.policy.rolloutSalt,
        pinned: this.#pinned(req, body),
      });
      const path = new URL(req.url).pathname;
      const context = { requestId, path, routingKey: identity.key, canary: decision.canary };
      const served = decision.path === "original"
        ? await this.#serveOriginal(req, body, context, false, null)
        : await this.#serveAbstracted(req, body, context, routing, operation);
      const response = stampResponse(toResponse(served.outcome, requestId), requestId, served.path);
      const breaker = served.notes?.breaker;
      if (typeof breaker === "string") response.headers.set(BREAKER_HEADER, breaker);
      this.#afterResponse({
        started,
        requestId,
        operation,
        decision,
        routing,
        served,
        response,
        shadowRequest: () => copyRequest(req, body),
        context,
      });
      return response;
    } catch (error) {
      // Only a bug in the migrator itself lands here; the client still gets the JSON shape.
      this.#log("error", "migrator failed", error, { requestId });
      return stampResponse(
        errorResponse(500, "internal_error", "internal error", { requestId }),
        requestId,
        "none",
      );
    }
  }

  /** Waits for shadows and abandoned attempts, then writes buffered metrics (tests, shutdown). */
  async flush(): Promise<void> {
    await this.#background.drain();
    await this.#options.metrics?.flush();
  }

  async #routing(): Promise<ResolvedRouting> {
    try {
      return await this.#options.routing.configFor(this.functionName);
    } catch (error) {
      // A RoutingConfigSource should never throw; if one does, the original is the safe answer.
      this.#log("error", "routing config unavailable; forcing original", error);
      return {
        config: defaultRoutingConfig({ forceOriginal: true }),
        provenance: { globalVersion: null, functionVersion: null, stale: true },
      };
    }
  }

  #classify(req: Request): OperationPolicy {
    try {
      return this.#options.policy.classify(req);
    } catch (error) {
      this.#log(
        "error",
        "policy.classify threw; treating the request as an unshadowed write",
        error,
      );
      return UNCLASSIFIED;
    }
  }

  #pinned(req: Request, body: Uint8Array | null): ImplementationPath | undefined {
    try {
      return this.#options.policy.pinnedPath?.(req, body);
    } catch (error) {
      this.#log("warn", "policy.pinnedPath threw; routing normally", error);
      return undefined;
    }
  }

  #identity(req: Request, body: Uint8Array | null): RoutingIdentity {
    try {
      const custom = this.#options.policy.routingIdentity;
      return custom
        ? custom(req, body)
        : extractRoutingIdentity(req, body, { header: this.#options.routingKeyHeader });
    } catch (error) {
      this.#log("warn", "routing identity extraction failed", error);
      return {};
    }
  }

  async #serveOriginal(
    req: Request,
    body: Uint8Array | null,
    context: RequestContext,
    fallback: boolean,
    errorMessage: string | null,
  ): Promise<Served> {
    // No body means nothing was consumed: the incoming request can be handed over as is.
    const request = body === null && !fallback ? req : copyRequest(req, body);
    const outcome = await invoke(
      this.#options.original,
      request,
      handlerContext(context, "live", request.signal, new CommitGate()),
    );
    return {
      path: "original",
      outcome,
      fallback,
      errorMessage: errorMessage ??
        (isFailure(outcome) ? `original ${describeFailure(outcome)}` : null),
    };
  }

  async #serveAbstracted(
    req: Request,
    body: Uint8Array | null,
    context: RequestContext,
    routing: ResolvedRouting,
    operation: OperationPolicy,
  ): Promise<Served> {
    const { enableFallback, fallbackTimeoutMs } = routing.config;
    let admission: Admission | null = null;
    if (this.#options.breaker && enableFallback) {
      admission = await this.#options.breaker.admit(this.functionName);
      if (!admission.allowed) {
        // Open: the abstracted path is not tried at all, so nothing can hang or half-commit. It
        // is recorded as a fallback on purpose: health counts it against the abstracted path, so
        // the breaker never hides a broken path from the rollout controller.
        const result = await this.#serveOriginal(
          req,
          body,
          context,
          true,
          "abstracted skipped: circuit breaker open",
        );
        return { ...result, notes: { breaker: "open" } };
      }
    }
    const probe = admission?.decision === "probe" ? { breaker: "probe" } : undefined;
    const gate = new CommitGate();
    const controller = new AbortController();
    // ctx.signal aborts on our timeout and when the client goes away.
    req.signal.addEventListener("abort", () => controller.abort(req.signal.reason), {
      once: true,
      signal: controller.signal,
    });
    const request = body === null ? req : copyRequest(req, body);
    const attempt = invoke(
      this.#options.abstracted,
      request,
      handlerContext(context, "live", controller.signal, gate),
    );
    if (!enableFallback) {
      const outcome = await attempt;
      return served("abstracted", outcome, false);
    }

    const first = await withTimeout(attempt, fallbackTimeoutMs);
    // A refusal (4xx) is an answer, not a fault: only throws, 5xx and timeouts count.
    if (admission?.allowed) {
      admission.settle(first === TIMED_OUT || isFailure(first) ? "failure" : "success");
    }
    if (first === TIMED_OUT) {
      // close() runs first on purpose: from here on a late claimCommit() returns false.
      const abandonable = gate.close() || operation.safety !== "write";
      if (!abandonable) {
        // It committed: running the original too could write twice. Wait for its own answer.
        const outcome = await attempt;
        return {
          ...served("abstracted", outcome, false),
          notes: { timed_out_after_commit: true, fallback_refused: "committed", ...probe },
        };
      }
      controller.abort(new DOMException(`exceeded ${fallbackTimeoutMs} ms`, "TimeoutError"));
      this.#background.track(attempt.then(discard));
      const fallback = await this.#serveOriginal(
        req,
        body,
        context,
        true,
        `abstracted timed out after ${fallbackTimeoutMs} ms`,
      );
      return probe ? { ...fallback, notes: probe } : fallback;
    }

    if (!isFailure(first)) {
      const result = served("abstracted", first, false);
      return probe ? { ...result, notes: probe } : result;
    }
    const reason = `abstracted ${describeFailure(first)}`;
    if (operation.safety === "write" && !gate.close()) {
      return {
        ...served("abstracted", first, false),
        notes: { fallback_refused: "committed", ...probe },
      };
    }
    await discard(first);
    const fallback = await this.#serveOriginal(req, body, context, true, reason);
    return probe ? { ...fallback, notes: probe } : fallback;
  }

  #afterResponse(args: {
    started: number;
    requestId: string;
    operation: OperationPolicy;
    decision: RouteDecision;
    routing: ResolvedRouting;
    served: Served;
    response: Response;
    shadowRequest: () => Request;
    context: RequestContext;
  }): void {
    const { served: result, response, operation, routing, decision } = args;
    const metadata: Record<string, unknown> = { route: decision.reason };
    if (decision.bucket !== undefined) metadata.bucket = decision.bucket;
    if (routing.provenance.stale) metadata.flags_stale = true;
    if (result.notes) Object.assign(metadata, result.notes);
    const metric = {
      functionName: this.functionName,
      operation: operation.name,
      path: result.path,
      durationMs: performance.now() - args.started,
      status: response.status,
      success: result.outcome.kind === "response" && response.status < 500,
      fallback: result.fallback,
      mismatch: null as boolean | null,
      canary: decision.canary,
      requestId: args.requestId,
      errorMessage: result.errorMessage,
      metadata,
      recordedAt: new Date(),
    };

    // The shadow stage shadows the users routed to the new path (routing.ts decideRoute).
    const wantsShadow = (routing.config.enableComparison || decision.shadow === true) &&
      effectiveShadowMode(operation) !== "off" &&
      !result.fallback && result.outcome.kind === "response" && !result.notes;
    if (!wantsShadow) {
      this.#options.metrics?.record(metric);
      return;
    }
    if (this.#activeShadows >= (this.#options.maxConcurrentShadows ?? 16)) {
      metadata.shadow = "skipped_busy";
      this.#options.metrics?.record(metric);
      return;
    }
    const shadowPath: ImplementationPath = result.path === "original" ? "abstracted" : "original";
    if (
      shadowPath === "abstracted" && this.#options.breaker &&
      this.#options.breaker.state(this.functionName) !== "closed"
    ) {
      // Shadowing a path the breaker has cut off would only queue more hanging attempts.
      metadata.shadow = "skipped_breaker_open";
      this.#options.metrics?.record(metric);
      return;
    }
    this.#activeShadows++;
    const run = runShadow({
      functionName: this.functionName,
      operation,
      requestId: args.requestId,
      path: args.context.path,
      routingKey: args.context.routingKey,
      canary: args.context.canary,
      primaryPath: result.path,
      primaryResponse: response.clone(),
      shadowHandler: shadowPath === "original" ? this.#options.original : this.#options.abstracted,
      shadowRequest: args.shadowRequest(),
      ...(this.#secondaryWanted(operation) && {
        secondary: {
          handler: result.path === "original" ? this.#options.original : this.#options.abstracted,
          request: args.shadowRequest(),
        },
      }),
    }, {
      timeoutMs: this.#options.shadowTimeoutMs ?? 10_000,
      maxCompareBytes: this.#options.maxCompareBytes ?? 256 * 1024,
      volatile: this.#volatile,
      comparisons: this.#options.comparisons,
      storeMatches: this.#options.storeMatches ?? false,
      redactKeys: this.#options.policy.redactKeys,
      background: this.#background,
      noiseFloor: this.#options.noiseFloor,
    }).then(
      (outcome) => {
        if (outcome.mismatch && !outcome.disagreement) metadata.shadow = "noise";
        if (outcome.noisePaths.length > 0) metadata.noise_paths = outcome.noisePaths.slice(0, 20);
        this.#options.metrics?.record({
          ...metric,
          mismatch: outcome.mismatch,
          disagreement: outcome.disagreement,
        });
      },
      (error) => {
        metadata.shadow = "comparison_not_stored";
        this.#options.metrics?.record(metric);
        throw error;
      },
    ).finally(() => {
      this.#activeShadows--;
    });
    this.#background.track(run);
  }

  /**
   * A second run of the primary is safe where the shadow itself is: a plan (commits nothing), or
   * a read. A live shadow of an idempotent operation is not repeated a third time.
   */
  #secondaryWanted(operation: OperationPolicy): boolean {
    const noiseFloor = this.#options.noiseFloor;
    if (!noiseFloor) return false;
    const safe = effectiveShadowMode(operation) === "plan" || operation.safety === "read_only";
    return safe && noiseFloor.sample();
  }

  #bodyError(error: unknown): Response {
    if (error instanceof BodyTooLargeError) {
      return errorResponse(413, "validation_failed", "request body is too large", {
        field: "body",
        maxBytes: error.maxBytes,
      });
    }
    return errorResponse(400, "validation_failed", "could not read the request body", {
      field: "body",
    });
  }

  #log(
    level: "warn" | "error",
    message: string,
    error: unknown,
    fields: Record<string, unknown> = {},
  ): void {
    const logger = this.#options.logger ?? consoleLogger;
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    logger[level](message, {
      function: this.functionName,
      ...fields,
      error: scrubErrorText(detail),
    });
  }
}

interface RequestContext {
  readonly requestId: string;
  readonly path: string;
  readonly routingKey?: string;
  readonly canary: boolean;
}

function handlerContext(
  context: RequestContext,
  mode: "live" | "plan",
  signal: AbortSignal,
  gate: CommitGate,
): HandlerContext {
  return {
    requestId: context.requestId,
    path: context.path,
    mode,
    signal,
    claimCommit: gate.claim,
    ...(context.routingKey !== undefined && { routingKey: context.routingKey }),
    canary: context.canary,
  };
}

function served(path: ImplementationPath, outcome: Outcome, fallback: boolean): Served {
  return {
    path,
    outcome,
    fallback,
    errorMessage: isFailure(outcome) ? `${path} ${describeFailure(outcome)}` : null,
  };
}

function toResponse(outcome: Outcome, requestId: string): Response {
  if (outcome.kind === "response") return outcome.response;
  return errorResponse(500, "internal_error", "internal error", { requestId });
}

/** Default logger: one JSON line per event (fields are already redacted). */
const consoleLogger: MigratorLogger = {
  warn: (message, fields) =>
    console.warn(JSON.stringify({ level: "warn", msg: message, ...fields })),
  error: (message, fields) =>
    console.error(JSON.stringify({ level: "error", msg: message, ...fields })),
};

/** Builds a migrator for one function. */
export function createMigrator(options: EdgeFunctionMigratorOptions): EdgeFunctionMigrator {
  return new EdgeFunctionMigrator(options);
}
