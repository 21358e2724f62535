/**
 * Shadow comparison: after the client's response is ready, the OTHER implementation runs on its
 * own copy of the request, off the response path, and the two answers are compared.
 */
import { redactSecrets } from "../observability/redact.ts";
import { describeFailure, discard, invoke, TIMED_OUT, withTimeout } from "./attempt.ts";
import type { BackgroundTasks } from "./background.ts";
import { CommitGate } from "./commit-gate.ts";
import { compareResponses, type PathMatcher, readComparableBody } from "./compare.ts";
import type {
  ComparisonSink,
  ExecutionMode,
  Handler,
  ImplementationPath,
  OperationPolicy,
  ShadowMode,
} from "./types.ts";

/** A 'write' asking for a live shadow is run as a plan: a shadow must never commit a write. */
export function effectiveShadowMode(operation: OperationPolicy): ShadowMode {
  if (operation.shadow === "live" && operation.safety === "write") return "plan";
  return operation.shadow;
}

export interface ShadowRun {
  readonly functionName: string;
  readonly operation: OperationPolicy;
  readonly requestId: string;
  readonly path: string;
  readonly routingKey?: string;
  readonly canary: boolean;
  readonly primaryPath: ImplementationPath;
  /** A clone of the response the client received. */
  readonly primaryResponse: Response;
  readonly shadowHandler: Handler;
  readonly shadowRequest: Request;
}

export interface ShadowSettings {
  readonly timeoutMs: number;
  readonly maxCompareBytes: number;
  readonly volatile: PathMatcher;
  readonly comparisons?: ComparisonSink;
  readonly storeMatches: boolean;
  readonly redactKeys?: readonly string[];
  readonly background: BackgroundTasks;
}

/**
 * Runs the shadow and stores the comparison. Resolves with whether the two disagreed (null when
 * unknown, e.g. the shadow timed out). Never rejects for handler faults; a storage failure
 * rejects (the background reporter logs it).
 */
export async function runShadow(run: ShadowRun, settings: ShadowSettings): Promise<boolean | null> {
  // Start on a later macrotask: a handler's synchronous first stretch (parsing, hashing) would
  // otherwise run before the migrator's caller regains control and sends the response.
  await new Promise((resolve) => setTimeout(resolve, 0));
  const mode: ExecutionMode = effectiveShadowMode(run.operation) === "plan" ? "plan" : "live";
  const gate = new CommitGate(mode === "plan" ? "closed" : "open");
  const controller = new AbortController();
  const attempt = invoke(run.shadowHandler, run.shadowRequest, {
    requestId: run.requestId,
    path: run.path,
    mode,
    signal: controller.signal,
    claimCommit: gate.claim,
    ...(run.routingKey !== undefined && { routingKey: run.routingKey }),
    canary: run.canary,
  });
  const [shadow, primaryBody] = await Promise.all([
    withTimeout(attempt, settings.timeoutMs),
    readComparableBody(run.primaryResponse, settings.maxCompareBytes),
  ]);
  const redact = (value: unknown) => redactSecrets(value, { extraKeys: settings.redactKeys });
  const base = {
    requestId: run.requestId,
    functionName: run.functionName,
    operation: run.operation.name,
    primaryPath: run.primaryPath,
    shadowPath: run.primaryPath === "original" ? "abstracted" : "original",
    primaryStatus: run.primaryResponse.status,
  } as const;

  if (shadow === TIMED_OUT || shadow.kind === "error") {
    let shadowError: string;
    if (shadow === TIMED_OUT) {
      gate.close();
      controller.abort(new DOMException("shadow run timed out", "TimeoutError"));
      settings.background.track(attempt.then(discard));
      shadowError = `timed out after ${settings.timeoutMs} ms`;
    } else {
      shadowError = describeFailure(shadow);
    }
    await settings.comparisons?.save({
      ...base,
      matched: false,
      shadowStatus: null,
      differingPaths: [],
      primaryBody: redact(primaryBody.value),
      shadowBody: null,
      shadowError,
    });
    return shadow === TIMED_OUT ? null : true;
  }

  const shadowBody = await readComparableBody(shadow.response, settings.maxCompareBytes);
  const result = compareResponses(
    { status: run.primaryResponse.status, body: primaryBody },
    { status: shadow.response.status, body: shadowBody },
    settings.volatile,
  );
  if (!result.matched || settings.storeMatches) {
    await settings.comparisons?.save({
      ...base,
      matched: result.matched,
      shadowStatus: shadow.response.status,
      differingPaths: result.differingPaths,
      // Matches are counted, not kept: their bodies would only be secrets-redacted noise.
      primaryBody: result.matched ? null : redact(primaryBody.value),
      shadowBody: result.matched ? null : redact(shadowBody.value),
      shadowError: null,
    });
  }
  return !result.matched;
}
