/**
 * IDatabaseService over a SqlClient: the `pglite` and `postgres` providers.
 *
 * - Table, column and function names are validated as identifiers and looked up in the catalog
 *   (cached); an unknown one is a `validation_failed` naming it, never a raw SQL error.
 * - Every value is a bound parameter, cast to the column's catalog type (see query-builder.ts).
 * - CRUD results are PostgreSQL's JSON rendering of the rows, the same shapes the supabase
 *   provider gets from PostgREST: timestamptz as ISO-8601 strings, json/jsonb as values,
 *   int8/numeric as numbers. `rawQuery` returns the driver's rows unchanged.
 * - PostgreSQL errors become AppErrors by SQLSTATE (database-errors.ts).
 */
import { AppError, err, ok, type Result } from "../result.ts";
import { parseQualifiedName, SchemaCatalog, selectOverload, type TableInfo } from "./catalog.ts";
import { ByIdOperations, requireFilter } from "./by-id-operations.ts";
import type {
  IDatabaseService,
  QueryOptions,
  Row,
  TransactionWork,
  UpsertOptions,
  Where,
} from "./database-service.ts";
import { pgErrorFields, toAppError } from "./database-errors.ts";
import {
  buildCount,
  buildDelete,
  buildInsert,
  buildRpc,
  buildSelect,
  buildUpdate,
  type BuiltQuery,
  DEFAULT_VALUE,
  encodeValue,
  type InsertCell,
  type OrderTerm,
  type Projection,
  type ResultRow,
} from "./query-builder.ts";
import type { SqlClient } from "./sql-client.ts";
import { conditionsFromWhere } from "./where.ts";

export interface SqlDatabaseServiceOptions {
  /** Shared name cache; one per database. Defaults to a new one. */
  readonly catalog?: SchemaCatalog;
  /** Schema for unqualified table and function names (default `public`). */
  readonly defaultSchema?: string;
  /**
   * Bound parameters per INSERT statement; larger batches are split into several statements in
   * one transaction (PostgreSQL allows 65,535 per statement).
   */
  readonly maxParamsPerStatement?: number;
}

const DEFAULT_MAX_PARAMS = 30_000;

function unknownColumn(table: string, column: string): AppError {
  return new AppError("validation_failed", `unknown column "${column}" in table "${table}"`, {
    table,
    column,
  });
}

function plainRow(value: unknown, index: number): Row {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new AppError("validation_failed", `row ${index} must be an object`, { row: index });
  }
  return value as Row;
}

/** Signals a failed Result out of `SqlClient.transaction` so it rolls back. */
class RollbackForResult extends Error {
  constructor(readonly result: Result<never, AppError>) {
    super("transaction rolled back: unit of work failed");
  }
}

export class SqlDatabaseService extends ByIdOperations implements IDatabaseService {
  readonly provider: "pglite" | "postgres";
  readonly #sql: SqlClient;
  readonly #catalog: SchemaCatalog;
  readonly #defaultSchema: string;
  readonly #maxParams: number;
  readonly #inTransaction: boolean;

  constructor(sql: SqlClient, options: SqlDatabaseServiceOptions = {}, inTransaction = false) {
    super();
    this.provider = sql.dialect;
    this.#sql = sql;
    this.#catalog = options.catalog ?? new SchemaCatalog();
    this.#defaultSchema = options.defaultSchema ?? "public";
    this.#maxParams = options.maxParamsPerStatement ?? DEFAULT_MAX_PARAMS;
    this.#inTransaction = inTransaction;
  }

  /** The name cache, e.g. to invalidate it after running migrations. */
  get catalog(): SchemaCatalog {
    return this.#catalog;
  }

  async create<T extends Row = Row>(table: string, data: Row): Promise<Result<T, AppError>> {
    const result = await this.createMany<T>(table, [data]);
    return result.ok ? ok(result.value[0]!) : result;
  }

