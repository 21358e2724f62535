/**
 * The by-id operations of IDatabaseService, stated once on top of the set operations every
 * provider implements (read / updateMany / deleteMany), so the SQL and Supabase providers agree
 * on `not_found`, the id column and the "give a filter" guard by construction. Providers extend
 * it and implement IDatabaseService, which checks the signatures.
 */
import { AppError, err, ok, type Result } from "../result.ts";
import type { MutationOptions, QueryOptions, Row, Where } from "./database-service.ts";

export abstract class ByIdOperations {
  abstract read<T extends Row = Row>(
    table: string,
    query?: QueryOptions,
  ): Promise<Result<T[], AppError>>;
  abstract updateMany<T extends Row = Row>(
    table: string,
    where: Where,
    data: Row,
  ): Promise<Result<T[], AppError>>;
  abstract deleteMany(table: string, where: Where): Promise<Result<number, AppError>>;

  async readById<T extends Row = Row>(
    table: string,
    id: string | number,
    options: MutationOptions = {},
  ): Promise<Result<T, AppError>> {
    const idColumn = options.idColumn ?? "id";
    const result = await this.read<T>(table, { where: { [idColumn]: { eq: id } }, limit: 1 });
    if (!result.ok) return result;
    const [row] = result.value;
    return row ? ok(row) : err(notFound(table, idColumn, id));
  }

  async update<T extends Row = Row>(
    table: string,
    id: string | number,
    data: Row,
    options: MutationOptions = {},
  ): Promise<Result<T, AppError>> {
    const idColumn = options.idColumn ?? "id";
    const result = await this.updateMany<T>(table, { [idColumn]: { eq: id } }, data);
    if (!result.ok) return result;
    const [row] = result.value;
    return row ? ok(row) : err(notFound(table, idColumn, id));
  }

  async delete(
    table: string,
    id: string | number,
    options: MutationOptions = {},
  ): Promise<Result<boolean, AppError>> {
    const result = await this.deleteMany(table, { [options.idColumn ?? "id"]: { eq: id } });
    return result.ok ? ok(result.value > 0) : result;
  }
}

/** updateMany/deleteMany never touch every row by accident: an empty filter is refused. */
export function requireFilter(where: Where, verb: string): void {
  if (typeof where !== "object" || where === null || Object.keys(where).length === 0) {
    throw new AppError("validation_failed", `refusing to ${verb} every row: give a filter`, {
      field: "where",
    });
  }
}

function notFound(table: string, idColumn: string, id: string | number): AppError {
  return new AppError("not_found", `no row in "${table}" with ${idColumn} = ${id}`, {
    table,
    [idColumn]: id,
  });
}
