/**
 * Registers logging and Sentry in the app container (needs ConfigToken). Sentry is initialised
 * when SentryToken is first resolved, so a container that never serves a request never starts
 * the SDK; disposing the container releases it (flushing first).
 */
import type { Container } from "../di/container.ts";
import { ConfigToken } from "../di/tokens.ts";
import { createLogger, type LogSink } from "./logger.ts";
import { initSentry, type SentryConfig, sentryConfigFromEnv } from "./sentry.ts";
import { LoggerToken, SentryToken } from "./tokens.ts";

export interface ObservabilityOptions {
  /** Where log lines go (default: console). Tests pass a memory sink. */
  readonly logSink?: LogSink;
  /** Overrides on top of the environment's Sentry settings (e.g. a test transport). */
  readonly sentry?: Partial<SentryConfig>;
}

export function registerObservability(
  container: Container,
  options: ObservabilityOptions = {},
): Container {
  container.register(LoggerToken, async (c) => {
    const { env } = await c.get(ConfigToken);
    return createLogger({ level: env.LOG_LEVEL, sink: options.logSink });
  });
  container.register(
    SentryToken,
    async (c) => {
      const { env } = await c.get(ConfigToken);
      return initSentry({ ...sentryConfigFromEnv(env), ...options.sentry });
    },
    (sentry) => sentry.release(),
  );
  return container;
}
