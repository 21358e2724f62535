/**
 * The `login` function: ordered login with fallback and lazy migration, as an
 * EdgeFunctionMigrator over the original (supabase-js auth.signInWithPassword) and the
 * abstracted (DualWriteAuthService) handlers. Both answer the same contract. GoTrue's session
 * routes (/token, /user, /logout) sit beside it, the password grant running the same handler.
 */
import { LOGIN_POLICY } from "../../auth/policies.ts";
import { clientIp, loginHandlers } from "../../auth/handlers.ts";
import {
  AccessTokenSigningToken,
  AuthHandlerServicesToken,
  TotpLoginStepToken,
} from "../../auth/tokens.ts";
import { jwksResponse } from "../../auth/jwks-route.ts";
import { totpLoginStep } from "../../auth/totp-login-step.ts";
import type { Container } from "../../di/container.ts";
import type { FunctionApp } from "../../http/app.ts";
import { MigrationRuntimeToken } from "../../migrator/tokens.ts";
import { LoggerToken } from "../../observability/tokens.ts";
import { createBaseFunctionApp } from "../base-app.ts";
import { lazyHandler } from "../lazy-handler.ts";
import { registerAuthArea } from "../../di/areas/auth.ts";
import type { FunctionDefinition } from "../definition.ts";
import { registerSessionsArea } from "../../di/areas/sessions.ts";
import { mountSessionRoutes } from "../../sessions/routes.ts";
import { SessionDepsToken } from "../../sessions/tokens.ts";

export async function createLoginApp(container: Container): Promise<FunctionApp> {
  const app = await createBaseFunctionApp("login", container);
  const handle = lazyHandler(async () => {
    const runtime = await container.get(MigrationRuntimeToken);
    return runtime.migrator({
      policy: LOGIN_POLICY,
      ...loginHandlers(await container.get(AuthHandlerServicesToken)),
    }).fetch;
  }, {
    logger: await container.get(LoggerToken),
    unavailableCode: "auth_unavailable",
    what: "login",
  });
  app.post("/", (c) => handle(c.req.raw));
  // GoTrue's session surface (shared/sessions/): auth-js with this function as its Auth URL.
  mountSessionRoutes(app, () => container.get(SessionDepsToken), handle);
  // The TOTP second step on the Better Auth path (aal2 token).
  app.post(
    "/mfa/verify",
    async (c) =>
      totpLoginStep(await container.get(TotpLoginStepToken), c.req.raw, clientIp(c.req.raw)),
  );
  // The public key of our ES256 access tokens (shared/auth/jwks-route.ts).
  app.get(
    "/.well-known/jwks.json",
    async () => jwksResponse(await container.get(AccessTokenSigningToken)),
  );
  return app;
}

/** What functions/login/index.ts serves: this app on the base container plus these areas. */
export const loginFunction: FunctionDefinition = {
  name: "login",
  areas: [registerAuthArea, registerSessionsArea],
  createApp: createLoginApp,
};
