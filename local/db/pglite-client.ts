import type { PGlite, Transaction } from "@electric-sql/pglite";
import { SharedPgliteDialect } from "./pglite-kysely-dialect.ts";
import type { KyselyDialectSource } from "../../shared/auth/better-auth-database.ts";
import {
  INT8_OID,
  NUMERIC_OID,
  type QueryResult,
  type SqlClient,
} from "../../shared/db/sql-client.ts";

export interface PgliteOptions {
  /** A directory to persist to; omit for an in-memory database. */
  dataDir?: string;
  /** A tarball from `dumpDataDir()` to start from (skips initdb; ~0.5 s instead of ~3 s). */
  loadDataDir?: Blob | File;
}

const parsers = {
  [INT8_OID]: (value: string) => Number(value),
  [NUMERIC_OID]: (value: string) => Number(value),
};

type Queryable = Pick<PGlite, "query" | "exec"> | Transaction;

class PgliteSqlClient implements SqlClient {
  readonly dialect = "pglite" as const;
  #savepoint = 0;

  constructor(
    private readonly target: Queryable,
    private readonly root: PGlite | null,
  ) {}

  async query<T>(text: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
    const result = await this.target.query<T>(text, params as unknown[]);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  }

  async exec(script: string): Promise<void> {
    await this.target.exec(script);
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    if (this.root) {
      // PGlite is one connection: its transaction mutex queues every other query until we finish.
      return await this.root.transaction((tx) => fn(new PgliteSqlClient(tx, null)));
    }
    const name = `sp_${++this.#savepoint}`;
    await this.target.query(`SAVEPOINT ${name}`);
    try {
      const value = await fn(this);
      await this.target.query(`RELEASE SAVEPOINT ${name}`);
      return value;
    } catch (error) {
      await this.target.query(`ROLLBACK TO SAVEPOINT ${name}`);
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.root && !this.root.closed) await this.root.close();
  }
}

/** Opens an embedded PostgreSQL (PGlite): the zero-cloud default provider. */
export async function openPglite(
  options: PgliteOptions = {},
): Promise<SqlClient & KyselyDialectSource & { pglite: PGlite }> {
  // Imported lazily so deployed bundles that talk to a real PostgreSQL never load the WASM build.
  const { PGlite } = await import("@electric-sql/pglite");
  const db = await PGlite.create(options.dataDir, {
    loadDataDir: options.loadDataDir,
    parsers,
  });
  const client = new PgliteSqlClient(db, db);
  return Object.assign(client, {
    pglite: db,
    // Better Auth's Kysely on this same single connection (kyselyFor in shared/auth).
    kyselyDialect: () => new SharedPgliteDialect(db),
  });
}

/** Wraps an already-open PGlite instance (e.g. one shared with Better Auth's Kysely dialect). */
export function wrapPglite(db: PGlite): SqlClient {
  return new PgliteSqlClient(db, db);
}
