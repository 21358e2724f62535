/**
 * The part of the app container every function needs: config, the SQL database, the service-role
 * supabase-js client (when the project is configured), observability, the database service and
 * the migration runtime. The areas a function uses (auth, coordinator, batch, ops) are added on
 * top by the caller (shared/di/areas/): the deployed functions add only their own, so each
 * function's module graph reaches only the packages it runs; createAppContainer adds them all.
 */
import { createClient } from "@supabase/supabase-js";
import { type AppConfig, ConfigError } from "../config/env.ts";
import { openPostgres } from "../db/postgres-client.ts";
import { registerDatabaseService } from "../db/register.ts";
import type { SqlClient } from "../db/sql-client.ts";
import { registerMigrator } from "../migrator/register.ts";
import { registerObservability } from "../observability/register.ts";
import { Container } from "./container.ts";
import { ConfigToken, SqlToken, SupabaseAdminToken } from "./tokens.ts";

/**
 * Opens the SQL database for tracking tables and flags: postgres.js on DATABASE_URL or
 * SUPABASE_DB_URL (always present on the Supabase platform, even when app data goes through
 * PostgREST). A real PostgreSQL is migrated by `supabase db push` or `deno task db:migrate`,
 * never from a request path. The embedded PGlite is not reachable from here on purpose: it is
 * local-only (local/db/) and must never enter a deployed module graph; the local stack opens it
 * itself and passes it as `sql`.
 */
export function openTrackingDatabase(config: AppConfig): Promise<SqlClient> {
  const url = config.env.DATABASE_URL ?? config.env.SUPABASE_DB_URL;
  if (!url) {
    return Promise.reject(
      new ConfigError([{
        variable: "SUPABASE_DB_URL",
        message:
          "a deployed function needs SUPABASE_DB_URL or DATABASE_URL; the embedded PGlite runs only in the local stack (npm run dev)",
      }]),
    );
  }
  return Promise.resolve(openPostgres({ url, max: config.env.DATABASE_POOL_MAX }));
}

/** Config, SQL, supabase-js admin client, observability, database service and migrator. */
export function createBaseContainer(
  config: AppConfig,
  shared: { sql?: SqlClient } = {},
): Container {
  const container = new Container();
  container.value(ConfigToken, config);
  if (shared.sql) {
    container.value(SqlToken, shared.sql);
  } else {
    container.register(SqlToken, () => openTrackingDatabase(config), (db) => db.close());
  }
  const { url: supabaseUrl, serviceKey } = config.supabase;
  if (supabaseUrl && serviceKey) {
    container.register(SupabaseAdminToken, () =>
      createClient(supabaseUrl, serviceKey, {
        auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      }));
  }
  registerObservability(container);
  registerDatabaseService(container);
  registerMigrator(container);
  return container;
}
