/**
 * The `login` function: ordered login with fallback and lazy migration, as an
 * EdgeFunctionMigrator over the original (supabase-js auth.signInWithPassword) and the
 * abstracted (DualWriteAuthService) handlers. Both answer the same contract.
 */
import { loginHandlers } from "../../auth/handlers.ts";
import { LOGIN_POLICY } from "../../auth/policies.ts";
import { AuthHandlerServicesToken } from "../../auth/tokens.ts";
import type { Container } from "../../di/container.ts";
import type { FunctionApp } from "../../http/app.ts";
import { MigrationRuntimeToken } from "../../migrator/tokens.ts";
import { createBaseFunctionApp } from "../base-app.ts";

export async function createLoginApp(container: Container): Promise<FunctionApp> {
  const app = await createBaseFunctionApp("login", container);
  const runtime = await container.get(MigrationRuntimeToken);
  const migrator = runtime.migrator({
    policy: LOGIN_POLICY,
    ...loginHandlers(await container.get(AuthHandlerServicesToken)),
  });
  app.post("/", (c) => migrator.fetch(c.req.raw));
  return app;
}
