/**
 * The `signup` function: dual-write sign-up (Supabase Auth and Better Auth, same user id), as an
 * EdgeFunctionMigrator over the original (supabase-js auth.signUp) and the abstracted
 * (DualWriteAuthService) handlers. `POST /signup/reconcile` (service key) repairs one-sided
 * dual writes; migrate-batch runs the same step on every cron tick.
 */
import { SIGNUP_POLICY } from "../../auth/policies.ts";
import { signupHandlers } from "../../auth/handlers.ts";
import { AuthHandlerServicesToken, ReconcileToken } from "../../auth/tokens.ts";
import type { Container } from "../../di/container.ts";
import type { FunctionApp } from "../../http/app.ts";
import { MigrationRuntimeToken } from "../../migrator/tokens.ts";
import { LoggerToken } from "../../observability/tokens.ts";
import { createBaseFunctionApp } from "../base-app.ts";
import { lazyHandler } from "../lazy-handler.ts";
import { requireServiceKey } from "../service-auth.ts";
import { registerAuthArea } from "../../di/areas/auth.ts";
import { registerServiceKeyArea } from "../../di/areas/service-key.ts";
import type { FunctionDefinition } from "../definition.ts";

export async function createSignupApp(container: Container): Promise<FunctionApp> {
  const app = await createBaseFunctionApp("signup", container);
  const handle = lazyHandler(async () => {
    const runtime = await container.get(MigrationRuntimeToken);
    return runtime.migrator({
      policy: SIGNUP_POLICY,
      ...signupHandlers(await container.get(AuthHandlerServicesToken)),
    }).fetch;
  }, {
    logger: await container.get(LoggerToken),
    unavailableCode: "auth_unavailable",
    what: "signup",
  });
  app.post(
    "/reconcile",
    await requireServiceKey(container),
    async (c) => c.json(await (await container.get(ReconcileToken))()),
  );
  app.post("/", (c) => handle(c.req.raw));
  return app;
}

/** What functions/signup/index.ts serves: this app on the base container plus these areas. */
export const signupFunction: FunctionDefinition = {
  name: "signup",
  areas: [registerAuthArea, registerServiceKeyArea],
  createApp: createSignupApp,
};
