/**
 * Turns "please stop" signals into an AbortSignal for a CLI that should finish its current step,
 * close its database (releasing a PGlite data-dir lock) and exit, instead of dying mid-write:
 * SIGINT and SIGTERM (what Ctrl-C, `kill`, `timeout` and supervisors send, and what
 * scripts/deno.mjs forwards), or the exit of a launcher that forwards nothing (launcher-watch.ts).
 * A second signal while stopping exits at once with 128 + n.
 *
 *   const stop = listenForStopSignals();
 *   try { await work({ signal: stop.signal }); } finally { stop.dispose(); }
 */
import { watchLauncher } from "./launcher-watch.ts";

const SIGNALS: ReadonlyArray<{ name: Deno.Signal; code: number }> = Deno.build.os === "windows"
  ? [{ name: "SIGINT", code: 130 }]
  : [{ name: "SIGINT", code: 130 }, { name: "SIGTERM", code: 143 }];

export interface StopSignals {
  readonly signal: AbortSignal;
  /** The exit code the received signal calls for (130 SIGINT, 143 SIGTERM), or null. */
  exitCode(): number | null;
  /** Removes the listeners (the default action applies again). */
  dispose(): void;
}

export function listenForStopSignals(): StopSignals {
  const controller = new AbortController();
  let code: number | null = null;
  const stop = (why: string, exitCode: number) => {
    if (controller.signal.aborted) Deno.exit(exitCode);
    code = exitCode;
    controller.abort(new Error(why));
  };
  const listeners = SIGNALS.map(({ name, code: exitCode }) => {
    const listener = () => stop(`received ${name}`, exitCode);
    Deno.addSignalListener(name, listener);
    return { name, listener };
  });
  // A launcher that forwards nothing (npm's node_modules/.bin/deno) was killed: same as SIGTERM.
  const unwatch = watchLauncher(() => stop("the launcher exited", 143));
  return {
    signal: controller.signal,
    exitCode: () => code,
    dispose() {
      unwatch();
      for (const { name, listener } of listeners) Deno.removeSignalListener(name, listener);
    },
  };
}
