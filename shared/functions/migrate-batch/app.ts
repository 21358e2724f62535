/**
 * The `migrate-batch` function: cron-triggered, resumable batch migration of existing users.
 *
 * Seam for the engineer building it: keep the signature, replace mountNotImplemented with the
 * function's routes (the EdgeFunctionMigrator over the original and abstracted handlers, mounted
 * on `app`, whose basePath is /migrate-batch). /migrate-batch/health, request ids, CORS, the size limit and the error
 * shape come with createBaseFunctionApp.
 */
import type { Container } from "../../di/container.ts";
import type { FunctionApp } from "../../http/app.ts";
import { createBaseFunctionApp } from "../base-app.ts";
import { mountNotImplemented } from "../placeholder.ts";

export async function createMigrateBatchApp(container: Container): Promise<FunctionApp> {
  const app = await createBaseFunctionApp("migrate-batch", container);
  return mountNotImplemented(app, "migrate-batch");
}
