import postgres from "postgres";
import { INT8_OID, NUMERIC_OID, type QueryResult, type SqlClient } from "./sql-client.ts";

export interface PostgresOptions {
  url: string;
  /** Pool size; edge functions keep it small because every instance opens its own pool. */
  max?: number;
  /** Supabase's transaction pooler (port 6543) cannot use prepared statements. */
  prepare?: boolean;
  idleTimeoutSeconds?: number;
  connectTimeoutSeconds?: number;
}

type Sql = postgres.Sql | postgres.TransactionSql;

class PostgresSqlClient implements SqlClient {
  readonly dialect = "postgres" as const;

  constructor(private readonly sql: Sql, private readonly root: postgres.Sql | null) {}

  async query<T>(text: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
    const result = await this.sql.unsafe(text, params as postgres.ParameterOrJSON<never>[]);
    // Copy into a plain array: postgres.js returns an Array subclass that deep-equality rejects.
    return { rows: Array.from(result) as T[], rowCount: result.count ?? result.length };
  }

  async exec(script: string): Promise<void> {
    // Without parameters postgres.js uses the simple protocol, which accepts many statements.
    await this.sql.unsafe(script).simple();
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    if (this.root) {
      return await this.root.begin((tx) => fn(new PostgresSqlClient(tx, null))) as T;
    }
    const tx = this.sql as postgres.TransactionSql;
    return await tx.savepoint((sp) => fn(new PostgresSqlClient(sp, null))) as T;
  }

  async close(): Promise<void> {
    if (this.root) await this.root.end({ timeout: 5 });
  }
}

/** Opens a pooled postgres.js connection to a real PostgreSQL (Supabase's SUPABASE_DB_URL). */
export function openPostgres(options: PostgresOptions): SqlClient & { sql: postgres.Sql } {
  const sql = postgres(options.url, {
    max: options.max ?? 5,
    prepare: options.prepare ?? true,
    idle_timeout: options.idleTimeoutSeconds ?? 20,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    onnotice: () => {},
    types: {
      int8: {
        to: INT8_OID,
        from: [INT8_OID],
        serialize: (value: number) => String(value),
        parse: (value: string) => Number(value),
      },
      numeric: {
        to: NUMERIC_OID,
        from: [NUMERIC_OID],
        serialize: (value: number) => String(value),
        parse: (value: string) => Number(value),
      },
    },
  });
  const client = new PostgresSqlClient(sql, sql) as PostgresSqlClient & { sql: postgres.Sql };
  Object.defineProperty(client, "sql", { value: sql });
  return client;
}
