/**
 * Writes request metrics to performance_metrics in batches, off the response path: record() only
 * pushes to a buffer; a batch is inserted when it is full or after a short interval. One INSERT
 * per batch (rows travel as one JSON parameter), so a burst of requests costs one round trip.
 *
 * Faults: a transient failure (connection, timeout) keeps the batch for the next flush, up to
 * `maxAttempts`; a data error in a batch falls back to row-by-row inserts so one bad row does not
 * take the others with it. The buffer is bounded (oldest dropped first, counted and reported), so
 * a dead database cannot exhaust an edge function's memory.
 */
import type { SqlClient } from "../db/sql-client.ts";
import type { BackgroundTasks } from "./background.ts";
import type { MetricsSink, RequestMetric } from "./types.ts";

export interface MetricsWriterOptions {
  readonly batchSize?: number;
  readonly flushIntervalMs?: number;
  readonly maxBuffered?: number;
  readonly maxAttempts?: number;
  /** Keeps scheduled flushes alive on Supabase (EdgeRuntime.waitUntil) and drainable in tests. */
  readonly background?: BackgroundTasks;
  /** Reports failed writes and drops; never throws into a request. */
  readonly onError?: (error: unknown, info: { dropped: number; retained: number }) => void;
}

interface Pending {
  readonly metric: RequestMetric;
  attempts: number;
}

const INSERT_SQL = `
INSERT INTO performance_metrics (
  function_name, operation, path, duration_ms, status, success, fallback, mismatch, canary,
  request_id, error_message, metadata, recorded_at, disagreement
)
SELECT function_name, operation, path, duration_ms, status, success, fallback, mismatch, canary,
       request_id, error_message, COALESCE(metadata, '{}'::jsonb), recorded_at, disagreement
FROM jsonb_to_recordset($1::text::jsonb) AS m(
  function_name text, operation text, path text, duration_ms double precision, status integer,
  success boolean, fallback boolean, mismatch boolean, canary boolean, request_id text,
  error_message text, metadata jsonb, recorded_at timestamptz, disagreement boolean
)`;

function toJsonRow(metric: RequestMetric) {
  return {
    function_name: metric.functionName,
    operation: metric.operation,
    path: metric.path,
    duration_ms: Math.max(0, metric.durationMs),
    status: metric.status,
    success: metric.success,
    fallback: metric.fallback,
    mismatch: metric.mismatch,
    canary: metric.canary,
    request_id: metric.requestId,
    error_message: metric.errorMessage,
    metadata: metric.metadata,
    recorded_at: metric.recordedAt.toISOString(),
    // Without a noise floor every mismatch is a disagreement.
    disagreement: metric.disagreement === undefined ? metric.mismatch : metric.disagreement,
  };
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity): retrying the same rows cannot help. */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" && /^2[23]/.test(code);
}

export class SqlMetricsWriter implements MetricsSink {
  readonly #batchSize: number;
  readonly #intervalMs: number;
  readonly #maxBuffered: number;
  readonly #maxAttempts: number;
  #buffer: Pending[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #cancelTimer: (() => void) | undefined;
  #flushing: Promise<void> | null = null;
  #closed = false;
  #dropped = 0;
  #written = 0;
  readonly #unhook: (() => void) | undefined;

