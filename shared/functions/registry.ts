/**
 * The four edge functions and how each one's Hono app is built from the (full) app container.
 * Used by the local dev server's functions gateway and tests. Each function's module is imported
 * only when that function is built. The deployed entrypoints do not use this module (it reaches
 * all four apps): each imports its own definition (shared/functions/<name>/app.ts).
 */
import type { Container } from "../di/container.ts";
import type { FunctionApp } from "../http/app.ts";

import { FUNCTION_NAMES, type FunctionName, isFunctionName } from "./names.ts";

export { FUNCTION_NAMES, type FunctionName, isFunctionName };

type FunctionAppFactory = (container: Container) => Promise<FunctionApp>;

const FACTORIES: Readonly<Record<FunctionName, () => Promise<FunctionAppFactory>>> = {
  signup: async () => (await import("./signup/app.ts")).createSignupApp,
  login: async () => (await import("./login/app.ts")).createLoginApp,
  coordinator: async () => (await import("./coordinator/app.ts")).createCoordinatorApp,
  "migrate-batch": async () => (await import("./migrate-batch/app.ts")).createMigrateBatchApp,
};

/** Builds the named function's app (basePath /<name>) on the given container. */
export async function buildFunctionApp(
  name: FunctionName,
  container: Container,
): Promise<FunctionApp> {
  if (!isFunctionName(name)) {
    throw new RangeError(
      `unknown function "${String(name)}"; expected one of ${FUNCTION_NAMES.join(", ")}`,
    );
  }
  const factory = await FACTORIES[name]();
  return await factory(container);
}
