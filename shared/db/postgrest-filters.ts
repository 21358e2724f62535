/**
 * IDatabaseService `Where` objects as PostgREST filters on a postgrest-js builder, with the SQL
 * providers' semantics (see where.ts): a plain value is `eq`, null is `is.null`, several operators
 * on one column are ANDed. Values are encoded as the SQL providers encode them, and `in` lists
 * quote every element, so commas, parentheses and quotes stay data.
 */
import { AppError } from "../result.ts";
import type { Filter, Where } from "./database-service.ts";
import { isIdentifier } from "./identifiers.ts";
import { pgArrayLiteral } from "./query-builder.ts";

/** The part of postgrest-js's filter builder this module drives. */
export interface Filterable<B> {
  filter(column: string, operator: string, value: unknown): B;
}

const COMPARISONS = new Set(["eq", "neq", "gt", "gte", "lt", "lte"]);

export function unknownColumn(table: string | undefined, column: string): AppError {
  return new AppError("validation_failed", `unknown column "${column}" in table "${table}"`, {
    table,
    column,
  });
}

function invalidFilter(column: string, message: string): AppError {
  return new AppError("validation_failed", `filter on "${column}": ${message}`, { column });
}

/** A filter value as PostgREST reads it (text), matching the SQL providers' encoding. */
function filterText(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return pgArrayLiteral(value);
  if (typeof value === "object" && value !== null) return JSON.stringify(value);
  return String(value);
}

/** `in.(...)` with every element double-quoted, so commas, parens and quotes stay data. */
function inList(values: readonly unknown[]): string {
  const quoted = values.filter((v) => v !== null && v !== undefined).map((value) =>
    `"${filterText(value).replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`
  );
  return `(${quoted.join(",")})`;
}

export function checkColumn(table: string, column: string): void {
  if (!isIdentifier(column)) throw unknownColumn(table, column);
}

/** Applies a `Where` with the SQL providers' semantics (see where.ts). */
export function applyWhere<B extends Filterable<B>>(
  builder: B,
  table: string,
  where: Where = {},
): B {
  let query = builder;
  for (const [column, filter] of Object.entries(where) as [string, Filter][]) {
    checkColumn(table, column);
    if (filter === null || filter === undefined) {
      query = query.filter(column, "is", "null");
      continue;
    }
    if (typeof filter !== "object" || Array.isArray(filter) || filter instanceof Date) {
      query = query.filter(column, "eq", filterText(filter));
      continue;
    }
    const entries = Object.entries(filter);
    if (entries.length === 0) throw invalidFilter(column, "no operator given");
    for (const [op, value] of entries) {
      if (COMPARISONS.has(op)) {
        if (value === null || value === undefined) {
          if (op === "eq") query = query.filter(column, "is", "null");
          else if (op === "neq") query = query.filter(column, "not.is", "null");
          else throw invalidFilter(column, `\`${op}\` cannot compare with null`);
        } else {
          query = query.filter(column, op, filterText(value));
        }
      } else if (op === "in") {
        if (!Array.isArray(value)) throw invalidFilter(column, "`in` takes an array");
        query = query.filter(column, "in", inList(value));
      } else if (op === "is") {
        if (value !== null && value !== true && value !== false) {
          throw invalidFilter(column, "`is` takes null, true or false");
        }
        query = query.filter(column, "is", String(value));
      } else if (op === "like" || op === "ilike") {
        if (typeof value !== "string") {
          throw invalidFilter(column, `\`${op}\` takes a string pattern`);
        }
        query = query.filter(column, op, value);
      } else if (op === "contains") {
        if (!Array.isArray(value)) throw invalidFilter(column, "`contains` takes an array");
        query = query.filter(column, "cs", pgArrayLiteral(value));
      } else {
        throw invalidFilter(column, `unknown operator "${op}"`);
      }
    }
  }
  return query;
}
