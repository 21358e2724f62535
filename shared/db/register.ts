/**
 * Registers the data layer in the app container. The provider is the one config names:
 * `pglite` / `postgres` run SqlDatabaseService on the container's SqlClient (SqlToken, the same
 * database the tracking tables live in); `supabase` talks to PostgREST through supabase-js with
 * the service key.
 */
import type { Container } from "../di/container.ts";
import { ConfigToken, SqlToken } from "../di/tokens.ts";
import { SchemaCatalog } from "./catalog.ts";
import { SqlDatabaseService } from "./sql-database-service.ts";
import { createSupabaseDatabaseService } from "./supabase-database-service.ts";
import { DatabaseServiceToken, SchemaCatalogToken } from "./tokens.ts";

export function registerDatabaseService(container: Container): Container {
  container.register(SchemaCatalogToken, () => new SchemaCatalog());
  container.register(DatabaseServiceToken, async (c) => {
    const config = await c.get(ConfigToken);
    if (config.database.provider === "supabase") {
      return createSupabaseDatabaseService({
        url: config.database.url,
        key: config.database.serviceKey,
      });
    }
    return new SqlDatabaseService(await c.get(SqlToken), {
      catalog: await c.get(SchemaCatalogToken),
    });
  });
  return container;
}
