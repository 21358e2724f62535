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
