import { createClient } from "@supabase/supabase-js";
import { registerAuth } from "../auth/register.ts";
import { AccessTokenVerifierToken } from "../auth/tokens.ts";
import { registerBatch } from "../batch/register.ts";
import { type AppConfig, ConfigError } from "../config/env.ts";
import { registerCoordinator } from "../coordinator/register.ts";
import { openPostgres } from "../db/postgres-client.ts";
import { registerDatabaseService } from "../db/register.ts";
import type { SqlClient } from "../db/sql-client.ts";
import { DatabaseServiceToken } from "../db/tokens.ts";
import { registerMigrator } from "../migrator/register.ts";
import { registerObservability } from "../observability/register.ts";
import { registerOps } from "../ops/register.ts";
import { registerSync } from "../sync/register.ts";
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

/**
 * Builds the container for one process: the one place that decides providers. Every
 * registration is lazy, so a function only pays for the services it resolves.
 * Tests, the CLIs and the dev server pass `sql` to share an already-open database (the embedded
 * PGlite locally).
 */
export function createAppContainer(
  config: AppConfig,
  shared: { sql?: SqlClient } = {},
): Container {
  const container = new Container();
  const { env } = config;
  container.value(ConfigToken, config);
  if (shared.sql) {
    container.value(SqlToken, shared.sql);
  } else {
    container.register(SqlToken, () => openTrackingDatabase(config), (db) => db.close());
  }

  const { url: supabaseUrl, serviceKey } = config.supabase;
  const hasSupabase = Boolean(supabaseUrl && serviceKey);
  if (hasSupabase) {
    container.register(SupabaseAdminToken, () =>
      createClient(supabaseUrl!, serviceKey!, {
        auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      }));
  }

  registerObservability(container);
  registerDatabaseService(container);
  registerMigrator(container);
  // Work after the response reaches EdgeRuntime.waitUntil through BackgroundTasks.
  registerAuth(container, { supabaseJwtSecret: env.PROJECT_JWT_SECRET });
  registerCoordinator(container, {
    database: DatabaseServiceToken,
    supabase: hasSupabase ? SupabaseAdminToken : undefined,
    accessTokens: AccessTokenVerifierToken,
  });
  registerBatch(container, {
    sql: SqlToken,
    supabase: hasSupabase ? SupabaseAdminToken : undefined,
    legacy: env.OLD_DATABASE_URL ? { url: env.OLD_DATABASE_URL } : undefined,
    options: { batchSize: env.MIGRATION_BATCH_SIZE, budgetMs: env.MIGRATION_BATCH_BUDGET_MS },
  });
  registerOps(container);
  registerSync(container);
  return container;
}
