import type { Container } from "../di/container.ts";
import { ConfigToken, SqlToken } from "../di/tokens.ts";
import { registerFlags } from "../flags/register.ts";
import { FlagsCacheToken } from "../flags/tokens.ts";
import { MigrationRuntime } from "./runtime.ts";
import { MigrationRuntimeToken } from "./tokens.ts";

/**
 * Registers the migration runtime (and the flags services if not yet registered). Disposing the
 * container flushes pending shadows and metrics before the SQL pool closes (reverse order).
 */
export function registerMigrator(container: Container): Container {
  if (!container.has(FlagsCacheToken)) registerFlags(container);
  container.register(
    MigrationRuntimeToken,
    async (c) =>
      new MigrationRuntime({
        sql: await c.get(SqlToken),
        env: (await c.get(ConfigToken)).env,
        flagsCache: await c.get(FlagsCacheToken),
      }),
    (runtime) => runtime.close(),
  );
  return container;
}
