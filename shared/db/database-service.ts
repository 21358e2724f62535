/**
 * The provider-agnostic data API (TrustStream's IDatabaseService), Result-typed. Providers:
 * `pglite` and `postgres` (SQL over SqlClient) and `supabase` (supabase-js over PostgREST).
 * Every value is a bound parameter; table and column names are checked, never concatenated
 * from input.
 */
import type { AppError, Result } from "../result.ts";

export type Row = Record<string, unknown>;

/** A filter on one column: a plain value means `eq` (null means `is null`). */
export type Filter =
  | string
  | number
  | boolean
  | null
  | {
    eq?: unknown;
    neq?: unknown;
    gt?: unknown;
    gte?: unknown;
    lt?: unknown;
    lte?: unknown;
    in?: readonly unknown[];
    is?: null | boolean;
    like?: string;
    ilike?: string;
    /** Array column contains every listed element (PostgREST `cs`, SQL `@>`). */
    contains?: readonly unknown[];
  };

export type Where = Readonly<Record<string, Filter>>;

export interface QueryOptions {
  readonly select?: readonly string[];
  readonly where?: Where;
  /** Applied in insertion order. */
  readonly orderBy?: Readonly<Record<string, "asc" | "desc">>;
  readonly limit?: number;
  readonly offset?: number;
}

export interface MutationOptions {
  /** The primary-key column used by update/delete by id (default "id"). */
  readonly idColumn?: string;
}

export interface UpsertOptions {
  /** Conflict target columns (PostgREST `on_conflict`). */
  readonly onConflict: readonly string[];
  /** Keep the existing row on conflict instead of updating it. */
  readonly ignoreDuplicates?: boolean;
}

/** Runs inside one database transaction; a failed Result or a throw rolls everything back. */
export type TransactionWork<T> = (tx: IDatabaseService) => Promise<Result<T, AppError>>;

export interface IDatabaseService {
  readonly provider: "pglite" | "postgres" | "supabase";

  create<T extends Row = Row>(table: string, data: Row): Promise<Result<T, AppError>>;
  read<T extends Row = Row>(table: string, query?: QueryOptions): Promise<Result<T[], AppError>>;
  /** One row by id; `not_found` when absent. */
  readById<T extends Row = Row>(
    table: string,
    id: string | number,
    options?: MutationOptions,
  ): Promise<Result<T, AppError>>;
  update<T extends Row = Row>(
    table: string,
    id: string | number,
    data: Row,
    options?: MutationOptions,
  ): Promise<Result<T, AppError>>;
  delete(
    table: string,
    id: string | number,
    options?: MutationOptions,
  ): Promise<Result<boolean, AppError>>;

  createMany<T extends Row = Row>(
    table: string,
    rows: readonly Row[],
  ): Promise<Result<T[], AppError>>;
  upsertMany<T extends Row = Row>(
    table: string,
    rows: readonly Row[],
    options: UpsertOptions,
  ): Promise<Result<T[], AppError>>;
  updateMany<T extends Row = Row>(
    table: string,
    where: Where,
    data: Row,
  ): Promise<Result<T[], AppError>>;
  deleteMany(table: string, where: Where): Promise<Result<number, AppError>>;
  count(table: string, where?: Where): Promise<Result<number, AppError>>;

  /**
   * Parameterised SQL ($1...). On the supabase provider this is only available for functions
   * exposed as RPC; it returns `unavailable` for arbitrary SQL.
   */
  rawQuery<T extends Row = Row>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<Result<T[], AppError>>;
  /** Calls a database function (PostgREST `rpc/<fn>`; `SELECT * FROM fn(...)` on SQL providers). */
  rpc<T = unknown>(fn: string, args?: Row): Promise<Result<T, AppError>>;
  /**
   * Atomic unit of work. SQL providers run it in one transaction. The supabase provider cannot
   * span HTTP calls in a transaction: it returns `unavailable` unless the work is a single RPC.
   */
  transaction<T>(work: TransactionWork<T>): Promise<Result<T, AppError>>;
}
