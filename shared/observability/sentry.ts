/**
 * Sentry (`@sentry/deno`) for the edge functions.
 *
 * - `initSentry(config)` initialises the SDK once per process, and only when a DSN is set;
 *   without one every helper here is a cheap no-op. Later calls share the first client
 *   (reference-counted handles), so the dev server's four function apps share one SDK.
 * - Everything sent is scrubbed in the SDK's last hooks (sentry-scrub.ts).
 * - `withSentryRequest` runs one request in its own isolation scope (AsyncLocalStorage-backed,
 *   installed by the SDK's Deno integrations), so tags and breadcrumbs never leak between requests
 *   in a reused worker, and flushes (bounded) before the response leaves when the request
 *   captured something: an edge worker may be frozen right after responding.
 * - Process tags: `mode` (MIGRATION_MODE), `region` / `execution_id` (SB_REGION /
 *   SB_EXECUTION_ID on Supabase) and optionally `function`; request tags: `function`,
 *   `request_id`, and `migration_path` once the migrator has routed (`tagRequest`).
 */
import * as Sentry from "@sentry/deno";
import type { DenoOptions, Scope, SeverityLevel } from "@sentry/deno";
import type { Env } from "../config/env.ts";
import { scrubAttributes, scrubBreadcrumb, scrubEvent, scrubLog } from "./sentry-scrub.ts";
import type { ScrubOptions } from "./sentry-scrub.ts";

export type TagValue = string | number | boolean;
export type Tags = Readonly<Record<string, TagValue | undefined>>;

export interface SentryConfig {
  /** SENTRY_DSN; Sentry stays off without it. */
  readonly dsn?: string;
  /** SENTRY_ENVIRONMENT. */
  readonly environment?: string;
  readonly release?: string;
  /** SENTRY_TRACES_SAMPLE_RATE (0 = no performance tracing). */
  readonly tracesSampleRate?: number;
  /** MIGRATION_MODE, tagged `mode` on every event. */
  readonly mode?: string;
  /** Scrub e-mail addresses from everything sent (default true). */
  readonly scrubEmails?: boolean;
  /** More process-wide tags (e.g. region, execution_id, function). */
  readonly tags?: Tags;
  /** Longest wait for the flush before a response that captured something (default 2000 ms). */
  readonly flushTimeoutMs?: number;
  /** Replaces the fetch transport (tests capture envelopes with Sentry.createTransport). */
  readonly transport?: DenoOptions["transport"];
  /** Replaces the SDK's default integrations (default: the SDK's own list). */
  readonly integrations?: DenoOptions["integrations"];
  readonly debug?: boolean;
}

export interface SentryHandle {
  /** False when no DSN is configured: every helper is then a no-op. */
  readonly enabled: boolean;
  /** Sends what is queued; waits at most `timeoutMs`. */
  flush(timeoutMs?: number): Promise<boolean>;
  /** Gives this handle back; the SDK is closed (after a flush) when the last one is released. */
  release(timeoutMs?: number): Promise<void>;
}

export const DEFAULT_FLUSH_TIMEOUT_MS = 2000;

interface ActiveSentry {
  readonly dsn: string;
  /** SENTRY_TRACES_SAMPLE_RATE > 0: each request runs in an `http.server` transaction. */
  readonly tracing: boolean;
  readonly flushTimeoutMs: number;
  readonly scrub: ScrubOptions;
  refs: number;
}

let active: ActiveSentry | null = null;
/** Isolation scopes whose request recorded metrics or measurements (flushed before responding). */
const pendingTelemetry = new WeakSet<Scope>();

const DISABLED: SentryHandle = {
  enabled: false,
  flush: () => Promise.resolve(true),
  release: () => Promise.resolve(),
};

/**
 * Supabase platform variables that tag events (present on the hosted platform only). Read here,
 * not in the config schema, because they describe the worker rather than configure the app.
 */
export function supabaseRuntimeTags(
  read: (name: string) => string | undefined = safeEnvGet,
): Tags {
  return { region: read("SB_REGION"), execution_id: read("SB_EXECUTION_ID") };
}

function safeEnvGet(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env for this name
  }
}

