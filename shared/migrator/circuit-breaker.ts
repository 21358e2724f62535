/**
 * A circuit breaker for the abstracted path (and, through the same class, for one backend of the
 * dual-write auth service: use a name like "signup:better_auth"). A dead or hanging dependency
 * would otherwise cost every routed request the full fallback timeout; with the breaker it costs
 * at most one timeout per probe interval.
 *
 * States, per breaker name:
 * - closed: requests are admitted. Each failure (a throw, a 5xx, a timeout — never a 4xx: a
 *   refusal is an answer, not a fault) is remembered for `windowMs`; `failureThreshold` failures
 *   inside the window open the breaker.
 * - open: for `openMs` nothing is admitted; the caller sends the request straight to the original.
 * - half-open: once `openMs` has passed, exactly ONE request is admitted as a probe; every other
 *   request keeps going to the original until the probe settles. A successful probe closes the
 *   breaker; a failed one opens it for another `openMs`.
 *
 * Sharing across instances (the choice, and why): failures are counted per instance (counting
 * them in the database would put a write on every failing request, the moment the database may
 * be struggling too), but the OPEN state and the probe are shared through the circuit_breakers
 * table (migration 20261206080000):
 * - the instance that trips publishes `open_until`; the others read the row through a cache of
 *   `cacheTtlMs` (FLAGS_CACHE_TTL_MS, ≤ 5 s) and adopt it, so the staleness of an open breaker is
 *   bounded by one TTL plus one read. The read never delays a request: a request uses the last
 *   state read and starts a refresh when it is older than the TTL;
 * - the half-open probe is a lease taken with one conditional UPDATE, so across all instances one
 *   probe runs per interval (a crashed prober's lease expires after `probeLeaseMs`);
 * - remaining open time is computed by the database (`open_until - now()`), so instance clocks
 *   need not agree.
 * Without a store (or while the database is unreachable) each instance still has its own complete
 * breaker: the cost is then one timeout per probe interval per instance.
 */
import { TIMED_OUT, withTimeout } from "./attempt.ts";
import type { SqlClient } from "../db/sql-client.ts";

export interface CircuitBreakerSettings {
  /** Failures (throws, 5xx, timeouts) within `windowMs` that open the breaker. */
  readonly failureThreshold: number;
  readonly windowMs: number;
  /** How long the breaker stays open before one probe is let through (the probe interval). */
  readonly openMs: number;
}

/** The shared state of one breaker as the store reports it. */
export interface SharedBreakerState {
  readonly open: boolean;
  /** Remaining open time in ms measured by the store's clock; 0 when the interval has passed. */
  readonly openForMs: number;
}

export type ProbeClaim = "claimed" | "busy" | "closed" | "unclaimed";

/** Where breakers meet across instances (SqlBreakerStore in production). */
export interface BreakerStore {
  read(name: string): Promise<SharedBreakerState | null>;
  publishOpen(name: string, openMs: number, reason: string): Promise<void>;
  publishClosed(name: string): Promise<void>;
  /**
   * Takes the half-open probe lease. "claimed": this caller probes; "busy": another instance
   * holds the lease or the row is still open; "closed": another instance's probe already closed
   * it; "unclaimed": no row (the caller decides alone).
   */
  claimProbe(name: string, leaseMs: number): Promise<ProbeClaim>;
}

export type BreakerDecision = "closed" | "probe" | "open";

export type Admission =
  | {
    readonly allowed: true;
    readonly decision: "closed" | "probe";
    /** Report the attempt's result exactly once (later calls are ignored). */
    settle(result: "success" | "failure"): void;
  }
  | { readonly allowed: false; readonly decision: "open" };

export interface CircuitBreakerOptions extends CircuitBreakerSettings {
  readonly store?: BreakerStore;
  /** How long a shared read is trusted before it is refreshed (default 5000 ms). */
  readonly cacheTtlMs?: number;
  /** Probe lease in the store (default: openMs, at least 1 s). */
  readonly probeLeaseMs?: number;
  /** A store call on the request path (the probe claim) waits at most this (default 1000 ms). */
  readonly storeTimeoutMs?: number;
  /** Reports store failures; the breaker carries on with its local state. */
  readonly onStoreError?: (error: unknown, name: string) => void;
  /** Runs store writes off the request path (BackgroundTasks.track); awaited inline when absent. */
  readonly track?: (task: Promise<unknown>) => void;
  readonly now?: () => number;
}

interface Entry {
  failures: number[];
  /** Local clock time until which this instance keeps the breaker open; 0 = closed. */
  openUntil: number;
  /** The shared open state translated to the local clock; 0 = closed or unknown. */
  sharedOpenUntil: number;
  sharedReadAt: number;
  refreshing: Promise<void> | null;
  probing: boolean;
}

export class CircuitBreaker {
  readonly #options: CircuitBreakerOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;

