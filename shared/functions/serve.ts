/**
 * Start-up of one function process, shared by the four entrypoints:
 *
 *   loadConfig(env) → createBaseContainer(config) + the function's areas
 *     → definition.createApp(container) → runtime adapter serve (shared/runtime/)
 *
 * A bad environment stops start-up with ConfigError's one line naming every offending variable,
 * on stderr, before anything listens. On Supabase the port is the platform's (its Deno.serve
 * ignores ours and has no `addr`); locally `PORT` picks it (default 8000, Deno.serve's own; 0 =
 * any free port, reported in the "listening" log line).
 *
 * Shutdown (SIGINT/SIGTERM locally, `drain`/`beforeunload` on the Edge Runtime) stops the
 * listener, flushes pending metrics and shadow work and closes the SQL pool — awaited, but never
 * longer than SHUTDOWN_DEADLINE_MS.
 */
import { ConfigError, loadConfig } from "../config/env.ts";
import { createBaseContainer } from "../di/base-container.ts";
import type { Container } from "../di/container.ts";
import type { FunctionApp } from "../http/app.ts";
import type { Logger } from "../observability/logger.ts";
import { redactString } from "../observability/redact.ts";
import { setProcessTags } from "../observability/sentry.ts";
import { LoggerToken } from "../observability/tokens.ts";
import { currentRuntime, type RuntimeAdapter } from "../runtime/mod.ts";
import type { FunctionDefinition } from "./definition.ts";
import type { FunctionName } from "./names.ts";

export const DEFAULT_PORT = 8000;
/** Upper bound of a graceful shutdown (listener, metric flush, pool close). */
export const SHUTDOWN_DEADLINE_MS = 5_000;

export interface StartFunctionOptions {
  /** The environment snapshot (default `Deno.env.toObject()`). */
  readonly env?: Record<string, string | undefined>;
  /** Overrides PORT. */
  readonly port?: number;
  readonly hostname?: string;
  /** Default: the adapter of the runtime this process runs on. */
  readonly runtime?: RuntimeAdapter;
}

export interface RunningFunction {
  readonly name: FunctionName;
  readonly app: FunctionApp;
  readonly container: Container;
  readonly runtime: RuntimeAdapter;
  /** The bound port on plain Deno; undefined on the Edge Runtime, which owns the listener. */
  readonly port: number | undefined;
  /** Stops accepting requests, lets in-flight ones finish, then disposes the container. */
  shutdown(): Promise<void>;
}

/** PORT from the environment: undefined when unset; throws ConfigError when not a port number. */
export function portFromEnv(env: Record<string, string | undefined>): number | undefined {
  const raw = env.PORT?.trim();
  if (raw === undefined || raw === "") return undefined;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) {
    throw new ConfigError([{ variable: "PORT", message: "expected a port number (0-65535)" }]);
  }
  return port;
}

/** Validates the environment, builds the app and starts serving it. Throws on any failure. */
export async function startFunction(
  definition: FunctionDefinition,
  options: StartFunctionOptions = {},
): Promise<RunningFunction> {
  const { name } = definition;
  const env = options.env ?? Deno.env.toObject();
  // One ConfigError naming every bad variable, PORT included.
  const issues: ConfigError["issues"][number][] = [];
  const collect = <T>(read: () => T): T | undefined => {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues);
      return undefined;
    }
  };
  const port = options.port ?? collect(() => portFromEnv(env));
  const config = collect(() => loadConfig(env));
  if (issues.length > 0 || !config) throw new ConfigError(issues);
  const container = createBaseContainer(config);
  for (const area of definition.areas) area(container, config);
  let app: FunctionApp;
  try {
    app = await definition.createApp(container);
  } catch (error) {
    await container.dispose().catch(() => {});
    throw error;
  }
  const logger = (await container.get(LoggerToken)).child({ function: name });
  setProcessTags({ function: name });
  const runtime = options.runtime ?? currentRuntime();
  const served = runtime.serve((request) => app.fetch(request), {
    port,
    hostname: options.hostname,
    onListen: ({ hostname, port }) => logger.info("listening", { hostname, port }),
  });
  let stopping: Promise<void> | undefined;
  return {
    name,
    app,
    container,
    runtime,
    port: served.port,
    shutdown: () =>
      stopping ??= (async () => {
        // The listener first, so nothing new starts while metrics flush and the pool closes.
        await served.shutdown().catch(() => {});
        await container.dispose();
      })(),
  };
}

/** The text printed when start-up fails: one line for a bad environment, redacted always. */
export function describeStartupError(name: string, error: unknown): string {
  if (error instanceof ConfigError) return `${name}: cannot start: ${redactString(error.message)}`;
  const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(
    error,
  );
  return `${name}: cannot start: ${redactString(text)}`;
}

/**
 * The entrypoint's whole job. On failure prints describeStartupError on stderr and exits 1; on
 * the Supabase edge runtime (no process to exit) the error is rethrown so the platform reports
 * the boot failure with the same message.
 */
export async function serveFunction(
  definition: FunctionDefinition,
): Promise<RunningFunction | undefined> {
  const { name } = definition;
  let running: RunningFunction;
  try {
    running = await startFunction(definition);
  } catch (error) {
    console.error(describeStartupError(name, error));
    if (currentRuntime().kind === "edge") throw error;
    Deno.exit(1);
  }
  stopOnSignals(running, await running.container.get(LoggerToken));
  return running;
}

/** Graceful, bounded stop when the runtime ends the process (signals) or isolate (drain). */
function stopOnSignals(running: RunningFunction, logger: Logger): void {
  running.runtime.onShutdown(async (reason) => {
    logger.info("shutting down", { function: running.name, reason });
    try {
      await running.shutdown();
      logger.info("shut down", { function: running.name, reason });
    } catch (error) {
      logger.error("shutdown failed", { function: running.name, error });
      throw error;
    }
  }, {
    deadlineMs: SHUTDOWN_DEADLINE_MS,
    onTimeout: (reason) =>
      logger.error("shutdown deadline passed", {
        function: running.name,
        reason,
        deadlineMs: SHUTDOWN_DEADLINE_MS,
      }),
  });
}
