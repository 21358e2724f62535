/**
 * The `migrate-batch` function: cron-triggered batch migration of existing users (an
 * EdgeFunctionMigrator over the per-user supabase-js original and the set-based abstracted
 * engine), plus the operations surface: rollout admin API under /migrate-batch/admin and the
 * dashboard under /migrate-batch/dashboard. Every successful run also reconciles one-sided
 * dual-write signups, so divergences are repaired on the same schedule.
 */
import { Hono } from "hono";
import { ReconcileToken } from "../../auth/tokens.ts";
import { buildBatchHandlers } from "../../batch/register.ts";
import { dependenciesHandler } from "../../cutover/routes.ts";
import { MIGRATE_BATCH_POLICY } from "../../batch/routes.ts";
import type { Container } from "../../di/container.ts";
import { ConfigToken } from "../../di/tokens.ts";
import type { FunctionApp } from "../../http/app.ts";
import { MigrationRuntimeToken } from "../../migrator/tokens.ts";
import { LoggerToken } from "../../observability/tokens.ts";
import { createOpsApp } from "../../ops/app.ts";
import { OpsServicesToken } from "../../ops/tokens.ts";
import { createBaseFunctionApp } from "../base-app.ts";
import { lazyHandler } from "../lazy-handler.ts";

const NAME = "migrate-batch";

export async function createMigrateBatchApp(container: Container): Promise<FunctionApp> {
  const app = await createBaseFunctionApp(NAME, container);
  const config = await container.get(ConfigToken);
  const logger = await container.get(LoggerToken);

  const ops = lazyHandler(async () => {
    const opsApp = new Hono().basePath(`/${NAME}`);
    opsApp.route("/", createOpsApp(await container.get(OpsServicesToken)));
    return async (request) => await opsApp.fetch(request);
  }, { logger, unavailableCode: "unavailable", what: "operations" });
  // The Supabase Auth dependency report (shared/cutover): its own route, ahead of the ops API.
  const dependencies = lazyHandler(async () => {
    const services = await container.get(OpsServicesToken);
    return dependenciesHandler({ sql: services.sql, auth: services.auth });
  }, { logger, unavailableCode: "unavailable", what: "dependency report" });
  app.get("/admin/dependencies", (c) => dependencies(c.req.raw));
  app.all("/admin/*", (c) => ops(c.req.raw));
  app.all("/dashboard", (c) => ops(c.req.raw));
  app.all("/dashboard/*", (c) => ops(c.req.raw));

  const batch = lazyHandler(async () => {
    const { abstracted, original } = await buildBatchHandlers(container, {
      maxBodyBytes: config.env.MAX_REQUEST_BYTES,
    });
    const runtime = await container.get(MigrationRuntimeToken);
    const migrator = runtime.migrator({
      policy: MIGRATE_BATCH_POLICY,
      abstracted,
      original: original ?? abstracted,
    });
    const reconcileAfterRun = config.env.MIGRATION_MODE !== "supabase_only";
    return async (request) => {
      const isRun = request.method === "POST" &&
        new URL(request.url).pathname.replace(/\/$/, "") === `/${NAME}`;
      const response = await migrator.fetch(request);
      if (isRun && response.ok && reconcileAfterRun) {
        // Off the response path: a divergence repair must never delay or fail a batch run.
        runtime.background.track(
          container.get(ReconcileToken).then((reconcile) => reconcile()).then(
            (report) => logger.info("dual-write reconciliation", { report }),
            (error) => logger.warn("dual-write reconciliation failed", { error: String(error) }),
          ),
        );
      }
      return response;
    };
  }, { logger, unavailableCode: "unavailable", what: "migrate-batch" });
  app.all("/", (c) => batch(c.req.raw));
  app.all("/*", (c) => batch(c.req.raw));
  return app;
}