  read<T extends Row = Row>(
    table: string,
    query: QueryOptions = {},
  ): Promise<Result<T[], AppError>> {
    return this.#run(async (db) => {
      const order = this.#order(query.orderBy);
      const select = query.select?.filter((c) => c !== "*") ?? [];
      const info = await this.#known(db, await this.#table(db, table), [
        ...Object.keys(query.where ?? {}),
        ...select,
        ...order.map((o) => o.column),
      ]);
      const projection: Projection = select.length === 0
        ? "*"
        : select.map((column) => ({ column }));
      const row = await this.#single(
        db,
        buildSelect({
          table: info,
          projection,
          where: conditionsFromWhere(info, query.where),
          order,
          limit: query.limit,
          offset: query.offset,
        }),
      );
      return JSON.parse(row.body ?? "[]") as T[];
    });
  }

  createMany<T extends Row = Row>(
    table: string,
    rows: readonly Row[],
  ): Promise<Result<T[], AppError>> {
    return this.#insert<T>(table, rows);
  }

  upsertMany<T extends Row = Row>(
    table: string,
    rows: readonly Row[],
    options: UpsertOptions,
  ): Promise<Result<T[], AppError>> {
    return this.#insert<T>(table, rows, options);
  }

  updateMany<T extends Row = Row>(
    table: string,
    where: Where,
    data: Row,
  ): Promise<Result<T[], AppError>> {
    return this.#run(async (db) => {
      requireFilter(where, "update");
      const values = plainRow(data, 0);
      let info = await this.#table(db, table);
      info = await this.#known(db, info, [...Object.keys(where), ...Object.keys(values)]);
      const set = Object.entries(values).map(([column, value]) => ({
        column,
        value: encodeValue(value, info.columns.get(column)!),
      }));
      const row = await this.#single(
        db,
        buildUpdate({
          table: info,
          set,
          where: conditionsFromWhere(info, where),
          projection: "*",
        }),
      );
      return JSON.parse(row.body ?? "[]") as T[];
    });
  }

  deleteMany(table: string, where: Where): Promise<Result<number, AppError>> {
    return this.#run(async (db) => {
      requireFilter(where, "delete");
      const info = await this.#known(db, await this.#table(db, table), Object.keys(where));
      const row = await this.#single(
        db,
        buildDelete({
          table: info,
          where: conditionsFromWhere(info, where),
          projection: null,
        }),
      );
      return row.page_count;
    });
  }

  count(table: string, where: Where = {}): Promise<Result<number, AppError>> {
    return this.#run(async (db) => {
      const info = await this.#known(db, await this.#table(db, table), Object.keys(where));
      const row = await this.#single(db, buildCount(info, conditionsFromWhere(info, where)));
      return row.total ?? 0;
    });
  }

  rawQuery<T extends Row = Row>(
    sql: string,
    params: readonly unknown[] = [],
  ): Promise<Result<T[], AppError>> {
    return this.#run(async (db) => (await db.query<T>(sql, params)).rows);
  }

  rpc<T = unknown>(fn: string, args: Row = {}): Promise<Result<T, AppError>> {
    return this.#run(async (db) => {
      const { schema, name } = parseQualifiedName(fn, this.#defaultSchema);
      const argObject = plainRow(args, 0);
      const argNames = Object.keys(argObject);
      const overloads = await this.#catalog.functions(db, schema, name);
      const match = selectOverload(overloads, argNames);
      if (!match) {
        throw new AppError(
          "validation_failed",
          `unknown function "${fn}" with arguments (${argNames.join(", ")})`,
          { function: fn, arguments: argNames },
        );
      }
      const plan = match.wholeObjectArg
        ? { fn: match.fn, args: { kind: "object" as const, json: JSON.stringify(argObject) } }
        : {
          fn: match.fn,
          args: {
            kind: "named" as const,
            values: match.fn.args.filter((arg) => arg.name in argObject).map((arg) => ({
              arg,
              value: encodeValue(argObject[arg.name], arg),
            })),
          },
        };
      const row = await this.#single(db, buildRpc(plan));
      return (row.body === null ? null : JSON.parse(row.body)) as T;
    });
  }

  /**
   * Runs `work` in one transaction on a service bound to it. A failed Result or a thrown error
   * rolls everything back; the failed Result is returned, a database error is mapped, any other
   * thrown error is rethrown after the rollback. Inside, each operation runs in a savepoint, so
   * one that fails (say, a duplicate) leaves the transaction usable and the work decides.
   */
  async transaction<T>(work: TransactionWork<T>): Promise<Result<T, AppError>> {
    try {
      return await this.#sql.transaction(async (tx) => {
        const bound = new SqlDatabaseService(tx, {
          catalog: this.#catalog,
          defaultSchema: this.#defaultSchema,
          maxParamsPerStatement: this.#maxParams,
        }, true);
        const result = await work(bound);
        if (!result.ok) throw new RollbackForResult(result);
        return result;
      });
    } catch (error) {
      if (error instanceof RollbackForResult) return error.result;
      return err(toAppError(error));
    }
  }

  #insert<T extends Row>(
    table: string,
    input: readonly Row[],
    upsert?: UpsertOptions,
  ): Promise<Result<T[], AppError>> {
    return this.#run(async (db) => {
      if (!Array.isArray(input)) throw new AppError("validation_failed", "rows must be an array");
      if (input.length === 0) return [];
      const rows = input.map(plainRow);
      const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
      if (upsert) {
        if (upsert.onConflict.length === 0) {
          throw new AppError("validation_failed", "upsert needs onConflict columns", { table });
        }
        // A row without a column would overwrite the stored value with the default on conflict.
        const index = rows.findIndex((row) => Object.keys(row).length !== columns.length);
        if (index >= 0) {
          throw new AppError("validation_failed", `upsert row ${index} lacks some columns`, {
            row: index,
            columns,
          });
        }
      }
      const info = await this.#known(db, await this.#table(db, table), [
        ...columns,
        ...(upsert?.onConflict ?? []),
      ]);
      const cells: InsertCell[][] = rows.map((row) =>
        columns.map((column) =>
          column in row ? encodeValue(row[column], info.columns.get(column)!) : DEFAULT_VALUE
        )
      );
      const onConflict = upsert && {
        columns: upsert.onConflict,
        action: upsert.ignoreDuplicates ? "ignore" as const : "merge" as const,
      };
      const perStatement = Math.max(1, Math.floor(this.#maxParams / Math.max(1, columns.length)));
      const insertChunk = async (target: SqlClient, chunk: InsertCell[][]): Promise<T[]> => {
        const built = buildInsert({
          table: info,
          columns,
          rows: chunk,
          onConflict,
          projection: "*",
        });
        return JSON.parse((await this.#single(target, built)).body ?? "[]") as T[];
      };
      if (cells.length <= perStatement) return await insertChunk(db, cells);
      // Several statements, one transaction: a failure in any chunk inserts nothing.
      return await db.transaction(async (tx) => {
        const inserted: T[] = [];
        for (let start = 0; start < cells.length; start += perStatement) {
          inserted.push(...await insertChunk(tx, cells.slice(start, start + perStatement)));
        }
        return inserted;
      });
    });
  }

  async #run<T>(fn: (db: SqlClient) => Promise<T>): Promise<Result<T, AppError>> {
    try {
      // Inside a transaction, a savepoint per operation keeps a failed one from aborting the rest.
      const value = this.#inTransaction ? await this.#sql.transaction(fn) : await fn(this.#sql);
      return ok(value);
    } catch (error) {
      const sqlstate = pgErrorFields(error)?.code;
      // The schema changed under the cache (dropped table, altered column): forget it all.
      if (sqlstate === "42P01" || sqlstate === "42703" || sqlstate === "42804") {
        this.#catalog.invalidate();
      }
      return err(toAppError(error));
    }
  }

  async #table(db: SqlClient, table: string): Promise<TableInfo> {
    const { schema, name } = parseQualifiedName(table, this.#defaultSchema);
    const info = await this.#catalog.table(db, schema, name);
    if (!info) throw new AppError("validation_failed", `unknown table "${table}"`, { table });
    return info;
  }

  /** The table, re-read if needed, once every name in `columns` is known to it. */
  async #known(db: SqlClient, table: TableInfo, columns: readonly string[]): Promise<TableInfo> {
    const { table: current, missing } = await this.#catalog.missingColumns(db, table, columns);
    if (missing[0] !== undefined) throw unknownColumn(table.name, missing[0]);
    return current;
  }

  #order(orderBy: QueryOptions["orderBy"]): OrderTerm[] {
    return Object.entries(orderBy ?? {}).map(([column, direction]) => {
      if (direction !== "asc" && direction !== "desc") {
        throw new AppError("validation_failed", `order of "${column}" must be "asc" or "desc"`, {
          column,
        });
      }
      return { column, direction };
    });
  }

  async #single(db: SqlClient, query: BuiltQuery): Promise<ResultRow> {
    const { rows } = await db.query<ResultRow>(query.text, query.params);
    const row = rows[0];
    if (!row) throw new AppError("internal_error", "query returned no result row");
    return row;
  }
}

/** The `pglite` / `postgres` provider (by the client's dialect). */
export function createSqlDatabaseService(
  sql: SqlClient,
  options: SqlDatabaseServiceOptions = {},
): IDatabaseService {
  return new SqlDatabaseService(sql, options);
}
