/**
 * Server-side faults reported from wherever they are caught, into the request they belong to.
 *
 * A route, a sub-app's onError or a lazily built handler often turns an unexpected error into a
 * 5xx response itself, far from the function app that owns the request's logger and Sentry scope.
 * `reportFault(error)` hands the error to the current request's sink (an AsyncLocalStorage slot
 * set by createFunctionApp for the duration of one request): one log line with the request id and
 * one Sentry event in that request's isolation scope. The function app then knows the 5xx it
 * answers was already reported; a 5xx nobody reported is logged and captured there instead, so
 * every server-side failure is reported exactly once.
 *
 * Outside a request (a CLI, a cron tick) the fault goes to Sentry only; the caller logs it.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { captureException, type Tags } from "./sentry.ts";

export interface FaultContext {
  /** The error code the client is answered with (e.g. `internal_error`, `database_error`). */
  readonly code?: string;
  /** Where it was caught, e.g. `migrate-batch routes`. */
  readonly where?: string;
  readonly tags?: Tags;
}

export interface FaultSink {
  report(error: unknown, context: FaultContext): void;
}

interface Slot {
  readonly sink: FaultSink;
  reported: boolean;
}

const current = new AsyncLocalStorage<Slot>();

/** Runs `fn` with `sink` receiving every fault reported inside it; tells whether one was. */
export async function withFaultSink<T>(
  sink: FaultSink,
  fn: () => Promise<T>,
): Promise<{ value: T; reported: () => boolean }> {
  const slot: Slot = { sink, reported: false };
  const value = await current.run(slot, fn);
  return { value, reported: () => slot.reported };
}

/** Reports a server-side fault once (a second report of the same request is ignored). */
export function reportFault(error: unknown, context: FaultContext = {}): void {
  const slot = current.getStore();
  if (!slot) {
    captureException(error, faultCapture(context));
    return;
  }
  if (slot.reported) return;
  slot.reported = true;
  slot.sink.report(error, context);
}

/** The Sentry capture context of a fault: its code and where it was caught, as tags. */
export function faultCapture(context: FaultContext) {
  return {
    tags: {
      error_code: context.code ?? "internal_error",
      ...(context.where !== undefined && { caught_in: context.where }),
      ...context.tags,
    },
  };
}
