/**
 * Plain Deno (`deno run`, `supabase functions serve` is the Edge Runtime, not this): Deno.serve
 * returns an HttpServer with `addr`; shutdown comes as SIGINT/SIGTERM and ends with an exit;
 * after-response work needs nothing beyond the event loop (BackgroundTasks tracks it for drain).
 */
import {
  type FetchHandler,
  type RuntimeAdapter,
  type ServedHandle,
  type ServeOptions,
  type ShutdownReason,
  withinDeadline,
} from "./types.ts";

export const denoAdapter: RuntimeAdapter = {
  kind: "deno",
  serve(handler: FetchHandler, options: ServeOptions): ServedHandle {
    const server = Deno.serve({
      ...(options.port !== undefined && { port: options.port }),
      ...(options.hostname !== undefined && { hostname: options.hostname }),
      onListen: ({ hostname, port }) => options.onListen?.({ hostname, port }),
    }, (request) => handler(request));
    return { port: server.addr.port, shutdown: () => server.shutdown() };
  },
  waitUntil(): void {
    // The event loop keeps pending promises alive; nothing to register.
  },
  onShutdown(stop, { deadlineMs, onTimeout }): void {
    let started = false;
    const run = async (reason: ShutdownReason) => {
      if (started) return;
      started = true;
      let failed = false;
      const finished = await withinDeadline(stop(reason).catch(() => (failed = true)), deadlineMs);
      if (!finished) onTimeout?.(reason);
      Deno.exit(finished && !failed ? 0 : 1);
    };
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      try {
        Deno.addSignalListener(signal, () => void run(signal));
      } catch {
        // Not every platform lets a program listen for this signal (Windows: SIGTERM).
      }
    }
  },
};
