/**
 * Start-up of one function process, shared by the four entrypoints:
 *
 *   loadConfig(env) → createAppContainer(config) → buildFunctionApp(name, container) → Deno.serve
 *
 * A bad environment stops start-up with ConfigError's one line naming every offending variable,
 * on stderr, before anything listens. On Supabase the port is the platform's; locally `PORT`
 * picks it (default 8000, Deno.serve's own; 0 = any free port, reported in the "listening" log
 * line).
 */
import { ConfigError, loadConfig } from "../config/env.ts";
import { createAppContainer } from "../di/app-container.ts";
import type { Container } from "../di/container.ts";
import type { FunctionApp } from "../http/app.ts";
import type { Logger } from "../observability/logger.ts";
import { redactString } from "../observability/redact.ts";
import { setProcessTags } from "../observability/sentry.ts";
import { LoggerToken } from "../observability/tokens.ts";
import { buildFunctionApp, type FunctionName } from "./registry.ts";

export const DEFAULT_PORT = 8000;

export interface StartFunctionOptions {
  /** The environment snapshot (default `Deno.env.toObject()`). */
  readonly env?: Record<string, string | undefined>;
  /** Overrides PORT. */
  readonly port?: number;
  readonly hostname?: string;
}

export interface RunningFunction {
  readonly name: FunctionName;
  readonly app: FunctionApp;
  readonly container: Container;
  readonly server: Deno.HttpServer<Deno.NetAddr>;
  readonly port: number;
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
  name: FunctionName,
  options: StartFunctionOptions = {},
): Promise<RunningFunction> {
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
  const container = createAppContainer(config);
  let app: FunctionApp;
  try {
    app = await buildFunctionApp(name, container);
  } catch (error) {
    await container.dispose().catch(() => {});
    throw error;
  }
  const logger = (await container.get(LoggerToken)).child({ function: name });
  setProcessTags({ function: name });
  const server = Deno.serve({
    ...(port !== undefined && { port }),
    ...(options.hostname !== undefined && { hostname: options.hostname }),
    onListen: ({ hostname, port }) => logger.info("listening", { hostname, port }),
  }, app.fetch);
  let stopping: Promise<void> | undefined;
  return {
    name,
    app,
    container,
    server,
    port: server.addr.port,
    shutdown: () =>
      stopping ??= (async () => {
        await server.shutdown();
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
export async function serveFunction(name: FunctionName): Promise<RunningFunction | undefined> {
  let running: RunningFunction;
  try {
    running = await startFunction(name);
  } catch (error) {
    console.error(describeStartupError(name, error));
    if ("EdgeRuntime" in globalThis) throw error;
    Deno.exit(1);
  }
  stopOnSignals(running, await running.container.get(LoggerToken));
  return running;
}

/** Graceful stop on SIGINT/SIGTERM (local runs) and on the edge runtime's beforeunload. */
function stopOnSignals(running: RunningFunction, logger: Logger): void {
  const stop = (reason: string) => {
    logger.info("shutting down", { function: running.name, reason });
    running.shutdown().then(
      () => Deno.exit(0),
      (error) => {
        logger.error("shutdown failed", { function: running.name, error });
        Deno.exit(1);
      },
    );
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, () => stop(signal));
    } catch {
      // Not every platform (or runtime) lets a program listen for this signal.
    }
  }
  if ("EdgeRuntime" in globalThis) {
    // The edge runtime ends a worker with beforeunload; flush and close, but do not exit.
    globalThis.addEventListener("beforeunload", () => {
      running.container.dispose().catch(() => {});
    });
  }
}
