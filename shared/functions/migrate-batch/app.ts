/**
 * The `migrate-batch` function: cron-triggered batch migration of existing users (an
 * EdgeFunctionMigrator over the per-user supabase-js original and the set-based abstracted
 * engine), plus the operations surface: rollout admin API under /migrate-batch/admin and the
 * dashboard under /migrate-batch/dashboard, and the identity sync admin API under
 * /migrate-batch/admin/sync. Every successful run also reconciles one-sided dual-write signups
 * and applies both identity change streams, so both are repaired on the same schedule.
 */
import { Hono } from "hono";
import { ReconcileToken } from "../../auth/tokens.ts";
import { buildBatchHandlers } from "../../batch/register.ts";
import { dependenciesHandler } from "../../cutover/routes.ts";
import { createStageRoutes } from "../../cutover/stage-routes.ts";
import { buildStageService } from "../../cutover/register.ts";
import type { StageService } from "../../cutover/stage-service.ts";
import { listStageRows } from "../../cutover/stage-store.ts";
import { stageIndex } from "../../cutover/stages.ts";
import { MIGRATE_BATCH_POLICY } from "../../batch/routes.ts";
import type { Container } from "../../di/container.ts";
import { ConfigToken, SqlToken } from "../../di/tokens.ts";
import type { FunctionApp } from "../../http/app.ts";
import { MigrationRuntimeToken } from "../../migrator/tokens.ts";
import { LoggerToken } from "../../observability/tokens.ts";
import { createOpsApp } from "../../ops/app.ts";
import { BatchLevers } from "../../ops/batch-levers.ts";
import { OpsServicesToken } from "../../ops/tokens.ts";
import { createSyncRoutes } from "../../sync/routes.ts";
import { IdentitySyncToken } from "../../sync/tokens.ts";
import { createBaseFunctionApp } from "../base-app.ts";
import { lazyHandler } from "../lazy-handler.ts";
import { registerAuthArea } from "../../di/areas/auth.ts";
import { registerBatchArea } from "../../di/areas/batch.ts";
import { registerOpsArea } from "../../di/areas/ops.ts";
import { registerSyncArea } from "../../di/areas/sync.ts";
import type { FunctionDefinition } from "../definition.ts";

const NAME = "migrate-batch";
/**
 * Wall-clock budget of the identity sync after each cron run: with the batch's own 50 s it stays
 * well inside the Edge Runtime's 150 s; a backlog larger than one budget continues next tick.
 */
export const SYNC_BUDGET_MS = 20_000;

export async function createMigrateBatchApp(container: Container): Promise<FunctionApp> {
  const app = await createBaseFunctionApp(NAME, container);
  const config = await container.get(ConfigToken);
  const logger = await container.get(LoggerToken);

  const ops = lazyHandler(async () => {
    const opsApp = new Hono().basePath(`/${NAME}`);
    opsApp.route("/", createOpsApp(await container.get(OpsServicesToken)));
    return async (request) => await opsApp.fetch(request);
  }, { logger, unavailableCode: "unavailable", what: "operations" });
  // The sync admin routes share the admin prefix and credentials (shared/sync/routes.ts).
  const syncRoutes = createSyncRoutes({
    sync: () => container.get(IdentitySyncToken),
    verifyKey: async () => (await container.get(OpsServicesToken)).auth.verifyKey,
    maxBodyBytes: config.env.MAX_REQUEST_BYTES,
  }, `/${NAME}/admin/sync`);
  app.all("/admin/sync/*", (c) => syncRoutes.fetch(c.req.raw));
  // The Supabase Auth dependency report (shared/cutover): its own route, ahead of the ops API.
  const dependencies = lazyHandler(async () => {
    const services = await container.get(OpsServicesToken);
    return dependenciesHandler({ sql: services.sql, auth: services.auth });
  }, { logger, unavailableCode: "unavailable", what: "dependency report" });
  app.get("/admin/dependencies", (c) => dependencies(c.req.raw));
  // The migration stages (shared/cutover): their own routes, same credentials.
  let stageService: Promise<StageService> | undefined;
  const stageRoutes = createStageRoutes({
    stages: () => stageService ??= buildStageService(container),
    auth: async () => (await container.get(OpsServicesToken)).auth,
    maxBodyBytes: config.env.MAX_REQUEST_BYTES,
  }, `/${NAME}/admin/stages`);
  app.all("/admin/stages", (c) => stageRoutes.fetch(c.req.raw));
  app.all("/admin/stages/*", (c) => stageRoutes.fetch(c.req.raw));
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
    const sql = await container.get(SqlToken);
    // Dual writes happen where the env seeds a dual-write stage or an operator moved a function
    // past shadow (shared/cutover): either way one-sided signups need the reconciliation.
    const reconcileAfterRun = async () =>
      config.env.MIGRATION_MODE !== "supabase_only" ||
      (Boolean(config.env.BETTER_AUTH_SECRET) &&
        (await listStageRows(sql).catch(() => [])).some((row) => stageIndex(row.stage) >= 2));
    const levers = new BatchLevers(sql);
    return async (request) => {
      const isRun = request.method === "POST" &&
        new URL(request.url).pathname.replace(/\/$/, "") === `/${NAME}`;
      if (isRun) {
        // Held by an operator lever: neither implementation runs (the per-user original has no
        // gate of its own; the engine also re-checks before every batch of a run in progress).
        const verdict = await levers.check();
        if (verdict.hold) {
          return Response.json({
            done: false,
            processed: 0,
            stopped_because: "paused",
            held_by: verdict.hold,
          });
        }
      }
      const response = await migrator.fetch(request);
      if (isRun && response.ok && await reconcileAfterRun()) {
        // Off the response path: a divergence repair must never delay or fail a batch run.
        runtime.background.track(
          container.get(ReconcileToken).then((reconcile) => reconcile()).then(
            (report) => logger.info("dual-write reconciliation", { report }),
            (error) => logger.warn("dual-write reconciliation failed", { error: String(error) }),
          ),
        );
      }
      if (isRun && response.ok) {
        // Both identity change streams, every cron tick, within a bounded budget.
        runtime.background.track(
          container.get(IdentitySyncToken).then((sync) => sync.apply({ budgetMs: SYNC_BUDGET_MS }))
            .then(
              (report) => logger.info("identity sync", { report }),
              (error) => logger.warn("identity sync failed", { error: String(error) }),
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

/** What functions/migrate-batch/index.ts serves: this app on the base container plus these areas. */
export const migrateBatchFunction: FunctionDefinition = {
  name: "migrate-batch",
  areas: [registerAuthArea, registerBatchArea, registerOpsArea, registerSyncArea],
  createApp: createMigrateBatchApp,
};
