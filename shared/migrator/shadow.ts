/**
 * Shadow comparison: after the client's response is ready, the OTHER implementation runs on its
 * own copy of the request, off the response path, and the two answers are compared.
 */
import { redactSecrets } from "../observability/redact.ts";
import { describeFailure, discard, invoke, TIMED_OUT, withTimeout } from "./attempt.ts";
import type { BackgroundTasks } from "./background.ts";
import { CommitGate } from "./commit-gate.ts";
import { compareResponses, type PathMatcher, readComparableBody } from "./compare.ts";
import { type NoiseFloor, noiseKey } from "./noise-floor.ts";
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
  /**
   * The primary implementation run a second time on its own copy of the request, concurrently
   * with the shadow (a noise-floor sample; noise-floor.ts). Same mode as the shadow.
   */
  readonly secondary?: { readonly handler: Handler; readonly request: Request };
}

export interface ShadowSettings {
  readonly timeoutMs: number;
  readonly maxCompareBytes: number;
  readonly volatile: PathMatcher;
  readonly comparisons?: ComparisonSink;
  readonly storeMatches: boolean;
  readonly redactKeys?: readonly string[];
  readonly background: BackgroundTasks;
  readonly noiseFloor?: NoiseFloor;
}

/** What a shadow run found; null fields when unknown (the shadow timed out). */
export interface ShadowOutcome {
  /** Any difference at all (raw). */
  readonly mismatch: boolean | null;
  /** A difference the noise floor does not explain (what health counts). */
  readonly disagreement: boolean | null;
  /** Differing paths classified as noise. */
  readonly noisePaths: readonly string[];
}

/** One run off the response path: its own gate and abort controller, bounded by the timeout. */
function startRun(
  run: ShadowRun,
  handler: Handler,
  request: Request,
  mode: ExecutionMode,
  settings: ShadowSettings,
) {
  const gate = new CommitGate(mode === "plan" ? "closed" : "open");
  const controller = new AbortController();
  const attempt = invoke(handler, request, {
    requestId: run.requestId,
    path: run.path,
    mode,
    signal: controller.signal,
    claimCommit: gate.claim,
    ...(run.routingKey !== undefined && { routingKey: run.routingKey }),
    canary: run.canary,
  });
  return {
    result: withTimeout(attempt, settings.timeoutMs),
    abandon() {
      gate.close();
      controller.abort(new DOMException("shadow run timed out", "TimeoutError"));
      settings.background.track(attempt.then(discard));
    },
  };
}

/**
 * Runs the shadow (and the secondary, when sampled) and stores the comparison. Never rejects for
 * handler faults; a storage failure rejects (the background reporter logs it).
 */
export async function runShadow(run: ShadowRun, settings: ShadowSettings): Promise<ShadowOutcome> {
  // Start on a later macrotask: a handler's synchronous first stretch (parsing, hashing) would
  // otherwise run before the migrator's caller regains control and sends the response.
  await new Promise((resolve) => setTimeout(resolve, 0));
  const mode: ExecutionMode = effectiveShadowMode(run.operation) === "plan" ? "plan" : "live";
  const candidate = startRun(run, run.shadowHandler, run.shadowRequest, mode, settings);
  const secondary = run.secondary
    ? startRun(run, run.secondary.handler, run.secondary.request, mode, settings)
    : null;
  const [shadow, primaryBody, second] = await Promise.all([
    candidate.result,
    readComparableBody(run.primaryResponse, settings.maxCompareBytes),
    secondary?.result ?? Promise.resolve(null),
  ]);
  const noiseKeyOf = noiseKey(run.functionName, run.operation.name);
  const primary = { status: run.primaryResponse.status, body: primaryBody };
  if (second === TIMED_OUT) secondary?.abandon();
  else if (second?.kind === "response") {
    const body = await readComparableBody(second.response, settings.maxCompareBytes);
    const noise = compareResponses(
      primary,
      { status: second.response.status, body },
      settings.volatile,
    );
    settings.noiseFloor?.observeSecondary(noiseKeyOf, noise.differingPaths);
  }

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
      candidate.abandon();
      shadowError = `timed out after ${settings.timeoutMs} ms`;
    } else {
      shadowError = describeFailure(shadow);
    }
    const known = shadow !== TIMED_OUT;
    await settings.comparisons?.save({
      ...base,
      matched: false,
      shadowStatus: null,
      differingPaths: [],
      primaryBody: redact(primaryBody.value),
      shadowBody: null,
      shadowError,
      noisePaths: [],
      disagreement: known ? true : null,
    });
    return known
      ? { mismatch: true, disagreement: true, noisePaths: [] }
      : { mismatch: null, disagreement: null, noisePaths: [] };
  }

  const shadowBody = await readComparableBody(shadow.response, settings.maxCompareBytes);
  const result = compareResponses(
    primary,
    { status: shadow.response.status, body: shadowBody },
    settings.volatile,
  );
  settings.noiseFloor?.observeCandidate(noiseKeyOf, result.differingPaths);
  const classified = result.matched || !settings.noiseFloor
    ? { noise: [], disagreement: result.differingPaths }
    : settings.noiseFloor.classify(noiseKeyOf, result.differingPaths);
  const disagreement = classified.disagreement.length > 0;
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
      noisePaths: classified.noise,
      disagreement,
    });
  }
  return { mismatch: !result.matched, disagreement, noisePaths: classified.noise };
}
