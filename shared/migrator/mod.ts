/**
 * The public surface of the migrator: import from here.
 *
 * Wiring one function (functions/signup/index.ts):
 *
 *   const container = registerMigrator(createAppContainer(loadConfig(Deno.env.toObject())));
 *   const runtime = await container.get(MigrationRuntimeToken);
 *   const migrator = runtime.migrator({
 *     policy: {
 *       functionName: "signup",
 *       classify: (req) => req.method === "GET"
 *         ? { name: "signup.check", safety: "read_only", shadow: "live" }
 *         : { name: "signup", safety: "write", shadow: "plan" },
 *       volatilePaths: ["user.id", "session.*"],
 *     },
 *     original: (req, ctx) => supabaseApp.fetch(req, { ctx }),   // any (Request, ctx) => Response
 *     abstracted: (req, ctx) => betterAuthApp.fetch(req, { ctx }),
 *   });
 *   Deno.serve(migrator.fetch);
 *
 * Handlers that write call `ctx.claimCommit()` right before their first durable write and skip
 * the write (returning promptly) when it returns false; in `ctx.mode === "plan"` they compute the
 * response without committing. Tests and shutdown: `await runtime.flush()` / `runtime.close()`
 * (or `migrator.flush()`).
 */
export type * from "./types.ts";
export { createMigrator, EdgeFunctionMigrator } from "./migrator.ts";
export type { EdgeFunctionMigratorOptions } from "./migrator.ts";
export { createMigrationRuntime, MigrationRuntime } from "./runtime.ts";
export type { MigrationRuntimeOptions, MigratorParts } from "./runtime.ts";
export { BackgroundTasks } from "./background.ts";
export { MemoryMetricsSink, SqlMetricsWriter } from "./metrics-writer.ts";
export { MemoryComparisonSink, SqlComparisonSink } from "./comparison-store.ts";
export { bucketOf, decideRoute, DEFAULT_ROLLOUT_SALT } from "./routing.ts";
export { extractRoutingIdentity } from "./routing-key.ts";
export { DEFAULT_VOLATILE_PATHS } from "./compare.ts";
export { MIGRATION_PATH_HEADER, REQUEST_ID_HEADER } from "./http.ts";
export { MigrationRuntimeToken } from "./tokens.ts";
export { registerMigrator } from "./register.ts";
