/**
 * The `migrate-batch` function: cron-triggered batch migration of existing users (an
 * EdgeFunctionMigrator over the per-user supabase-js original and the set-based abstracted
 * engine), plus the operations surface: rollout admin API under /migrate-batch/admin and the
 * dashboard under /migrate-batch/dashboard. Every successful run also reconciles one-sided
 * dual-write signups, so divergences are repaired on the same schedule.
 */
import { ReconcileToken } from "../../auth/tokens.ts";
import { buildBatchHandlers } from "../../batch/register.ts";
import { MIGRATE_BATCH_POLICY } from "../../batch/routes.ts";
import type { Container } from "../../di/container.ts";
import { ConfigToken } from "../../di/tokens.ts";
import type { FunctionApp } from "../../http/app.ts";
import { MigrationRuntimeToken } from "../../migrator/tokens.ts";
import { LoggerToken } from "../../observability/tokens.ts";
import { createOpsApp } from "../../ops/app.ts";
import { OpsServicesToken } from "../../ops/tokens.ts";
import { createBaseFunctionApp } from "../base-app.ts";

export async function createMigrateBatchApp(container: Container): Promise<FunctionApp> {
  const app = await createBaseFunctionApp("migrate-batch", container);
  const config = await container.get(ConfigToken);
  const logger = await container.get(LoggerToken);
  const { abstracted, original } = await buildBatchHandlers(container, {
    maxBodyBytes: config.env.MAX_REQUEST_BYTES,
  });
  const runtime = await container.get(MigrationRuntimeToken);
  const migrator = runtime.migrator({
    policy: MIGRATE_BATCH_POLICY,
    abstracted,
    original: original ?? abstracted,
  });

  app.route("/", createOpsApp(await container.get(OpsServicesToken)));

  const reconcileAfterRun = config.env.MIGRATION_MODE === "supabase_only"
    ? null
    : await container.get(ReconcileToken);
  app.post("/", async (c) => {
    const response = await migrator.fetch(c.req.raw);
    if (response.ok && reconcileAfterRun) {
      // Off the response path: a divergence repair must never delay or fail a batch run.
      runtime.background.track(
        reconcileAfterRun().then(
          (report) => logger.info("dual-write reconciliation", { report }),
          (error) => logger.warn("dual-write reconciliation failed", { error: String(error) }),
        ),
      );
    }
    return response;
  });
  app.all("/*", (c) => migrator.fetch(c.req.raw));
  return app;
}
