/**
 * Every data provider the coordinator can run on, for suites that must pass unchanged on each:
 * SqlDatabaseService on PGlite (always) and PostgreSQL 15 (TEST_DATABASE_URL), and
 * SupabaseDatabaseService (supabase-js over HTTP) against the REST stand-in on each of those.
 * Each opened provider also exposes the SqlClient of the same database, for fixtures and for
 * invariants checked directly in SQL.
 */
import type { IDatabaseService } from "../../../shared/db/database-service.ts";
import { createSqlDatabaseService } from "../../../shared/db/sql-database-service.ts";
import { createSupabaseDatabaseService } from "../../../shared/db/supabase-database-service.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { sqlProviders } from "../../helpers/db.ts";
import { AUTH_SCHEMA_SQL, serveRestStandin } from "../../local/standin/rest/serve-rest.ts";

export interface OpenedProvider {
  readonly db: IDatabaseService;
  readonly sql: SqlClient;
  close(): Promise<void>;
}

export interface ProviderFactory {
  readonly name: string;
  open(): Promise<OpenedProvider>;
}

export function dataProviders(): ProviderFactory[] {
  const sqlBacked = sqlProviders().map((factory) => ({
    name: factory.name,
    async open() {
      const sql = await factory.open();
      return { db: createSqlDatabaseService(sql), sql, close: () => sql.close() };
    },
  }));
  const supabase = sqlProviders().map((factory) => ({
    name: `supabase-${factory.name}`,
    async open() {
      const sql = await factory.open();
      await sql.exec(AUTH_SCHEMA_SQL);
      const standin = await serveRestStandin(sql, { maxRows: 1000 });
      const db = createSupabaseDatabaseService({
        url: standin.url,
        key: standin.keys.serviceRoleKey,
      });
      return {
        db,
        sql,
        async close() {
          await standin.close();
          await sql.close();
        },
      };
    },
  }));
  return [...sqlBacked, ...supabase];
}
