/**
 * The `coordinator` function (TrustStream's agent coordinator) as an EdgeFunctionMigrator over
 * the original (supabase-js directly) and the abstracted (CoordinationService on repositories)
 * implementations. Every route needs a user access token from either auth path.
 */
import { buildCoordinatorHandlers } from "../../coordinator/register.ts";
import { coordinatorMigratorPolicy } from "../../coordinator/policy.ts";
import type { Container } from "../../di/container.ts";
import { ConfigToken } from "../../di/tokens.ts";
import type { FunctionApp } from "../../http/app.ts";
import { MigrationRuntimeToken } from "../../migrator/tokens.ts";
import { LoggerToken } from "../../observability/tokens.ts";
import { createBaseFunctionApp } from "../base-app.ts";
import { lazyHandler } from "../lazy-handler.ts";
import { registerAccessTokensArea } from "../../di/areas/access-tokens.ts";
import { registerCoordinatorArea } from "../../di/areas/coordinator.ts";
import type { FunctionDefinition } from "../definition.ts";

export async function createCoordinatorApp(container: Container): Promise<FunctionApp> {
  const app = await createBaseFunctionApp("coordinator", container);
  const handle = lazyHandler(async () => {
    const { env } = await container.get(ConfigToken);
    const { abstracted, original } = await buildCoordinatorHandlers(container, {
      maxBodyBytes: env.MAX_REQUEST_BYTES,
    });
    const runtime = await container.get(MigrationRuntimeToken);
    // Without a Supabase project (no SUPABASE_URL/service key) there is no original to route
    // to: the abstracted implementation then serves both sides.
    return runtime.migrator({
      policy: coordinatorMigratorPolicy,
      abstracted,
      original: original ?? abstracted,
    }).fetch;
  }, {
    logger: await container.get(LoggerToken),
    unavailableCode: "unavailable",
    what: "coordinator",
  });
  app.all("/", (c) => handle(c.req.raw));
  app.all("/*", (c) => handle(c.req.raw));
  return app;
}

/** What functions/coordinator/index.ts serves: this app on the base container plus these areas. */
export const coordinatorFunction: FunctionDefinition = {
  name: "coordinator",
  areas: [registerAccessTokensArea, registerCoordinatorArea],
  createApp: createCoordinatorApp,
};
