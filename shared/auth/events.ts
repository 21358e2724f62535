/**
 * Auth events for observability (Sentry measurements, structured logs). An event carries no
 * email, password or token by construction: only what happened, where and how long it took.
 * The sink is injected, so shared/observability can forward events to Sentry.
 */
import type { MigrationMode } from "../config/env.ts";
import type { AuthErrorCode } from "./errors.ts";
import type { Logger } from "../observability/logger.ts";
import type { AuthSystem } from "./types.ts";

export type AuthEventType =
  | "signup"
  | "login"
  /** One system's failed attempt within a login (the login's own event follows). */
  | "login_attempt"
  | "lazy_migration"
  | "rehash"
  | "divergence"
  | "reconciliation"
  | "compensation";

export interface AuthEvent {
  readonly type: AuthEventType;
  /** The system that served (or failed) the operation; "dual_write" for the combined outcome. */
  readonly system: AuthSystem | "dual_write";
  readonly mode: MigrationMode;
  readonly canary: boolean;
  readonly durationMs: number;
  readonly success: boolean;
  readonly errorCode?: AuthErrorCode;
  /** Login answered by a system other than the first one tried. */
  readonly fallback?: boolean;
  /** The user id (a UUID, not PII by itself); absent when unknown. */
  readonly userId?: string;
  /** Free-form, secret-free detail (e.g. the missing side of a divergence). */
  readonly detail?: string;
}

export type AuthEventSink = (event: AuthEvent) => void;

export const noopAuthEventSink: AuthEventSink = () => {};

/** Events as structured log records through the project logger. */
export function loggerAuthEventSink(logger: Pick<Logger, "info" | "warn">): AuthEventSink {
  return (event) => {
    if (event.success) logger.info("auth_event", { ...event });
    else logger.warn("auth_event", { ...event });
  };
}

/** One JSON line per event on stdout (the shape structured-log collectors expect). */
export const jsonLogAuthEventSink: AuthEventSink = (event) => {
  console.log(
    JSON.stringify({ level: event.success ? "info" : "warn", msg: "auth_event", ...event }),
  );
};

/** Calls every sink; a failing sink never breaks the request or the other sinks. */
export function fanOut(...sinks: AuthEventSink[]): AuthEventSink {
  return (event) => {
    for (const sink of sinks) {
      try {
        sink(event);
      } catch {
        // Observability must not take the auth path down.
      }
    }
  };
}

/** Emits safely: a throwing sink is swallowed. */
export function emit(sink: AuthEventSink, event: AuthEvent): void {
  try {
    sink(event);
  } catch {
    // see fanOut
  }
}
