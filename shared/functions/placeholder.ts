/**
 * The stand-in for a function whose routes are not built yet: every path under /<name> except
 * /<name>/health answers 501 in the project's error shape. Replace the call to this with the
 * function's real routes (the EdgeFunctionMigrator over its original and abstracted handlers).
 */
import type { FunctionApp } from "../http/app.ts";

export function mountNotImplemented(app: FunctionApp, name: string): FunctionApp {
  app.all("/*", (c) =>
    c.json(
      { error: { code: "not_implemented", message: `${name} is not built yet` } },
      501,
    ));
  return app;
}
