/**
 * A short-lived cache of runtime flags, one entry per function. Every instance re-reads the table
 * once the TTL (FLAGS_CACHE_TTL_MS, at most 5 s) has passed, so an operator's change or an
 * emergency rollback reaches all running instances within the TTL, with no redeploy.
 *
 * Faults: a failed or slow read never fails a request. The cache keeps serving the last good
 * rows (marked stale, reported through `onError`) and tries again after the next TTL. Before the
 * first successful read there are no rows, so routing follows the environment alone.
 * Concurrent callers that find the entry expired share one read.
 */
import type { AppError, Result } from "../result.ts";
import type { FlagsRows } from "./types.ts";

/** Anything that can read the two rows for a function: RuntimeFlagsStore in production. */
export interface FlagsRowsReader {
  rowsFor(functionName: string): Promise<Result<FlagsRows, AppError>>;
}

export interface FlagsSnapshot extends FlagsRows {
  /** Clock time (ms) of the read that produced these rows; 0 when never read. */
  readonly fetchedAt: number;
  /** True when the most recent read failed and these are the last good rows (or none). */
  readonly stale: boolean;
}

export interface FlagsCacheOptions {
  readonly ttlMs: number;
  /**
   * How long a request waits for a refresh before being served the last good rows. The read
   * carries on in the background and updates the cache when it lands.
   */
  readonly refreshWaitMs?: number;
  /** Called on every failed read (log it, count it); never throws into the request. */
  readonly onError?: (error: unknown, functionName: string) => void;
  readonly now?: () => number;
}

interface Entry {
  snapshot: FlagsSnapshot;
  expiresAt: number;
  refreshing: Promise<FlagsSnapshot> | null;
}

const EMPTY: FlagsRows = { global: null, function: null };

export class FlagsCache {
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #refreshWaitMs: number;
  readonly #now: () => number;
  #lastError: { error: unknown; at: number } | null = null;

  constructor(
    private readonly reader: FlagsRowsReader,
    private readonly options: FlagsCacheOptions,
  ) {
    if (!(options.ttlMs >= 0 && options.ttlMs <= 5000)) {
      throw new RangeError("FlagsCache ttlMs must be between 0 and 5000");
    }
    this.#ttlMs = options.ttlMs;
    this.#refreshWaitMs = options.refreshWaitMs ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** The rows for `functionName`: from memory while fresh, else after (at most) one read. */
  get(functionName: string): Promise<FlagsSnapshot> {
    const entry = this.#entries.get(functionName);
    if (entry && this.#now() < entry.expiresAt) return Promise.resolve(entry.snapshot);
    return this.#refresh(functionName, entry);
  }

  /** Forgets everything: the next get() reads the table (after an admin change in-process). */
  invalidate(functionName?: string): void {
    if (functionName === undefined) {
      for (const entry of this.#entries.values()) entry.expiresAt = 0;
    } else {
      const entry = this.#entries.get(functionName);
      if (entry) entry.expiresAt = 0;
    }
  }

  /** For health endpoints: the last read failure, if the cache is currently serving stale rows. */
  health(): { stale: boolean; lastError: unknown; lastErrorAt: number | null } {
    const stale = [...this.#entries.values()].some((entry) => entry.snapshot.stale);
    return {
      stale,
      lastError: stale ? this.#lastError?.error : undefined,
      lastErrorAt: stale ? this.#lastError?.at ?? null : null,
    };
  }

  async #refresh(functionName: string, existing: Entry | undefined): Promise<FlagsSnapshot> {
    const entry: Entry = existing ?? {
      snapshot: { ...EMPTY, fetchedAt: 0, stale: true },
      expiresAt: 0,
      refreshing: null,
    };
    if (!existing) this.#entries.set(functionName, entry);
    entry.refreshing ??= this.#read(functionName, entry).finally(() => {
      entry.refreshing = null;
    });
    const refreshing = entry.refreshing;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.#refreshWaitMs);
    });
    try {
      return (await Promise.race([refreshing, waited])) ?? this.#slowRead(functionName, entry);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The read is still running: serve the last good rows, and stop further requests from waiting
   * on the same slow read until the next TTL (the read still updates the entry when it lands).
   */
  #slowRead(functionName: string, entry: Entry): FlagsSnapshot {
    const now = this.#now();
    if (now >= entry.expiresAt) {
      entry.expiresAt = now + this.#ttlMs;
      entry.snapshot = { ...entry.snapshot, stale: true };
      const error = new Error(`runtime flags read took longer than ${this.#refreshWaitMs} ms`);
      this.#lastError = { error, at: now };
      this.options.onError?.(error, functionName);
    }
    return entry.snapshot;
  }

  async #read(functionName: string, entry: Entry): Promise<FlagsSnapshot> {
    let result: Result<FlagsRows, AppError>;
    try {
      result = await this.reader.rowsFor(functionName);
    } catch (error) {
      result = { ok: false, error: error as AppError };
    }
    const now = this.#now();
    // Success or failure, the next read is one TTL away: a dead database is not hammered.
    entry.expiresAt = now + this.#ttlMs;
    if (result.ok) {
      entry.snapshot = { ...result.value, fetchedAt: now, stale: false };
    } else {
      this.#lastError = { error: result.error, at: now };
      entry.snapshot = { ...entry.snapshot, stale: true };
      this.options.onError?.(result.error, functionName);
    }
    return entry.snapshot;
  }
}
