/**
 * CPU time for budgets measured the way Supabase limits Edge Functions (~2 s of CPU per request,
 * async I/O not counted; docs: functions/limits).
 *
 * - Plain Deno: `Deno.cpuUsage()` (user + system µs of the process).
 * - The Edge Runtime exposes no CPU clock to a function: it has no `Deno.cpuUsage`, and its
 *   node:process `cpuUsage()` is a stub that logs "Not implemented" and returns zeros
 *   (supabase/edge-runtime `ext/node/polyfills/process.ts`), so it is never called here. There,
 *   elapsed time stands in for CPU time: the function's JavaScript runs on one thread, so the CPU
 *   time it is charged cannot exceed the wall time that passed — a budget then stops early, the
 *   safe direction (the next call continues).
 */

interface CpuUsage {
  readonly user: number;
  readonly system: number;
}

/** Milliseconds of CPU (user + system) this process has used, or undefined when unknown. */
export function processCpuMs(): number | undefined {
  const read = (Deno as unknown as { cpuUsage?: () => CpuUsage }).cpuUsage;
  if (typeof read !== "function") return undefined;
  try {
    const usage = read();
    return (usage.user + usage.system) / 1000;
  } catch {
    return undefined; // not permitted or not implemented here
  }
}

/** CPU milliseconds where the runtime tells them, else elapsed milliseconds (an upper bound). */
export function cpuOrElapsedMs(): number {
  return processCpuMs() ?? performance.now();
}

/**
 * A CPU estimate for a runtime without a CPU clock (the Edge Runtime): elapsed time minus the time
 * during which at least one awaited I/O operation it was told about (`waitFor`) was in flight. The
 * function's JavaScript runs on one thread, and while it waits on the database it is charged no
 * CPU (Supabase counts CPU, not async I/O: docs functions/limits), so for a database-bound loop such
 * as the set-based batch this is close to what the platform charges, where plain elapsed time would
 * stop a call after ~1.5 s of mostly waiting. It slightly undercounts the driver's parsing of
 * results, which happens inside the await; the batch statements return a few rows each.
 */
export class WaitDiscountedClock {
  readonly #now: () => number;
  #inFlight = 0;
  #waitStarted = 0;
  #waitedMs = 0;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Estimated CPU milliseconds so far (an arbitrary origin: compare two readings). */
  cpuMs(): number {
    const now = this.#now();
    const waiting = this.#inFlight > 0 ? now - this.#waitStarted : 0;
    return now - this.#waitedMs - waiting;
  }

  /** Runs `work`, counting the time it is in flight as waiting (overlapping waits count once). */
  async waitFor<T>(work: () => Promise<T>): Promise<T> {
    if (this.#inFlight++ === 0) this.#waitStarted = this.#now();
    try {
      return await work();
    } finally {
      if (--this.#inFlight === 0) this.#waitedMs += this.#now() - this.#waitStarted;
    }
  }
}
