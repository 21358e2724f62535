/**
 * The common start of every function's app: config, logger and Sentry from the container, then
 * createFunctionApp (request id, CORS, size limit, error shape, /health). Each function adds its
 * routes on top (see <name>/app.ts).
 */
import type { Container } from "../di/container.ts";
import { ConfigToken } from "../di/tokens.ts";
import { createFunctionApp, type FunctionApp } from "../http/app.ts";
import { configureClientIp } from "../http/client-ip.ts";
import { registerObservability } from "../observability/register.ts";
import { LoggerToken, SentryToken } from "../observability/tokens.ts";

export async function createBaseFunctionApp(
  name: string,
  container: Container,
): Promise<FunctionApp> {
  // Until the app container registers observability itself, the first function app does.
  if (!container.has(LoggerToken)) registerObservability(container);
  const config = await container.get(ConfigToken);
  const logger = await container.get(LoggerToken);
  // Initialises Sentry once per process when SENTRY_DSN is set (a no-op otherwise).
  if (container.has(SentryToken)) await container.get(SentryToken);
  configureClientIp(config.env);
  return createFunctionApp(name, {
    logger,
    maxBodyBytes: config.env.MAX_REQUEST_BYTES,
    corsHeaders: config.env.ROUTING_KEY_HEADER ? [config.env.ROUTING_KEY_HEADER] : [],
  });
}
