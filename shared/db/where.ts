/**
 * Turns IDatabaseService `Where` objects into the query builder's conditions, encoding each value
 * for its column's type. Shared semantics for every SQL provider:
 * - a plain value means `eq`; `null` (plain or as `eq`) means `IS NULL`, `neq: null` `IS NOT NULL`;
 * - several operators on one column are ANDed;
 * - `like`/`ilike` accept `*` as well as `%` as the wildcard (as PostgREST does).
 */
import { AppError } from "../result.ts";
import type { ColumnInfo, TableInfo } from "./catalog.ts";
import type { Filter, Where } from "./database-service.ts";
import { type CompareOperator, type Condition, encodeValue } from "./query-builder.ts";

const COMPARISONS = ["eq", "neq", "gt", "gte", "lt", "lte"] as const;
const OPERATORS = new Set<string>([...COMPARISONS, "in", "is", "like", "ilike", "contains"]);

function invalid(column: string, message: string): AppError {
  return new AppError("validation_failed", `filter on "${column}": ${message}`, { column });
}

function isOperatorObject(
  filter: Filter,
): filter is Exclude<Filter, string | number | boolean | null> {
  return typeof filter === "object" && filter !== null && !Array.isArray(filter) &&
    !(filter instanceof Date);
}

function columnConditions(info: ColumnInfo, filter: Filter): Condition[] {
  const column = info.name;
  if (filter === null || filter === undefined) return [{ kind: "is", column, value: "null" }];
  if (!isOperatorObject(filter)) {
    return [{ kind: "compare", column, op: "eq", value: encodeValue(filter, info) }];
  }
  const entries = Object.entries(filter);
  if (entries.length === 0) throw invalid(column, "no operator given");
  return entries.map(([op, value]): Condition => {
    if (!OPERATORS.has(op)) throw invalid(column, `unknown operator "${op}"`);
    switch (op) {
      case "in":
        if (!Array.isArray(value)) throw invalid(column, "`in` takes an array");
        return { kind: "in", column, values: value.map((v) => encodeValue(v, info)) };
      case "is":
        if (value !== null && value !== true && value !== false) {
          throw invalid(column, "`is` takes null, true or false");
        }
        return { kind: "is", column, value: value === null ? "null" : value ? "true" : "false" };
      case "like":
      case "ilike":
        if (typeof value !== "string") throw invalid(column, `\`${op}\` takes a string pattern`);
        return { kind: "compare", column, op, value };
      case "contains":
        if (!Array.isArray(value)) throw invalid(column, "`contains` takes an array");
        return { kind: "compare", column, op: "cs", value: encodeValue(value, info) };
      default: {
        if (value === null || value === undefined) {
          if (op === "eq") return { kind: "is", column, value: "null" };
          if (op === "neq") return { kind: "is", column, value: "not_null" };
          throw invalid(column, `\`${op}\` cannot compare with null`);
        }
        return {
          kind: "compare",
          column,
          op: op as CompareOperator,
          value: encodeValue(value, info),
        };
      }
    }
  });
}

/** Conditions for `where` on `table`; every column must already be known to the table. */
export function conditionsFromWhere(table: TableInfo, where: Where | undefined): Condition[] {
  if (!where) return [];
  return Object.entries(where).flatMap(([name, filter]) => {
    const info = table.columns.get(name);
    if (!info) {
      throw new AppError("validation_failed", `unknown column "${name}" in table "${table.name}"`, {
        table: table.name,
        column: name,
      });
    }
    return columnConditions(info, filter);
  });
}
