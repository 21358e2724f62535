import type { AppConfig } from "../config/env.ts";
import { loadMigrationFiles, runMigrations } from "../db/migration-runner.ts";
import { openPglite } from "../db/pglite-client.ts";
import { openPostgres } from "../db/postgres-client.ts";
import type { SqlClient } from "../db/sql-client.ts";
import { Container } from "./container.ts";
import { ConfigToken, SqlToken } from "./tokens.ts";

/**
 * Opens the SQL database for tracking tables and flags. On the Supabase platform SUPABASE_DB_URL
 * is always present, so this is postgres.js there even when app data goes through PostgREST.
 * The embedded PGlite is ours to manage, so it is migrated on open; a real PostgreSQL is migrated
 * by `supabase db push` or `deno task db:migrate`, never from a request path.
 */
export async function openTrackingDatabase(config: AppConfig): Promise<SqlClient> {
  const url = config.env.DATABASE_URL ?? config.env.SUPABASE_DB_URL;
  if (url) return openPostgres({ url, max: config.env.DATABASE_POOL_MAX });
  const db = await openPglite({
    dataDir: config.database.provider === "pglite" ? config.database.dataDir : undefined,
  });
  await runMigrations(db, await loadMigrationFiles());
  return db;
}

/** Builds the container for one process. Tests pass `sql` to share an already-open database. */
export function createAppContainer(config: AppConfig, shared: { sql?: SqlClient } = {}): Container {
  const container = new Container();
  container.value(ConfigToken, config);
  if (shared.sql) {
    container.value(SqlToken, shared.sql);
  } else {
    container.register(SqlToken, () => openTrackingDatabase(config), (db) => db.close());
  }
  return container;
}
