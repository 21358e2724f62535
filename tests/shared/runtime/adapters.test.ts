/**
 * The runtime adapters in-process. The end-to-end proof is the conformance harness
 * (tests/functions/edge-runtime.test.ts), which runs the real entrypoints under the Edge Runtime's
 * user-worker surface; these pin each adapter's own contract.
 */
import assert from "node:assert/strict";
import { denoAdapter } from "../../../shared/runtime/deno.ts";
import { edgeAdapter } from "../../../shared/runtime/edge.ts";
import { currentRuntime } from "../../../shared/runtime/mod.ts";
import { withinDeadline } from "../../../shared/runtime/types.ts";

function withEdgeRuntime<T>(waitUntil: (p: Promise<unknown>) => void, fn: () => T): T {
  Object.defineProperty(globalThis, "EdgeRuntime", { value: { waitUntil }, configurable: true });
  try {
    return fn();
  } finally {
    delete (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime;
  }
}

Deno.test("currentRuntime: the edge adapter only where EdgeRuntime.waitUntil exists", () => {
  assert.equal(currentRuntime().kind, "deno");
  assert.equal(withEdgeRuntime(() => {}, () => currentRuntime().kind), "edge");
});

Deno.test("deno adapter: serves on the requested port and reports it; shutdown closes", async () => {
  let listened: { port?: number } | undefined;
  const served = denoAdapter.serve(() => new Response("ok"), {
    port: 0,
    hostname: "127.0.0.1",
    onListen: (where) => (listened = where),
  });
  try {
    assert.ok(served.port !== undefined && served.port > 0);
    assert.equal(listened?.port, served.port);
    const response = await fetch(`http://127.0.0.1:${served.port}/`);
    assert.equal(await response.text(), "ok");
  } finally {
    await served.shutdown();
  }
});

Deno.test("edge adapter: a server shape without addr, no port of ours", async () => {
  const realServe = Deno.serve;
  let shutdowns = 0;
  // The Edge Runtime's serve (ext/runtime/js/http.js): no addr, a synchronous shutdown.
  const fake = ((_options: unknown, _handler: unknown) => ({
    finished: Promise.resolve(),
    shutdown: () => void shutdowns++,
    ref() {},
    unref() {},
  })) as unknown as typeof Deno.serve;
  Object.defineProperty(Deno, "serve", { value: fake, configurable: true, writable: true });
  try {
    const served = edgeAdapter.serve(() => new Response("ok"), { port: 8000 });
    assert.equal(served.port, undefined);
    await served.shutdown();
    assert.equal(shutdowns, 1);
  } finally {
    Object.defineProperty(Deno, "serve", { value: realServe, configurable: true, writable: true });
  }
});

Deno.test("edge adapter: drain runs the stop once, kept alive with waitUntil, bounded", async () => {
  const kept: Promise<unknown>[] = [];
  const timeouts: string[] = [];
  let stops = 0;
  let release: () => void = () => {};
  withEdgeRuntime((p) => kept.push(p), () =>
    edgeAdapter.onShutdown(() => {
      stops++;
      return new Promise<void>((resolve) => (release = resolve)); // never settles by itself
    }, { deadlineMs: 50, onTimeout: (reason) => timeouts.push(reason) }));
  withEdgeRuntime((p) => kept.push(p), () => {
    globalThis.dispatchEvent(new Event("drain"));
    globalThis.dispatchEvent(new Event("beforeunload"));
  });
  assert.equal(stops, 1, "once, whichever event comes first");
  assert.equal(kept.length, 1, "the stop is handed to EdgeRuntime.waitUntil");
  await kept[0];
  assert.deepEqual(timeouts, ["drain"], "the deadline ends the wait");
  release();
});

Deno.test("withinDeadline: true when the task settles first (even rejected), false otherwise", async () => {
  assert.equal(await withinDeadline(Promise.resolve(), 1000), true);
  assert.equal(await withinDeadline(Promise.reject(new Error("x")), 1000), true);
  assert.equal(await withinDeadline(new Promise(() => {}), 10), false);
});
