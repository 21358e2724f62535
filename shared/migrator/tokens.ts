import { token } from "../di/container.ts";
import type { MigrationRuntime } from "./runtime.ts";

/** The process's migration runtime: `(await container.get(MigrationRuntimeToken)).migrator(...)`. */
export const MigrationRuntimeToken = token<MigrationRuntime>("migrator.runtime");
