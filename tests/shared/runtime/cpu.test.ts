import assert from "node:assert/strict";
import { cpuOrElapsedMs, processCpuMs } from "../../../shared/runtime/cpu.ts";

Deno.test("processCpuMs: the process's CPU time on plain Deno, growing with work", () => {
  const before = processCpuMs();
  assert.ok(before !== undefined && before > 0);
  let x = 0;
  for (let i = 0; i < 5_000_000; i++) x += i % 7;
  assert.ok(x > 0);
  assert.ok(processCpuMs()! > before);
});

Deno.test("without a CPU clock (the Edge Runtime) elapsed time stands in for CPU time", () => {
  const real = Object.getOwnPropertyDescriptor(Deno, "cpuUsage")!;
  Object.defineProperty(Deno, "cpuUsage", { value: undefined, configurable: true, writable: true });
  try {
    assert.equal(processCpuMs(), undefined);
    const before = performance.now();
    const stand = cpuOrElapsedMs();
    assert.ok(stand >= before && stand <= performance.now());
  } finally {
    Object.defineProperty(Deno, "cpuUsage", real);
  }
});
