/**
 * The `signup` function: dual-write sign-up (Supabase Auth and Better Auth, same user id).
 *
 * Seam for the engineer building it: keep the signature, replace mountNotImplemented with the
 * function's routes (the EdgeFunctionMigrator over the original and abstracted handlers, mounted
 * on `app`, whose basePath is /signup). /signup/health, request ids, CORS, the size limit and the error
 * shape come with createBaseFunctionApp.
 */
import type { Container } from "../../di/container.ts";
import type { FunctionApp } from "../../http/app.ts";
import { createBaseFunctionApp } from "../base-app.ts";
import { mountNotImplemented } from "../placeholder.ts";

export async function createSignupApp(container: Container): Promise<FunctionApp> {
  const app = await createBaseFunctionApp("signup", container);
  return mountNotImplemented(app, "signup");
}