  constructor(options: CircuitBreakerOptions) {
    if (!(options.failureThreshold >= 1)) throw new RangeError("failureThreshold must be ≥ 1");
    if (!(options.windowMs > 0) || !(options.openMs > 0)) {
      throw new RangeError("windowMs and openMs must be > 0");
    }
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The breaker's state without admitting anything (for shadows and dashboards). */
  state(name: string): "closed" | "open" | "half_open" {
    // Creates the entry, so an instance that only shadows this path still reads the shared state.
    const entry = this.#entry(name);
    this.#refreshInBackground(name, entry);
    const until = Math.max(entry.openUntil, entry.sharedOpenUntil);
    if (until === 0) return "closed";
    return this.#now() < until ? "open" : "half_open";
  }

  /** Asks to send one request over the protected path. */
  async admit(name: string): Promise<Admission> {
    const entry = this.#entry(name);
    this.#refreshInBackground(name, entry);
    const until = Math.max(entry.openUntil, entry.sharedOpenUntil);
    if (until === 0) return this.#admitted(name, entry, "closed");
    if (this.#now() < until || entry.probing) return { allowed: false, decision: "open" };

    // Half-open: reserve the local probe slot before any await, so concurrent requests of this
    // instance see it taken; then take the shared lease so other instances do not probe too.
    entry.probing = true;
    const claim = await this.#claim(name);
    if (claim === "busy") {
      entry.probing = false;
      return { allowed: false, decision: "open" };
    }
    if (claim === "closed") {
      entry.probing = false;
      this.#close(entry);
      return this.#admitted(name, entry, "closed");
    }
    return this.#admitted(name, entry, "probe");
  }

  /** Reads the shared state now (tests; a dashboard that wants the current value). */
  async refresh(name: string): Promise<void> {
    const entry = this.#entry(name);
    // A read already in flight may predate the state wanted: wait for it, then read again.
    await entry.refreshing;
    entry.sharedReadAt = 0;
    this.#refreshInBackground(name, entry);
    await entry.refreshing;
  }

  #admitted(name: string, entry: Entry, decision: "closed" | "probe"): Admission {
    let settled = false;
    return {
      allowed: true,
      decision,
      settle: (result) => {
        if (settled) return;
        settled = true;
        if (decision === "probe") this.#settleProbe(name, entry, result);
        else if (result === "failure") this.#recordFailure(name, entry);
      },
    };
  }

  #settleProbe(name: string, entry: Entry, result: "success" | "failure"): void {
    entry.probing = false;
    if (result === "success") {
      this.#close(entry);
      this.#write(name, (store) => store.publishClosed(name));
    } else {
      this.#open(name, entry, "half-open probe failed");
    }
  }

  #close(entry: Entry): void {
    entry.openUntil = 0;
    entry.sharedOpenUntil = 0;
    entry.failures = [];
  }

  #recordFailure(name: string, entry: Entry): void {
    const now = this.#now();
    entry.failures = entry.failures.filter((at) => at > now - this.#options.windowMs);
    entry.failures.push(now);
    const alreadyOpen = Math.max(entry.openUntil, entry.sharedOpenUntil) > now;
    if (!alreadyOpen && entry.failures.length >= this.#options.failureThreshold) {
      this.#open(
        name,
        entry,
        `${entry.failures.length} failures within ${this.#options.windowMs} ms`,
      );
    }
  }

  #open(name: string, entry: Entry, reason: string): void {
    entry.openUntil = this.#now() + this.#options.openMs;
    entry.failures = [];
    this.#write(name, (store) => store.publishOpen(name, this.#options.openMs, reason));
  }

  #entry(name: string): Entry {
    let entry = this.#entries.get(name);
    if (!entry) {
      entry = {
        failures: [],
        openUntil: 0,
        sharedOpenUntil: 0,
        sharedReadAt: 0,
        refreshing: null,
        probing: false,
      };
      this.#entries.set(name, entry);
    }
    return entry;
  }

  #refreshInBackground(name: string, entry: Entry): void {
    const store = this.#options.store;
    if (!store || entry.refreshing) return;
    const now = this.#now();
    if (entry.sharedReadAt !== 0 && now - entry.sharedReadAt < (this.#options.cacheTtlMs ?? 5000)) {
      return;
    }
    entry.sharedReadAt = now;
    entry.refreshing = store.read(name).then(
      (shared) => {
        const at = this.#now();
        // A published open counts from the store's clock; never 0 while open.
        entry.sharedOpenUntil = shared?.open ? Math.max(1, at + Math.max(0, shared.openForMs)) : 0;
        // Closed in the table while this instance waits to probe: another instance's probe
        // succeeded after this one opened (its own open would have made the row open).
        const halfOpen = entry.openUntil !== 0 && at >= entry.openUntil && !entry.probing;
        if (shared && !shared.open && halfOpen) this.#close(entry);
      },
      (error) => this.#options.onStoreError?.(error, name),
    ).finally(() => {
      entry.refreshing = null;
    });
    this.#options.track?.(entry.refreshing);
  }

  async #claim(name: string): Promise<ProbeClaim> {
    const store = this.#options.store;
    if (!store) return "unclaimed";
    const lease = this.#options.probeLeaseMs ?? Math.max(1000, this.#options.openMs);
    try {
      const claim = await withTimeout(
        store.claimProbe(name, lease),
        this.#options.storeTimeoutMs ?? 1000,
      );
      // A store that does not answer in time: probe locally rather than never closing.
      return claim === TIMED_OUT ? "unclaimed" : claim;
    } catch (error) {
      this.#options.onStoreError?.(error, name);
      return "unclaimed";
    }
  }

  #write(name: string, write: (store: BreakerStore) => Promise<void>): void {
    const store = this.#options.store;
    if (!store) return;
    const task = write(store).catch((error) => this.#options.onStoreError?.(error, name));
    this.#options.track?.(task);
  }
}

