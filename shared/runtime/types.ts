/**
 * The three things that differ between plain Deno and Supabase's Edge Runtime, behind one small
 * interface (one adapter per runtime, as Hono does in src/adapter/<runtime>/): serving, work that
 * outlives the response, and shutdown. Code above the adapter never touches either runtime's
 * server object.
 */

export type FetchHandler = (request: Request) => Response | Promise<Response>;

export interface ServeOptions {
  /** Plain Deno only: the port to listen on (0 = any free port). The Edge Runtime picks its own. */
  readonly port?: number;
  readonly hostname?: string;
  /** Called once the server listens; `port` is known only where the program chose it. */
  readonly onListen?: (where: { hostname?: string; port?: number }) => void;
}

export interface ServedHandle {
  /** The bound port on plain Deno; undefined on the Edge Runtime (the platform owns the port). */
  readonly port: number | undefined;
  /** Stops accepting connections and resolves when the listener is closed. */
  shutdown(): Promise<void>;
}

export type ShutdownReason = "SIGINT" | "SIGTERM" | "drain" | "beforeunload";

export interface RuntimeAdapter {
  readonly kind: "deno" | "edge";
  serve(handler: FetchHandler, options: ServeOptions): ServedHandle;
  /** Keeps `task` alive after the response has been sent (EdgeRuntime.waitUntil on the platform). */
  waitUntil(task: Promise<unknown>): void;
  /**
   * Runs `stop` once when the runtime is about to end this process or isolate, bounded by
   * `deadlineMs`: plain Deno on SIGINT/SIGTERM (then exits), the Edge Runtime on `drain` (user
   * workers) or `beforeunload` (then the platform ends the isolate).
   */
  onShutdown(
    stop: (reason: ShutdownReason) => Promise<void>,
    options: { deadlineMs: number; onTimeout?: (reason: ShutdownReason) => void },
  ): void;
}

/** Resolves with true when `task` settled within `ms`, false when the deadline came first. */
export async function withinDeadline(task: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([task.then(() => true, () => true), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
