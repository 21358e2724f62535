import assert from "node:assert/strict";
import { BackgroundTasks } from "../../../shared/migrator/background.ts";

Deno.test("background: drain waits for tasks, including tasks started while draining", async () => {
  const errors: unknown[] = [];
  const tasks = new BackgroundTasks({ onError: (error) => errors.push(error) });
  const order: string[] = [];
  let release!: () => void;
  tasks.track(new Promise<void>((resolve) => (release = resolve)).then(() => {
    order.push("first");
    tasks.track(Promise.resolve().then(() => order.push("second")));
  }));
  tasks.track(Promise.reject(new Error("boom")));
  const drained = tasks.drain().then(() => order.push("drained"));
  await Promise.resolve();
  assert.deepEqual(order, []);
  release();
  await drained;
  assert.deepEqual(order, ["first", "second", "drained"]);
  assert.equal(tasks.size, 0);
  assert.equal((errors[0] as Error).message, "boom");
});

Deno.test("background: hands every task to EdgeRuntime.waitUntil when present", async () => {
  const handed: Promise<unknown>[] = [];
  const global = globalThis as { EdgeRuntime?: unknown };
  global.EdgeRuntime = { waitUntil: (promise: Promise<unknown>) => handed.push(promise) };
  try {
    const tasks = new BackgroundTasks();
    tasks.track(Promise.resolve(1));
    assert.equal(handed.length, 1);
    await tasks.drain();
  } finally {
    delete global.EdgeRuntime;
  }
});
