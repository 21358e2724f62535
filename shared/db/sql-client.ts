/**
 * The minimal SQL surface every relational provider implements (embedded PGlite, postgres.js).
 * Higher layers (IDatabaseService, migration runner, batch migration, repositories) build on it,
 * so the same SQL runs unchanged on PGlite in a laptop test and PostgreSQL in production.
 */
export type SqlDialect = "pglite" | "postgres";

export interface QueryResult<T> {
  readonly rows: T[];
  /** Rows affected by INSERT/UPDATE/DELETE, or rows returned by SELECT. */
  readonly rowCount: number;
}

export interface SqlClient {
  readonly dialect: SqlDialect;
  /** One statement; every value is a bound parameter ($1, $2, ...). */
  query<T = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<T>>;
  /** A multi-statement script without parameters (migrations). */
  exec(script: string): Promise<void>;
  /**
   * Runs `fn` in a transaction (a savepoint when already inside one). Commits when `fn`
   * resolves, rolls back when it throws.
   */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** int8 (count(*), sums) and numeric come back as JS numbers on every provider. */
export const INT8_OID = 20;
export const NUMERIC_OID = 1700;
