/**
 * Transient vs permanent database errors, retries with exponential backoff and full jitter, and
 * a description of an error that is safe to store: SQLSTATE, constraint and table, never the
 * DETAIL (PostgreSQL puts the failing row there, which can hold a password hash).
 */
import { redactString } from "../observability/redact.ts";

/** SQLSTATEs worth retrying: the same statement can succeed a moment later. */
const TRANSIENT_SQLSTATES = new Set([
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "55P03", // lock_not_available
  "53300", // too_many_connections
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "57014", // query_canceled (statement_timeout under load)
]);

/** Node/postgres.js connection-level error codes. */
const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

function codeOf(error: unknown): string | undefined {
  if (error && typeof error === "object" && "code" in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

export function isTransientError(error: unknown): boolean {
  const code = codeOf(error);
  if (code === undefined) return false;
  // Class 08: connection exceptions.
  return TRANSIENT_SQLSTATES.has(code) || TRANSIENT_CODES.has(code) || code.startsWith("08");
}

export interface StoredError {
  readonly code: string;
  readonly message: string;
  readonly constraint?: string;
  readonly table?: string;
}

/** What may be written to migration_errors or returned to a caller. */
export function describeError(error: unknown): StoredError {
  const e = (error ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => typeof value === "string" && value !== "" ? value : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: codeOf(error) ?? (error instanceof Error ? error.name : "unknown"),
    message: redactString(message).slice(0, 500),
    constraint: text(e.constraint_name) ?? text(e.constraint),
    table: text(e.table_name) ?? text(e.table),
  };
}

export interface RetryPolicy {
  readonly maxRetries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Injected for tests; Math.random otherwise. */
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export class RetriesExhaustedError extends Error {
  constructor(readonly attempts: number, readonly lastError: unknown) {
    super(`gave up after ${attempts} attempts: ${describeError(lastError).message}`, {
      cause: lastError,
    });
    this.name = "RetriesExhaustedError";
  }
}

/** Delay before retry number `retry` (1-based): uniform in [0, min(max, base * 2^(retry-1))]. */
export function backoffDelay(retry: number, policy: RetryPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.floor((policy.random ?? Math.random)() * ceiling);
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `work`, retrying transient failures. Permanent errors propagate at once; a transient one
 * that survives every retry becomes RetriesExhaustedError.
 */
export async function withRetry<T>(work: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isTransientError(error)) throw error;
      if (attempt > policy.maxRetries) throw new RetriesExhaustedError(attempt, error);
      await (policy.sleep ?? defaultSleep)(backoffDelay(attempt, policy));
    }
  }
}
