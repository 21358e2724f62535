/**
 * Supabase Edge Runtime (user worker). Read from supabase/edge-runtime:
 * - `ext/runtime/js/http.js` `serve()`: returns only `{ finished, shutdown, ref, unref }` (no
 *   `addr`), always listens where the runtime decides (its own `port: 9999, hostname: "0.0.0.0"`
 *   options; the caller's port/hostname are ignored), calls `onListen` with those, and closes the
 *   listener itself on `drain` in user workers (`beforeunload` in the main worker). Its
 *   `shutdown()` is synchronous.
 * - `EdgeRuntime.waitUntil(promise)` keeps the isolate alive after the response until the promise
 *   settles (within the wall-clock limit).
 * - `ext/runtime/js/bootstrap.js`: `Deno.exit` and signal listeners are no-ops in user workers, so
 *   shutdown must not rely on either; the isolate ends after `drain`/`beforeunload` once the work
 *   handed to waitUntil has settled.
 */
import {
  type FetchHandler,
  type RuntimeAdapter,
  type ServedHandle,
  type ServeOptions,
  type ShutdownReason,
  withinDeadline,
} from "./types.ts";

interface EdgeRuntimeGlobal {
  waitUntil(promise: Promise<unknown>): void;
}

/** `globalThis.EdgeRuntime` when this process runs on the Edge Runtime, else undefined. */
export function edgeRuntimeGlobal(): EdgeRuntimeGlobal | undefined {
  const candidate = (globalThis as { EdgeRuntime?: Partial<EdgeRuntimeGlobal> }).EdgeRuntime;
  return typeof candidate?.waitUntil === "function" ? candidate as EdgeRuntimeGlobal : undefined;
}

/** The shape the Edge Runtime's Deno.serve returns (http.js); typed here, never `addr`. */
interface EdgeServer {
  finished: Promise<void>;
  shutdown(): void | Promise<void>;
}

export const edgeAdapter: RuntimeAdapter = {
  kind: "edge",
  serve(handler: FetchHandler, options: ServeOptions): ServedHandle {
    const serve = Deno.serve as unknown as (
      options: { onListen?: (where: { hostname?: string; port?: number }) => void },
      handler: FetchHandler,
    ) => EdgeServer;
    // The platform decides where to listen; the port it reports to onListen is its own.
    const server = serve({ onListen: (where) => options.onListen?.(where) }, handler);
    return {
      port: undefined,
      shutdown: async () => {
        await server.shutdown();
      },
    };
  },
  waitUntil(task: Promise<unknown>): void {
    edgeRuntimeGlobal()?.waitUntil(task);
  },
  onShutdown(stop, { deadlineMs, onTimeout }): void {
    let started = false;
    const run = (reason: ShutdownReason) => {
      if (started) return;
      started = true;
      const stopping = withinDeadline(stop(reason).catch(() => {}), deadlineMs).then(
        (finished) => {
          if (!finished) onTimeout?.(reason);
        },
      );
      // The isolate stays up until the flush settles (or the deadline passes).
      try {
        edgeRuntimeGlobal()?.waitUntil(stopping);
      } catch {
        // Outside a request waitUntil may refuse; the pending promise still keeps the loop alive.
      }
    };
    for (const event of ["drain", "beforeunload"] as const) {
      globalThis.addEventListener(event, () => run(event));
    }
  },
};
