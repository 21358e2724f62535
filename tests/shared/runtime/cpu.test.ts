import assert from "node:assert/strict";
import { cpuOrElapsedMs, processCpuMs, WaitDiscountedClock } from "../../../shared/runtime/cpu.ts";
import { waitMeteredSqlClient } from "../../../shared/db/wait-metered-sql-client.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { freshPglite } from "../../helpers/db.ts";

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

Deno.test("without a CPU clock, time waiting on awaited I/O is not counted as CPU (overlaps once)", async () => {
  let now = 1_000;
  const clock = new WaitDiscountedClock(() => now);
  const start = clock.cpuMs();
  now += 5; // 5 ms of our own work
  await clock.waitFor(async () => {
    now += 40; // the database works
    assert.equal(clock.cpuMs() - start, 5, "a wait in flight is not CPU");
    await Promise.all([
      clock.waitFor(() => Promise.resolve(now += 10)),
      clock.waitFor(() => Promise.resolve(now += 10)),
    ]);
  });
  now += 3; // more of our own work
  assert.equal(clock.cpuMs() - start, 8);
  // A failing wait is still a wait.
  await assert.rejects(() =>
    clock.waitFor(() => {
      now += 100;
      return Promise.reject(new Error("connection reset"));
    })
  );
  assert.equal(clock.cpuMs() - start, 8);
});

Deno.test("a wait-metered SqlClient counts every statement, inside transactions too, as waiting", async () => {
  const db = await freshPglite();
  let now = 0;
  const clock = new WaitDiscountedClock(() => now);
  // Every statement "takes" 7 ms of the database's time; the callback's own work 2 ms.
  const slow: SqlClient = Object.assign(Object.create(db), {
    query: (text: string, params?: readonly unknown[]) => {
      now += 7;
      return db.query(text, params);
    },
  });
  const metered = waitMeteredSqlClient(slow, clock);
  try {
    const start = clock.cpuMs();
    await metered.query("SELECT 1");
    await metered.transaction(async (tx) => {
      now += 2;
      await tx.query("SELECT 2");
    });
    assert.equal(clock.cpuMs() - start, 2);
  } finally {
    await db.close();
  }
});
