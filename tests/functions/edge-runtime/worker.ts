/**
 * Runs one UNCHANGED function entrypoint (`deno run ... worker.ts functions/<name>/index.ts`)
 * under the user-worker surface of Supabase's Edge Runtime, as read from supabase/edge-runtime:
 *
 * - `ext/runtime/js/http.js` `serve()`: `Deno.serve` ignores the caller's port/hostname (the
 *   runtime listens where it decides: here a free port on 127.0.0.1 the OS picks, reported to the
 *   harness on the `listening` line — a port picked by the harness and freed first could be taken
 *   by another process's connection before the worker binds it), calls `onListen` with
 *   its own `{hostname: "0.0.0.0", port: 9999}`, returns only `{finished, shutdown, ref, unref}`
 *   (no `addr`; `shutdown()` synchronous) and closes the listener itself on `drain`. The handler's
 *   `info.remoteAddr` is that same fixed address, and `request.signal` never aborts.
 * - `EdgeRuntime.waitUntil(promise)` keeps work alive after the response.
 * - `ext/runtime/js/bootstrap.js`: `Deno.exit` and signal listeners do nothing in a user worker
 *   (mocked); spawning processes is refused (the harness runs this with `--deny-run`), writes only
 *   under /tmp (`--allow-write=/tmp`).
 * - No CPU clock: the Edge Runtime has no `Deno.cpuUsage` (and its node:process `cpuUsage()` is a
 *   stub returning zeros, `ext/node/polyfills/process.ts`), so it is removed here too.
 *
 * The harness ends the worker as the platform does: SIGTERM to this process → a `drain` event →
 * wait (bounded) for every waitUntil promise. Then nothing forces an exit: the process ends only
 * when the function closed everything it opened (listener, SQL pool, timers), which is what the
 * conformance test checks. Lines starting with `edge-harness:` on stderr report progress.
 *
 * For benchmarks the harness itself (never the function) answers `GET /__edge_harness/cpu` with
 * this process's CPU time so far, `{ "cpu_ms": n }` (Deno.cpuUsage: user + system).
 */
import { pathToFileURL } from "node:url";

const entry = Deno.args[0];
if (!entry) {
  console.error("usage: deno run ... worker.ts <entrypoint>");
  Deno.exit(2);
}

const report = (event: string, detail: Record<string, unknown> = {}) =>
  console.error(`edge-harness: ${JSON.stringify({ event, ...detail })}`);

// --- EdgeRuntime.waitUntil -------------------------------------------------------------------
const pending = new Set<Promise<unknown>>();
Object.defineProperty(globalThis, "EdgeRuntime", {
  value: Object.freeze({
    waitUntil(promise: Promise<unknown>) {
      const settled = Promise.resolve(promise).catch(() => {});
      pending.add(settled);
      settled.finally(() => pending.delete(settled));
    },
  }),
  configurable: true,
});

// --- Deno.serve as http.js implements it ----------------------------------------------------
type Handler = (request: Request, info: unknown) => Response | Promise<Response>;
interface EdgeServeOptions {
  handler?: Handler;
  onListen?: (where: { hostname: string; port: number }) => void;
  onError?: (error: unknown) => Response | Promise<Response>;
}
const realServe = Deno.serve;
const EDGE_ADDR = { hostname: "0.0.0.0", port: 9999, transport: "tcp" } as const;
const neverAborts = new AbortController().signal;

function edgeServe(arg1: unknown, arg2?: unknown) {
  const options: EdgeServeOptions = typeof arg1 === "object" && arg1 !== null
    ? arg1 as EdgeServeOptions
    : {};
  const handler = typeof arg1 === "function"
    ? arg1 as Handler
    : typeof arg2 === "function"
    ? arg2 as Handler
    : options.handler;
  if (!handler) throw new TypeError("A handler function must be provided.");
  const server = realServe({
    port: 0,
    hostname: "127.0.0.1",
    onListen: ({ port }) => report("listening", { port }),
  }, async (request) => {
    if (new URL(request.url).pathname === "/__edge_harness/cpu") {
      const usage = realCpuUsage();
      return Response.json({ cpu_ms: (usage.user + usage.system) / 1000 });
    }
    const edgeRequest = new Request(request, { signal: neverAborts });
    try {
      return await handler(edgeRequest, { remoteAddr: EDGE_ADDR });
    } catch (error) {
      if (options.onError) return await options.onError(error);
      console.error(error);
      return new Response("Internal Server Error", { status: 500 });
    }
  });
  options.onListen?.({ hostname: EDGE_ADDR.hostname, port: EDGE_ADDR.port });
  const shutdown = () => {
    globalThis.removeEventListener("drain", shutdown);
    void server.shutdown();
  };
  globalThis.addEventListener("drain", shutdown, { once: true });
  return { finished: server.finished, shutdown, ref() {}, unref() {} };
}
Object.defineProperty(Deno, "serve", { value: edgeServe, configurable: true, writable: true });

// --- no CPU clock for the function (the harness keeps its own for /__edge_harness/cpu) ---------
const realCpuUsage = (Deno as unknown as { cpuUsage(): { user: number; system: number } })
  .cpuUsage.bind(Deno);
Object.defineProperty(Deno, "cpuUsage", { value: undefined, configurable: true, writable: true });

// --- no process control in a user worker ------------------------------------------------------
const realAddSignalListener = Deno.addSignalListener;
const realRemoveSignalListener = Deno.removeSignalListener;
for (
  const [name, value] of [
    ["exit", (code?: number) => report("Deno.exit ignored", { code })],
    ["addSignalListener", () => {}],
    ["removeSignalListener", () => {}],
  ] as const
) {
  Object.defineProperty(Deno, name, { value, configurable: true, writable: true });
}

// --- the platform's end of a worker: drain, then wait for waitUntil work ---------------------
const DRAIN_WAIT_MS = Number(Deno.env.get("EDGE_HARNESS_DRAIN_WAIT_MS") ?? 10_000);
const onTerminate = async () => {
  realRemoveSignalListener("SIGTERM", onTerminate);
  report("drain");
  globalThis.dispatchEvent(new Event("drain"));
  const started = performance.now();
  while (pending.size > 0 && performance.now() - started < DRAIN_WAIT_MS) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all([...pending]),
      new Promise((resolve) => (timer = setTimeout(resolve, DRAIN_WAIT_MS))),
    ]);
    clearTimeout(timer);
  }
  report("drained", { pending: pending.size, ms: Math.round(performance.now() - started) });
};
realAddSignalListener("SIGTERM", onTerminate);

report("booting", { entry });
await import(pathToFileURL(await Deno.realPath(entry)).href);
report("booted");