/** Maps the validated environment to Sentry settings. */
export function sentryConfigFromEnv(
  env: Pick<
    Env,
    "SENTRY_DSN" | "SENTRY_ENVIRONMENT" | "SENTRY_TRACES_SAMPLE_RATE" | "MIGRATION_MODE"
  >,
  extra: Omit<SentryConfig, "dsn" | "environment" | "tracesSampleRate" | "mode"> = {},
): SentryConfig {
  // SENTRY_SCRUB_EMAILS is honoured when the env schema carries it; scrubbing is the default.
  const scrubEmails = (env as { SENTRY_SCRUB_EMAILS?: boolean }).SENTRY_SCRUB_EMAILS;
  return {
    dsn: env.SENTRY_DSN,
    environment: env.SENTRY_ENVIRONMENT,
    tracesSampleRate: env.SENTRY_TRACES_SAMPLE_RATE,
    mode: env.MIGRATION_MODE,
    ...(scrubEmails !== undefined && { scrubEmails }),
    ...extra,
    tags: { ...supabaseRuntimeTags(), ...extra.tags },
  };
}

/**
 * Initialises Sentry once per process when `config.dsn` is set; a no-op handle otherwise. A
 * second call (another function app in the same process) shares the first client and its
 * settings.
 */
export function initSentry(config: SentryConfig): SentryHandle {
  if (!config.dsn) return DISABLED;
  if (active) {
    active.refs++;
    return handleFor(active);
  }
  const scrub: ScrubOptions = { emails: config.scrubEmails ?? true };
  Sentry.init({
    dsn: config.dsn,
    environment: config.environment,
    release: config.release,
    tracesSampleRate: config.tracesSampleRate ?? 0,
    debug: config.debug ?? false,
    sendDefaultPii: false,
    // Our own spans are Sentry spans; no OpenTelemetry library needs the compatibility tracer.
    skipOpenTelemetrySetup: true,
    ...(config.transport && { transport: config.transport }),
    ...(config.integrations && { integrations: config.integrations }),
    beforeSend: (event) => scrubEvent(event, scrub),
    beforeSendTransaction: (event) => scrubEvent(event, scrub),
    beforeBreadcrumb: (breadcrumb) => scrubBreadcrumb(breadcrumb, scrub),
    beforeSendMetric: (metric) => ({
      ...metric,
      attributes: scrubAttributes(metric.attributes, scrub),
    }),
    beforeSendSpan: (span) => scrubAttributes(span, scrub),
    beforeSendLog: (log) => scrubLog(log, scrub),
  });
  Sentry.getGlobalScope().setTags(definedTags({ mode: config.mode, ...config.tags }));
  active = {
    dsn: config.dsn,
    tracing: (config.tracesSampleRate ?? 0) > 0,
    flushTimeoutMs: config.flushTimeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS,
    scrub,
    refs: 1,
  };
  return handleFor(active);
}

function handleFor(state: ActiveSentry): SentryHandle {
  let released = false;
  return {
    enabled: true,
    flush: (timeoutMs) => flushSentry(timeoutMs ?? state.flushTimeoutMs),
    release: async (timeoutMs) => {
      if (released || active !== state) return;
      released = true;
      state.refs--;
      if (state.refs === 0) await closeSentry(timeoutMs);
    },
  };
}

export function isSentryEnabled(): boolean {
  return active !== null;
}

/** Flushes and closes the SDK regardless of handles (process shutdown, tests). */
export async function closeSentry(timeoutMs = DEFAULT_FLUSH_TIMEOUT_MS): Promise<void> {
  if (!active) return;
  active = null;
  try {
    await bounded(Sentry.close(timeoutMs), timeoutMs, false);
  } finally {
    Sentry.getGlobalScope().clear();
  }
}

/** Sets process-wide tags (e.g. `function` in a single-function entrypoint). */
export function setProcessTags(tags: Tags): void {
  if (!active) return;
  Sentry.getGlobalScope().setTags(definedTags(tags));
}

/** Sends everything queued, waiting at most `timeoutMs` (the SDK's own flush may wait twice that). */
export function flushSentry(timeoutMs = active?.flushTimeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS) {
  if (!active) return Promise.resolve(true);
  return bounded(Sentry.flush(timeoutMs), timeoutMs, false);
}

