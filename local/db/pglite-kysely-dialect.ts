/**
 * Kysely for Better Auth on the embedded PGlite (local stack and tests only).
 *
 * kysely-pglite-dialect sends BEGIN/COMMIT as plain queries on the one shared PGlite connection,
 * so any query from another caller (the tracking tables, the Supabase stand-in) that arrives
 * mid-transaction would silently join Better Auth's transaction. This driver instead runs Better
 * Auth's transaction inside PGlite's own `transaction()`, whose mutex makes every other caller
 * wait until COMMIT/ROLLBACK. The Kysely instance never owns the database.
 */
import type { PGlite, Transaction } from "@electric-sql/pglite";
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from "kysely";

type Queryable = Pick<PGlite, "query"> | Transaction;

class PgliteConnection implements DatabaseConnection {
  /** Set while this connection holds a PGlite transaction. */
  #transaction: Transaction | null = null;
  #finish: { resolve: () => void; reject: (reason: unknown) => void } | null = null;
  #outcome: Promise<void> | null = null;

  constructor(private readonly pglite: PGlite) {}

  get #target(): Queryable {
    return this.#transaction ?? this.pglite;
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.#target.query<R>(compiled.sql, [...compiled.parameters]);
    return result.affectedRows !== undefined && result.affectedRows > 0
      ? { rows: result.rows, numAffectedRows: BigInt(result.affectedRows) }
      : { rows: result.rows };
  }

  async *streamQuery<R>(compiled: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    yield await this.executeQuery<R>(compiled);
  }

  async begin(settings: TransactionSettings): Promise<void> {
    if (this.#outcome) throw new Error("transaction already open on this connection");
    let started!: () => void;
    const ready = new Promise<void>((resolve) => (started = resolve));
    const finished = new Promise<void>((resolve, reject) => (this.#finish = { resolve, reject }));
    this.#outcome = this.pglite.transaction(async (tx) => {
      this.#transaction = tx;
      if (settings.isolationLevel) {
        await tx.query(`SET TRANSACTION ISOLATION LEVEL ${settings.isolationLevel}`);
      }
      started();
      await finished;
    }).finally(() => {
      this.#transaction = null;
      this.#finish = null;
      this.#outcome = null;
    });
    // A transaction that cannot start rejects `outcome` before `ready` ever resolves.
    await Promise.race([ready, this.#outcome]);
  }

  async end(commit: boolean): Promise<void> {
    const outcome = this.#outcome;
    const finish = this.#finish;
    if (!outcome || !finish) throw new Error("no transaction open on this connection");
    if (commit) {
      finish.resolve();
      await outcome;
      return;
    }
    const rollback = new Error("rollback");
    finish.reject(rollback);
    await outcome.catch((error) => {
      if (error !== rollback) throw error;
    });
  }
}

class PgliteDriver implements Driver {
  constructor(private readonly pglite: PGlite) {}

  async init(): Promise<void> {}

  // Connections are cheap views on the one PGlite; PGlite itself serialises the queries.
  acquireConnection(): Promise<DatabaseConnection> {
    return Promise.resolve(new PgliteConnection(this.pglite));
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return (connection as PgliteConnection).begin(settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return (connection as PgliteConnection).end(true);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return (connection as PgliteConnection).end(false);
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`SAVEPOINT "${name}"`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`ROLLBACK TO SAVEPOINT "${name}"`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`RELEASE SAVEPOINT "${name}"`));
  }

  async releaseConnection(): Promise<void> {}

  // The PGlite belongs to the SqlClient; closing it is the container's job.
  async destroy(): Promise<void> {}
}

export class SharedPgliteDialect implements Dialect {
  constructor(private readonly pglite: PGlite) {}
  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PgliteDriver(this.pglite);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}
