/**
 * The `coordinator` function: agent task coordination (TrustStream) on the repository layer.
 *
 * Seam for the engineer building it: keep the signature, replace mountNotImplemented with the
 * function's routes (the EdgeFunctionMigrator over the original and abstracted handlers, mounted
 * on `app`, whose basePath is /coordinator). /coordinator/health, request ids, CORS, the size limit and the error
 * shape come with createBaseFunctionApp.
 */
import type { Container } from "../../di/container.ts";
import type { FunctionApp } from "../../http/app.ts";
import { createBaseFunctionApp } from "../base-app.ts";
import { mountNotImplemented } from "../placeholder.ts";

export async function createCoordinatorApp(container: Container): Promise<FunctionApp> {
  const app = await createBaseFunctionApp("coordinator", container);
  return mountNotImplemented(app, "coordinator");
}
