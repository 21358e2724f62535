/**
 * The migrator's routing decision for a login, computed the way the migrator computes it
 * (runtime flags of the function over env, then decideRoute: kill switch → canary → sticky
 * rollout, shared/migrator/routing.ts), so the system-of-record rule sees the same routing
 * whichever path serves the request (the original after a fallback included).
 *
 * The function's migration stage travels with the answer: it, not MIGRATION_MODE, says what being
 * routed to the new path means (shared/cutover/stages.ts).
 *
 * The routing key is the lower-cased email, as extractRoutingIdentity takes it from a login body.
 * With ROUTING_KEY_HEADER set, the migrator hashes that header instead; the probe has no request
 * and keeps the email (a deployment routing logins by header should set the rollout to 0 or 100).
 */
import type { RoutingConfigSource } from "../flags/types.ts";
import { decideRoute } from "../migrator/routing.ts";
import type { RoutingProbe } from "./system-of-record.ts";

export function routingProbe(
  source: RoutingConfigSource,
  functionName = "login",
  rolloutSalt?: string,
): RoutingProbe {
  return {
    async route(email) {
      const { config } = await source.configFor(functionName);
      const key = email.trim().toLowerCase();
      const decision = decideRoute(config, { key, email: key }, { rolloutSalt });
      return {
        abstracted: decision.path === "abstracted",
        canary: decision.canary,
        ...(config.stage && { stage: config.stage }),
      };
    },
  };
}
