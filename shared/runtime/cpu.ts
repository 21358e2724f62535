/**
 * CPU time of this process, for budgets measured the way Supabase limits Edge Functions (~2 s of
 * CPU per request, async I/O not counted; docs: functions/limits). `Deno.cpuUsage()` (user +
 * system µs, getrusage of the process) where the runtime has it, else node:process `cpuUsage()`;
 * undefined where neither exists, and callers then fall back to wall-clock bounds alone.
 *
 * On the Edge Runtime several isolates can share one process, so this over-counts there: a CPU
 * budget then stops early, which is the safe direction (the next cron call continues).
 */
import process from "node:process";

interface CpuUsage {
  readonly user: number;
  readonly system: number;
}

function read(): CpuUsage | undefined {
  const deno = (Deno as unknown as { cpuUsage?: () => CpuUsage }).cpuUsage;
  try {
    if (typeof deno === "function") return deno();
    if (typeof process.cpuUsage === "function") return process.cpuUsage();
  } catch {
    // Not permitted or not implemented here.
  }
  return undefined;
}

/** Milliseconds of CPU (user + system) this process has used, or undefined when unknown. */
export function processCpuMs(): number | undefined {
  const usage = read();
  return usage ? (usage.user + usage.system) / 1000 : undefined;
}
