/**
 * The admin API and the dashboard together, for mounting under the migrate-batch function:
 *
 *   app.route("/migrate-batch", createOpsApp(await container.get(OpsServicesToken)));
 *   // → /migrate-batch/admin/... and /migrate-batch/dashboard
 */
import { Hono } from "hono";
import { createDashboardRoutes } from "./dashboard/routes.ts";
import { createOpsRoutes } from "./routes.ts";
import type { OpsServices } from "./services.ts";

export interface OpsAppOptions {
  /** Default "admin". */
  readonly apiPath?: string;
  /** Default "dashboard". */
  readonly dashboardPath?: string;
  readonly refreshSeconds?: number;
  readonly windowMinutes?: number;
  readonly now?: () => Date;
}

export function createOpsApp(services: OpsServices, options: OpsAppOptions = {}): Hono {
  const apiPath = options.apiPath ?? "admin";
  const app = new Hono({ strict: false });
  app.route(
    `/${apiPath}`,
    createOpsRoutes({
      controller: services.controller,
      emergency: services.emergency,
      divergences: services.divergences,
      batch: services.batch,
      auth: services.auth,
      now: options.now,
    }),
  );
  app.route(
    `/${options.dashboardPath ?? "dashboard"}`,
    createDashboardRoutes({
      sql: services.sql,
      auth: services.auth,
      routingEnv: services.routingEnv,
      functions: services.knownFunctions,
      apiPath,
      refreshSeconds: options.refreshSeconds,
      windowMinutes: options.windowMinutes,
      logger: services.context.logger,
      now: options.now,
    }),
  );
  return app;
}