  constructor(
    private readonly sql: SqlClient,
    private readonly options: MetricsWriterOptions = {},
  ) {
    this.#batchSize = options.batchSize ?? 200;
    this.#intervalMs = options.flushIntervalMs ?? 1000;
    this.#maxBuffered = options.maxBuffered ?? 10_000;
    this.#maxAttempts = options.maxAttempts ?? 3;
    // A drain (tests, shutdown) writes now rather than waiting for the interval timer. Each
    // failed attempt counts towards maxAttempts, so a dead database cannot make drain() spin.
    const background = options.background;
    this.#unhook = background?.onDrain(() => {
      if (this.#buffer.length > 0 || this.#timer !== undefined) background.track(this.flush());
    });
  }

  /** Counters for health checks and tests. */
  stats(): { buffered: number; written: number; dropped: number } {
    return { buffered: this.#buffer.length, written: this.#written, dropped: this.#dropped };
  }

  record(metric: RequestMetric): void {
    if (this.#closed) {
      this.#drop(1, new Error("metrics writer is closed"));
      return;
    }
    this.#buffer.push({ metric, attempts: 0 });
    if (this.#buffer.length > this.#maxBuffered) {
      const excess = this.#buffer.length - this.#maxBuffered;
      this.#buffer.splice(0, excess);
      this.#drop(excess, new Error("metrics buffer full"));
    }
    if (this.#buffer.length >= this.#batchSize && this.#flushing === null) {
      // A running flush keeps writing while rows are buffered, so it will pick these up.
      void this.flush();
    } else {
      this.#schedule();
    }
  }

  /**
   * Writes everything buffered now (one attempt per batch). Flushes are serialised: the promise
   * resolves once every row recorded before the call has been attempted.
   */
  flush(): Promise<void> {
    this.#clearTimer();
    const next = (this.#flushing ?? Promise.resolve()).then(() => this.#writeBuffered());
    this.#flushing = next;
    next.finally(() => {
      if (this.#flushing === next) this.#flushing = null;
      if (this.#buffer.length > 0) this.#schedule();
    }).catch(() => {});
    return next;
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    this.#unhook?.();
    this.#clearTimer();
    if (this.#buffer.length > 0) {
      const left = this.#buffer.length;
      this.#buffer = [];
      this.#drop(left, new Error("metrics writer closed with unwritten rows"));
    }
  }

  async #writeBuffered(): Promise<void> {
    while (this.#buffer.length > 0) {
      const batch = this.#buffer.splice(0, this.#batchSize);
      try {
        await this.#insert(batch);
        this.#written += batch.length;
      } catch (error) {
        if (isDataError(error)) {
          await this.#insertOneByOne(batch);
          continue;
        }
        const retry = batch.filter((item) => ++item.attempts < this.#maxAttempts);
        const dropped = batch.length - retry.length;
        // Put the retried rows back in front, in order; the next timer tries again.
        this.#buffer.unshift(...retry);
        if (dropped > 0) this.#dropped += dropped;
        this.options.onError?.(error, { dropped, retained: this.#buffer.length });
        return;
      }
    }
  }

  async #insertOneByOne(batch: Pending[]): Promise<void> {
    for (const item of batch) {
      try {
        await this.#insert([item]);
        this.#written++;
      } catch (error) {
        this.#drop(1, error);
      }
    }
  }

  #insert(batch: readonly Pending[]) {
    return this.sql.query(INSERT_SQL, [
      JSON.stringify(batch.map((item) => toJsonRow(item.metric))),
    ]);
  }

  #drop(count: number, error: unknown): void {
    this.#dropped += count;
    this.options.onError?.(error, { dropped: count, retained: this.#buffer.length });
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    const fired = new Promise<boolean>((resolve) => {
      this.#cancelTimer = () => resolve(false);
      this.#timer = setTimeout(() => resolve(true), this.#intervalMs);
    });
    const run = fired.then((due) => {
      if (!due) return;
      this.#timer = undefined;
      this.#cancelTimer = undefined;
      return this.flush();
    });
    if (this.options.background) this.options.background.track(run);
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const cancel = this.#cancelTimer;
    this.#cancelTimer = undefined;
    cancel?.();
  }
}

/** Keeps metrics in memory: for benchmarks, tests, and functions without a database. */
export class MemoryMetricsSink implements MetricsSink {
  readonly metrics: RequestMetric[] = [];
  constructor(private readonly limit = 100_000) {}
  record(metric: RequestMetric): void {
    if (this.metrics.length >= this.limit) this.metrics.shift();
    this.metrics.push(metric);
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