/**
 * The circuit_breakers table over SqlClient. Times are the database's (`now()`), unless a clock
 * is given (tests drive the probe interval with it; production never passes one).
 */
export class SqlBreakerStore implements BreakerStore {
  constructor(
    private readonly sql: SqlClient,
    private readonly options: { readonly now?: () => number } = {},
  ) {}

  #now(): string | null {
    return this.options.now ? new Date(this.options.now()).toISOString() : null;
  }

  async read(name: string): Promise<SharedBreakerState | null> {
    const { rows } = await this.sql.query<{ state: string; open_for_ms: number | string | null }>(
      `SELECT state,
              GREATEST(0, EXTRACT(EPOCH FROM (open_until - COALESCE($2::timestamptz, now()))) * 1000)
                ::float8 AS open_for_ms
       FROM circuit_breakers WHERE name = $1`,
      [name, this.#now()],
    );
    const row = rows[0];
    if (!row) return null;
    return { open: row.state === "open", openForMs: Number(row.open_for_ms ?? 0) };
  }

  async publishOpen(name: string, openMs: number, reason: string): Promise<void> {
    await this.sql.query(
      `INSERT INTO circuit_breakers AS b (name, state, open_until, probe_until, opened_count, reason)
       VALUES ($1, 'open', COALESCE($4::timestamptz, now()) + $2 * interval '1 millisecond', NULL,
               1, $3)
       ON CONFLICT (name) DO UPDATE
         SET state = 'open', open_until = EXCLUDED.open_until, probe_until = NULL,
             opened_count = b.opened_count + 1, reason = EXCLUDED.reason, updated_at = now()`,
      [name, openMs, reason.slice(0, 500), this.#now()],
    );
  }

  async publishClosed(name: string): Promise<void> {
    await this.sql.query(
      `UPDATE circuit_breakers
       SET state = 'closed', open_until = NULL, probe_until = NULL, reason = NULL,
           updated_at = now()
       WHERE name = $1`,
      [name],
    );
  }

  async claimProbe(name: string, leaseMs: number): Promise<ProbeClaim> {
    // One statement: the lease goes to whoever's UPDATE lands first; the others see "busy".
    const { rows } = await this.sql.query<{ outcome: ProbeClaim }>(
      `WITH t AS (SELECT COALESCE($3::timestamptz, now()) AS now),
       claimed AS (
         UPDATE circuit_breakers b
         SET probe_until = t.now + $2 * interval '1 millisecond', updated_at = now()
         FROM t
         WHERE b.name = $1 AND b.state = 'open' AND b.open_until <= t.now
           AND (b.probe_until IS NULL OR b.probe_until <= t.now)
         RETURNING 1
       )
       SELECT CASE
         WHEN EXISTS (SELECT 1 FROM claimed) THEN 'claimed'
         WHEN EXISTS (SELECT 1 FROM circuit_breakers WHERE name = $1 AND state = 'open') THEN 'busy'
         WHEN EXISTS (SELECT 1 FROM circuit_breakers WHERE name = $1) THEN 'closed'
         ELSE 'unclaimed'
       END AS outcome`,
      [name, leaseMs, this.#now()],
    );
    return rows[0]?.outcome ?? "unclaimed";
  }
}

/** What `throughBreaker` returns when the breaker did not admit the call. */
export const BREAKER_OPEN: unique symbol = Symbol("circuit breaker open");

/**
 * One call to one backend through a breaker: the hook for per-backend use (e.g. the dual-write
 * auth service with names "signup:better_auth" / "login:supabase"). Returns BREAKER_OPEN without
 * calling when the breaker is open; otherwise the call's result, settled as a failure when
 * `failed(result)` says so or the call throws (rethrown). `failed` must say false for a
 * definitive refusal (wrong password, user exists): a refusal is an answer, not an outage.
 */
export async function throughBreaker<T>(
  breaker: CircuitBreaker | undefined,
  name: string,
  call: () => Promise<T>,
  failed: (result: T) => boolean,
): Promise<T | typeof BREAKER_OPEN> {
  if (!breaker) return await call();
  const admission = await breaker.admit(name);
  if (!admission.allowed) return BREAKER_OPEN;
  let result: T;
  try {
    result = await call();
  } catch (error) {
    admission.settle("failure");
    throw error;
  }
  admission.settle(failed(result) ? "failure" : "success");
  return result;
}
