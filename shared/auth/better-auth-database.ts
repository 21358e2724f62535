/**
 * A Kysely instance for Better Auth over the SAME database as everything else (the SqlClient the
 * container opened), so Better Auth's tables, auth.users and the tracking tables can be read and
 * written side by side.
 *
 * - postgres.js (production): kysely-postgres-js on the client's pool (transactions on a reserved
 *   connection).
 * - A client that brings its own dialect (`kyselyDialect()`): the local PGlite client does, with
 *   a driver that lives in local/ so the embedded database never enters a deployed graph.
 *
 * The Kysely instance never owns the database: destroying it does not close the SqlClient.
 */
import { type Dialect, Kysely } from "kysely";
import { PostgresJSDialect } from "kysely-postgres-js";
import type postgres from "postgres";
import type { SqlClient } from "../db/sql-client.ts";

/** A SqlClient that knows how Kysely should talk to it (local/db/pglite-client.ts). */
export interface KyselyDialectSource {
  kyselyDialect(): Dialect;
}
/** A postgres.js client whose `end()` is a no-op, so Kysely can never close the shared pool. */
function borrowed(sql: postgres.Sql): postgres.Sql {
  return new Proxy(sql, {
    get(target, property, receiver) {
      if (property === "end") return () => Promise.resolve();
      return Reflect.get(target, property, receiver);
    },
  });
}

/**
 * Kysely over the client's own connection. The client must come from openPostgres (exposes `sql`)
 * or bring its own dialect.
 */
// deno-lint-ignore no-explicit-any
export function kyselyFor(db: SqlClient): Kysely<any> {
  const withHandles = db as SqlClient & Partial<KyselyDialectSource> & { sql?: postgres.Sql };
  if (withHandles.kyselyDialect) return new Kysely({ dialect: withHandles.kyselyDialect() });
  if (withHandles.sql) {
    return new Kysely({ dialect: new PostgresJSDialect({ postgres: borrowed(withHandles.sql) }) });
  }
  throw new Error(
    "Better Auth needs a SqlClient from openPostgres or one with kyselyDialect()",
  );
}