export interface RequestTelemetry {
  readonly function: string;
  readonly requestId: string;
  readonly method?: string;
  /** The URL (its query is scrubbed like everything else). */
  readonly url?: string;
  readonly headers?: Headers;
  /** The transaction name when tracing (a route, never a raw path that may carry an id). */
  readonly transaction?: string;
}

/**
 * Runs one request in a fresh isolation scope tagged with its function and request id, with no
 * breadcrumbs but its own (whatever the process logged between requests stays out). With
 * tracing on (SENTRY_TRACES_SAMPLE_RATE > 0) the request is an `http.server` transaction that
 * continues an incoming `sentry-trace`/`baggage`; this does not depend on Sentry having wrapped
 * Deno.serve, which only happens when the SDK is initialised before the server starts. When the
 * request captured an event or recorded telemetry, waits (bounded) for it to be sent before the
 * result is returned. `statusOf` reads the response status from `run`'s result for the span.
 */
export function withSentryRequest<T>(
  request: RequestTelemetry,
  run: () => Promise<T>,
  statusOf?: (value: T) => number | undefined,
): Promise<T> {
  if (!active) return run();
  const { flushTimeoutMs, tracing } = active;
  return Sentry.withIsolationScope(async (scope) => {
    scope.clearBreadcrumbs();
    scope.setTags({ function: request.function, request_id: request.requestId });
    if (request.url !== undefined) {
      // The request data integration turns this into event.request; scrubbed in beforeSend.
      scope.setSDKProcessingMetadata({
        normalizedRequest: {
          url: request.url,
          method: request.method,
          headers: request.headers ? Object.fromEntries(request.headers) : undefined,
        },
      });
    }
    const lastEventBefore = scope.lastEventId();
    try {
      return tracing ? await traced(request, run, statusOf, scope) : await run();
    } finally {
      if (scope.lastEventId() !== lastEventBefore || pendingTelemetry.has(scope)) {
        pendingTelemetry.delete(scope);
        await flushSentry(flushTimeoutMs);
      }
    }
  });
}

function traced<T>(
  request: RequestTelemetry,
  run: () => Promise<T>,
  statusOf: ((value: T) => number | undefined) | undefined,
  scope: Scope,
): Promise<T> {
  const name = `${request.method ?? "GET"} ${request.transaction ?? `/${request.function}`}`;
  return Sentry.continueTrace(
    {
      sentryTrace: request.headers?.get("sentry-trace") ?? "",
      baggage: request.headers?.get("baggage") ?? undefined,
    },
    () =>
      Sentry.startSpan(
        {
          name,
          op: "http.server",
          forceTransaction: true,
          attributes: { "sentry.source": "route", "http.request.method": request.method ?? "GET" },
        },
        async (span) => {
          const value = await run();
          const status = statusOf?.(value);
          if (status !== undefined) Sentry.setHttpStatus(span, status);
          // The transaction is sent when this span ends: flush it before the worker freezes.
          pendingTelemetry.add(scope);
          return value;
        },
      ),
  );
}

/** Tags the current request (e.g. `{ migration_path: "abstracted" }` once routed). */
export function tagRequest(tags: Tags): void {
  if (!active) return;
  Sentry.getIsolationScope().setTags(definedTags(tags));
}

export interface CaptureContext {
  readonly tags?: Tags;
  readonly extra?: Readonly<Record<string, unknown>>;
  readonly level?: SeverityLevel;
  readonly fingerprint?: readonly string[];
}

/** Captures an exception (scrubbed); returns the event id, or undefined when Sentry is off. */
export function captureException(error: unknown, context: CaptureContext = {}): string | undefined {
  if (!active) return undefined;
  return Sentry.captureException(error, toCaptureContext(context));
}

export function captureMessage(
  message: string,
  level: SeverityLevel = "warning",
  context: Omit<CaptureContext, "level"> = {},
): string | undefined {
  if (!active) return undefined;
  return Sentry.captureMessage(message, toCaptureContext({ ...context, level }));
}

export function addBreadcrumb(breadcrumb: {
  readonly category: string;
  readonly message: string;
  readonly level?: SeverityLevel;
  readonly data?: Readonly<Record<string, unknown>>;
}): void {
  if (!active) return;
  Sentry.addBreadcrumb({ ...breadcrumb, data: breadcrumb.data && { ...breadcrumb.data } });
}

