import { createClient } from "@supabase/supabase-js";
import { registerAuth } from "../auth/register.ts";
import { AccessTokenVerifierToken } from "../auth/tokens.ts";
import { registerBatch } from "../batch/register.ts";
import type { AppConfig } from "../config/env.ts";
import { registerCoordinator } from "../coordinator/register.ts";
import { openLocked, processDescription } from "../db/data-dir-lock.ts";
import { loadMigrationFiles, runMigrations } from "../db/migration-runner.ts";
import { openPglite } from "../db/pglite-client.ts";
import { openPostgres } from "../db/postgres-client.ts";
import { registerDatabaseService } from "../db/register.ts";
import type { SqlClient } from "../db/sql-client.ts";
import { DatabaseServiceToken } from "../db/tokens.ts";
import { registerMigrator } from "../migrator/register.ts";
import { registerObservability } from "../observability/register.ts";
import { registerOps } from "../ops/register.ts";
import { Container } from "./container.ts";
import { ConfigToken, SqlToken, SupabaseAdminToken } from "./tokens.ts";

/**
 * Opens the SQL database for tracking tables and flags. On the Supabase platform SUPABASE_DB_URL
 * is always present, so this is postgres.js there even when app data goes through PostgREST.
 * The embedded PGlite is ours to manage, so it is migrated on open; a real PostgreSQL is migrated
 * by `supabase db push` or `deno task db:migrate`, never from a request path.
 */
export async function openTrackingDatabase(config: AppConfig): Promise<SqlClient> {
  const url = config.env.DATABASE_URL ?? config.env.SUPABASE_DB_URL;
  if (url) return openPostgres({ url, max: config.env.DATABASE_POOL_MAX });
  const dataDir = config.database.provider === "pglite" ? config.database.dataDir : undefined;
  // A persisted PGlite directory belongs to one process at a time (data-dir-lock.ts).
  const db = dataDir
    ? await openLocked(dataDir, processDescription(), () => openPglite({ dataDir }))
    : await openPglite({});
  try {
    await runMigrations(db, await loadMigrationFiles());
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}

/**
 * Builds the container for one process: the one place that decides providers. Every
 * registration is lazy, so a function only pays for the services it resolves.
 * Tests and the dev server pass `sql` to share an already-open database.
 */
export function createAppContainer(config: AppConfig, shared: { sql?: SqlClient } = {}): Container {
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
  return container;
}
