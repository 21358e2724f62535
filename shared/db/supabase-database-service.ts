/**
 * IDatabaseService over supabase-js (PostgREST): the `supabase` provider. Same semantics as the SQL
 * providers wherever PostgREST allows it, proven by the shared provider-contract suite:
 * - names are checked locally as identifiers (an injection attempt never leaves the process) and
 *   by PostgREST against its schema cache; unknown ones map to the same `validation_failed`
 *   messages the SQL providers give;
 * - values travel as PostgREST filter values / JSON bodies, never inside names;
 * - PostgREST errors map to AppError codes through the same SQLSTATE table;
 * - reads page through PostgREST's max-rows cap (`pageSize`, Supabase's default 1000), so a read
 *   without a limit is never silently truncated;
 * - `rawQuery` is unavailable (expose the SQL as a function and call `rpc`), and `transaction`
 *   only supports work that is a single `rpc` call (PostgREST runs each request in its own
 *   transaction; several HTTP calls cannot share one).
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { AppError, err, ok, type Result } from "../result.ts";
import { parseQualifiedName } from "./catalog.ts";
import { ByIdOperations, requireFilter } from "./by-id-operations.ts";
import type {
  IDatabaseService,
  QueryOptions,
  Row,
  TransactionWork,
  UpsertOptions,
  Where,
} from "./database-service.ts";
import { appErrorFromPostgrest, type PostgrestReply } from "./postgrest-errors.ts";
import { applyWhere, checkColumn } from "./postgrest-filters.ts";
import { SingleRpcTransaction } from "./single-rpc-transaction.ts";

export interface SupabaseDatabaseServiceOptions {
  /** Schema for unqualified names (default `public`); it must be exposed by PostgREST. */
  readonly defaultSchema?: string;
  /** Rows per request when reading; keep it ≤ the project's max rows (default 1000). */
  readonly pageSize?: number;
}

function plainRow(value: unknown, index: number): Row {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new AppError("validation_failed", `row ${index} must be an object`, { row: index });
  }
  return value as Row;
}

export class SupabaseDatabaseService extends ByIdOperations implements IDatabaseService {
  readonly provider = "supabase" as const;
  readonly #client: SupabaseClient;
  readonly #defaultSchema: string;
  readonly #pageSize: number;

  constructor(client: SupabaseClient, options: SupabaseDatabaseServiceOptions = {}) {
    super();
    this.#client = client;
    this.#defaultSchema = options.defaultSchema ?? "public";
    this.#pageSize = options.pageSize ?? 1000;
  }

  async create<T extends Row = Row>(table: string, data: Row): Promise<Result<T, AppError>> {
    const result = await this.createMany<T>(table, [data]);
    return result.ok ? ok(result.value[0]!) : result;
  }