export type MetricAttributes = Readonly<Record<string, string | number | boolean | undefined>>;

/**
 * A measured value (e.g. `auth.duration` in ms). Recorded three ways so it is visible wherever
 * one looks: as a distribution metric, as a measurement on the request's transaction when
 * tracing is on, and in the request's `measurements` context (shown on any error event of the
 * same request).
 */
export function recordMeasurement(
  name: string,
  value: number,
  options: { readonly unit?: string; readonly attributes?: MetricAttributes } = {},
): void {
  if (!active || !Number.isFinite(value)) return;
  const unit = options.unit ?? "millisecond";
  Sentry.setMeasurement(name, value, unit);
  Sentry.metrics.distribution(name, value, { unit, attributes: definedTags(options.attributes) });
  const scope = Sentry.getIsolationScope();
  const previous = scope.getScopeData().contexts["measurements"] ?? {};
  scope.setContext("measurements", { ...previous, [name]: { value, unit } });
  pendingTelemetry.add(scope);
}

/** Increments a counter metric (e.g. `canary.requests`). */
export function incrementCounter(name: string, value = 1, attributes?: MetricAttributes): void {
  if (!active) return;
  Sentry.metrics.count(name, value, { attributes: definedTags(attributes) });
  pendingTelemetry.add(Sentry.getIsolationScope());
}

/** One authentication attempt, as issue 4 reports it. */
export interface AuthEventTelemetry {
  /** e.g. "signup" | "login". */
  readonly type: string;
  /** The auth system that answered: "supabase" | "better_auth". */
  readonly system: string;
  readonly mode: string;
  readonly canary: boolean;
  readonly durationMs: number;
  readonly success: boolean;
  /** An AppError code on failure (never a message that could hold input). */
  readonly errorCode?: string;
}

/**
 * Records an auth event: tags the request (auth_system, canary), leaves a breadcrumb, and records
 * `auth.duration` (ms) and the `auth.events` counter with type/system/mode/canary/success.
 */
export function recordAuthEvent(event: AuthEventTelemetry): void {
  if (!active) return;
  const attributes = {
    type: event.type,
    system: event.system,
    mode: event.mode,
    canary: event.canary,
    success: event.success,
    error_code: event.errorCode,
  };
  tagRequest({ auth_type: event.type, auth_system: event.system, canary: event.canary });
  addBreadcrumb({
    category: "auth",
    message: `${event.type} via ${event.system} ${event.success ? "succeeded" : "failed"}`,
    level: event.success ? "info" : "warning",
    data: attributes,
  });
  recordMeasurement("auth.duration", event.durationMs, { unit: "millisecond", attributes });
  incrementCounter("auth.events", 1, attributes);
}

/** Records a canary routing decision: tags the request and counts `canary.requests`. */
export function recordCanaryDecision(decision: {
  readonly function: string;
  readonly canary: boolean;
  readonly selection?: string;
  readonly percentage?: number;
}): void {
  if (!active) return;
  tagRequest({ canary: decision.canary });
  incrementCounter("canary.requests", 1, {
    function: decision.function,
    canary: decision.canary,
    selection: decision.selection,
  });
  if (decision.percentage !== undefined) {
    Sentry.metrics.gauge("canary.percentage", decision.percentage, {
      unit: "percent",
      attributes: { function: decision.function },
    });
  }
}

function toCaptureContext(context: CaptureContext) {
  return {
    ...(context.tags && { tags: definedTags(context.tags) }),
    ...(context.extra && { extra: { ...context.extra } }),
    ...(context.level && { level: context.level }),
    ...(context.fingerprint && { fingerprint: [...context.fingerprint] }),
  };
}

function definedTags(tags: Tags | undefined): Record<string, TagValue> {
  const out: Record<string, TagValue> = {};
  for (const [key, value] of Object.entries(tags ?? {})) {
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** Resolves with `promise`'s value, or `fallback` after `ms`; the timer is always cleared. */
function bounded<T>(promise: PromiseLike<T>, ms: number, fallback: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([Promise.resolve(promise).catch(() => fallback), timeout]).finally(() =>
    clearTimeout(timer)
  );
}
