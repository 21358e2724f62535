/**
 * Turns "please stop" signals into an AbortSignal for a CLI that should finish its current step,
 * close its database (releasing a PGlite data-dir lock) and exit, instead of dying mid-write:
 * SIGINT and SIGTERM (what Ctrl-C, `kill`, `timeout` and supervisors send, and what
 * scripts/deno.mjs forwards). A second signal while stopping exits at once with 128 + n.
 *
 *   const stop = listenForStopSignals();
 *   try { await work({ signal: stop.signal }); } finally { stop.dispose(); }
 */
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
  const listeners = SIGNALS.map(({ name, code: exitCode }) => {
    const listener = () => {
      if (controller.signal.aborted) Deno.exit(exitCode);
      code = exitCode;
      controller.abort(new Error(`received ${name}`));
    };
    Deno.addSignalListener(name, listener);
    return { name, listener };
  });
  return {
    signal: controller.signal,
    exitCode: () => code,
    dispose() {
      for (const { name, listener } of listeners) Deno.removeSignalListener(name, listener);
    },
  };
}
