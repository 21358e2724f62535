import type { Container } from "../di/container.ts";
import { ConfigToken, SqlToken } from "../di/tokens.ts";
import { FlagsCacheToken } from "../flags/tokens.ts";
import { SentryToken } from "../observability/tokens.ts";
import { observabilitySentry } from "./alert-sinks.ts";
import { createOpsServices, type OpsServicesOptions } from "./services.ts";
import { OpsServicesToken } from "./tokens.ts";
import { parseWatchThresholds } from "./watch.ts";

/** Settings the environment schema does not carry (yet); the env values win when both exist. */
export type OpsRegisterOptions = Partial<
  Pick<
    OpsServicesOptions,
    | "adminSecret"
    | "alertWebhookUrl"
    | "verifyKey"
    | "knownFunctions"
    | "defaults"
    | "extraSinks"
    | "watch"
  >
>;

/**
 * Registers the operations services (needs ConfigToken and SqlToken). Reads OPS_ADMIN_SECRET and
 * OPS_ALERT_WEBHOOK_URL from the validated config once the env schema defines them; accepts the
 * service-role key(s) as admin credentials; sends alerts to Sentry when SENTRY_DSN is set and
 * observability is registered (registerObservability: SentryToken). When
 * the flags cache is registered, every flag change made here invalidates it, so this instance
 * routes by the change at once (the others within the TTL). Disposal waits for alert deliveries.
 */
export function registerOps(container: Container, options: OpsRegisterOptions = {}): Container {
  container.register(OpsServicesToken, async (c) => {
    const config = await c.get(ConfigToken);
    const env = config.env as typeof config.env & {
      OPS_ADMIN_SECRET?: string;
      OPS_ALERT_WEBHOOK_URL?: string;
    };
    const cache = c.has(FlagsCacheToken) ? await c.get(FlagsCacheToken) : null;
    // Resolving SentryToken initialises the SDK (shared/observability) when SENTRY_DSN is set.
    const sentry = env.SENTRY_DSN && c.has(SentryToken) && (await c.get(SentryToken)).enabled
      ? observabilitySentry()
      : undefined;
    return createOpsServices({
      ...options,
      sql: await c.get(SqlToken),
      routingEnv: env,
      serviceRoleKeys: [
        env.SUPABASE_SERVICE_ROLE_KEY,
        ...Object.values(env.SUPABASE_SECRET_KEYS ?? {}),
      ],
      adminSecret: env.OPS_ADMIN_SECRET ?? options.adminSecret,
      alertWebhookUrl: env.OPS_ALERT_WEBHOOK_URL ?? options.alertWebhookUrl,
      sentry,
      watch: options.watch ?? parseWatchThresholds(config.env.OPS_WATCH_THRESHOLDS),
      onFlagsChanged: cache
        ? (name) => cache.invalidate(name === "*" ? undefined : name)
        : undefined,
    });
  }, (services) => services.drain());
  return container;
}