  read<T extends Row = Row>(
    table: string,
    query: QueryOptions = {},
  ): Promise<Result<T[], AppError>> {
    return this.#guard(async () => {
      const select = query.select?.filter((c) => c !== "*") ?? [];
      select.forEach((column) => checkColumn(table, column));
      const order = Object.entries(query.orderBy ?? {});
      for (const [column, direction] of order) {
        checkColumn(table, column);
        if (direction !== "asc" && direction !== "desc") {
          throw new AppError("validation_failed", `order of "${column}" must be "asc" or "desc"`, {
            column,
          });
        }
      }
      for (const [name, value] of [["limit", query.limit], ["offset", query.offset]] as const) {
        if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
          throw new AppError("validation_failed", `${name} must be a non-negative integer`, {
            field: name,
          });
        }
      }
      const build = () => {
        let builder = applyWhere(
          this.#from(table).select(select.length ? select.join(",") : "*"),
          table,
          query.where,
        );
        for (const [column, direction] of order) {
          builder = builder.order(column, { ascending: direction === "asc" });
        }
        return builder;
      };
      // PostgREST caps every response at its max rows: page until the wanted rows are read.
      const wanted = query.limit ?? Infinity;
      const rows: T[] = [];
      let start = query.offset ?? 0;
      do {
        const size = Math.min(this.#pageSize, wanted - rows.length);
        const reply = await build().range(start, start + size - 1) as PostgrestReply<T[]>;
        if (reply.error) throw appErrorFromPostgrest(reply, { table });
        const page = reply.data ?? [];
        rows.push(...page);
        if (page.length < size) break;
        start += page.length;
      } while (rows.length < wanted);
      return rows;
    });
  }

  createMany<T extends Row = Row>(
    table: string,
    rows: readonly Row[],
  ): Promise<Result<T[], AppError>> {
    return this.#guard(async () => {
      const checked = this.#rows(table, rows);
      if (checked.length === 0) return [];
      // missing=default: a key absent from a row takes the column default, as on SQL providers.
      const reply = await this.#from(table).insert(checked, { defaultToNull: false })
        .select() as PostgrestReply<T[]>;
      if (reply.error) throw appErrorFromPostgrest(reply, { table });
      return reply.data ?? [];
    });
  }

  upsertMany<T extends Row = Row>(
    table: string,
    rows: readonly Row[],
    options: UpsertOptions,
  ): Promise<Result<T[], AppError>> {
    return this.#guard(async () => {
      const checked = this.#rows(table, rows);
      if (checked.length === 0) return [];
      if (options.onConflict.length === 0) {
        throw new AppError("validation_failed", "upsert needs onConflict columns", { table });
      }
      options.onConflict.forEach((column) => checkColumn(table, column));
      const columns = new Set(checked.flatMap((row) => Object.keys(row)));
      const index = checked.findIndex((row) => Object.keys(row).length !== columns.size);
      if (index >= 0) {
        throw new AppError("validation_failed", `upsert row ${index} lacks some columns`, {
          row: index,
          columns: [...columns],
        });
      }
      const reply = await this.#from(table).upsert(checked, {
        onConflict: options.onConflict.join(","),
        ignoreDuplicates: options.ignoreDuplicates ?? false,
        defaultToNull: false,
      }).select() as PostgrestReply<T[]>;
      if (reply.error) throw appErrorFromPostgrest(reply, { table });
      return reply.data ?? [];
    });
  }

  updateMany<T extends Row = Row>(
    table: string,
    where: Where,
    data: Row,
  ): Promise<Result<T[], AppError>> {
    return this.#guard(async () => {
      requireFilter(where, "update");
      const values = plainRow(data, 0);
      Object.keys(values).forEach((column) => checkColumn(table, column));
      if (Object.keys(values).length === 0) {
        throw new AppError("validation_failed", "nothing to update", { table });
      }
      const reply = await applyWhere(this.#from(table).update(values), table, where)
        .select() as PostgrestReply<T[]>;
      if (reply.error) throw appErrorFromPostgrest(reply, { table });
      return reply.data ?? [];
    });
  }

  deleteMany(table: string, where: Where): Promise<Result<number, AppError>> {
    return this.#guard(async () => {
      requireFilter(where, "delete");
      const reply = await applyWhere(
        this.#from(table).delete({ count: "exact" }),
        table,
        where,
      ) as PostgrestReply<null>;
      if (reply.error) throw appErrorFromPostgrest(reply, { table });
      return reply.count ?? 0;
    });
  }

  count(table: string, where: Where = {}): Promise<Result<number, AppError>> {
    return this.#guard(async () => {
      // GET with limit 0 rather than HEAD: a HEAD error has no body, so no code to map.
      const reply = await applyWhere(
        this.#from(table).select("*", { count: "exact" }),
        table,
        where,
      ).limit(0) as PostgrestReply<null>;
      if (reply.error) throw appErrorFromPostgrest(reply, { table });
      return reply.count ?? 0;
    });
  }

  rawQuery<T extends Row = Row>(
    _sql: string,
    _params?: readonly unknown[],
  ): Promise<Result<T[], AppError>> {
    return Promise.resolve(err(
      new AppError(
        "unavailable",
        "rawQuery is not available on the supabase provider: expose the SQL as a database function and call rpc()",
      ),
    ));
  }

  rpc<T = unknown>(fn: string, args: Row = {}): Promise<Result<T, AppError>> {
    return this.#guard(async () => {
      const { schema, name } = parseQualifiedName(fn, this.#defaultSchema);
      const argObject = plainRow(args, 0);
      const argNames = Object.keys(argObject);
      const reply = await this.#client.schema(schema).rpc(name, argObject) as PostgrestReply<T>;
      if (reply.error) throw appErrorFromPostgrest(reply, { fn, args: argNames });
      return reply.data as T;
    });
  }

  /**
   * PostgREST cannot hold a transaction across requests. The work gets a service that allows one
   * `rpc` call (a database function runs atomically in PostgREST's own transaction) and nothing
   * else: any other operation returns `unavailable` without touching data, and the whole unit
   * fails with `unavailable`. An operation attempted after the rpc cannot undo it, so that failure
   * says the rpc was committed.
   */
  async transaction<T>(work: TransactionWork<T>): Promise<Result<T, AppError>> {
    const tx = new SingleRpcTransaction(this);
    let result: Result<T, AppError>;
    try {
      result = await work(tx);
    } catch (error) {
      if (error instanceof AppError) return err(error);
      throw error;
    }
    return tx.refusal ? err(tx.refusal) : result;
  }

  #from(table: string) {
    const { schema, name } = parseQualifiedName(table, this.#defaultSchema);
    return this.#client.schema(schema).from(name);
  }

  #rows(table: string, rows: readonly Row[]): Row[] {
    if (!Array.isArray(rows)) throw new AppError("validation_failed", "rows must be an array");
    const checked = rows.map(plainRow);
    parseQualifiedName(table, this.#defaultSchema);
    checked.forEach((row) => Object.keys(row).forEach((column) => checkColumn(table, column)));
    return checked;
  }

  async #guard<T>(fn: () => Promise<T>): Promise<Result<T, AppError>> {
    try {
      return ok(await fn());
    } catch (error) {
      if (error instanceof AppError) return err(error);
      // postgrest-js resolves network failures as replies; anything thrown here is a fault.
      throw error;
    }
  }
}

/** The transaction-bound service of the supabase provider: a single rpc, nothing else. */
export interface SupabaseProviderConfig extends SupabaseDatabaseServiceOptions {
  readonly url: string;
  /** Normally the service-role (secret) key: the data layer is server-side. */
  readonly key: string;
  /** Custom fetch (tests, instrumentation). */
  readonly fetch?: typeof fetch;
}

/** A supabase provider with its own supabase-js client (no session persistence or refresh). */
export function createSupabaseDatabaseService(
  config: SupabaseProviderConfig,
): SupabaseDatabaseService {
  const client = createClient(config.url, config.key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: config.fetch ? { fetch: config.fetch } : undefined,
  });
  return new SupabaseDatabaseService(client, config);
}
