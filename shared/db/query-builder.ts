/**
 * SQL for the data layer and the local PostgREST stand-in, built from plans whose table, column
 * and function names come from the catalog (quoted) and whose values are all bound parameters.
 *
 * Every value is bound as text and cast to the column's catalog type (`$1::text::integer`):
 * PostgreSQL then parses it exactly as PostgREST has it parse request values, and both drivers
 * (PGlite, postgres.js) send the same text with no client-side type guessing.
 *
 * Results are rendered to JSON by PostgreSQL itself (`json_agg`), as PostgREST does, so rows read
 * through the SQL providers and through PostgREST have identical shapes (timestamps as ISO
 * strings, jsonb as values, bigint/numeric as numbers).
 */
import { AppError } from "../result.ts";
import type { ColumnInfo, FunctionArgument, FunctionInfo, TableInfo } from "./catalog.ts";
import { quoteIdentifier } from "./identifiers.ts";

export interface BuiltQuery {
  readonly text: string;
  readonly params: readonly (string | null)[];
}

/** The single row every built query returns. */
export interface ResultRow {
  /** JSON text (array, object or scalar), or null when no representation was asked for. */
  readonly body: string | null;
  /** Rows selected / affected. */
  readonly page_count: number;
  /** Total matching rows, when a count was asked for. */
  readonly total?: number | null;
}

export type CompareOperator =
  | "eq"
  | "neq"
  | "gt"
  | "gte"
  | "lt"
  | "lte"
  | "like"
  | "ilike"
  | "cs"
  | "cd";

export type IsValue = "null" | "not_null" | "true" | "false" | "unknown";

/** A filter tree. Values are already text (see encodeValue); null binds SQL NULL. */
export type Condition =
  | {
    readonly kind: "compare";
    readonly column: string;
    readonly op: CompareOperator;
    readonly value: string | null;
    readonly negate?: boolean;
  }
  | {
    readonly kind: "in";
    readonly column: string;
    readonly values: readonly (string | null)[];
    readonly negate?: boolean;
  }
  | {
    readonly kind: "is";
    readonly column: string;
    readonly value: IsValue;
    readonly negate?: boolean;
  }
  | {
    readonly kind: "and" | "or";
    readonly conditions: readonly Condition[];
    readonly negate?: boolean;
  };

/** Every column a condition tree refers to (to check them against the catalog first). */
export function conditionColumns(conditions: readonly Condition[]): string[] {
  return conditions.flatMap((c) => "conditions" in c ? conditionColumns(c.conditions) : [c.column]);
}

export interface OrderTerm {
  readonly column: string;
  readonly direction: "asc" | "desc";
  readonly nulls?: "first" | "last";
}

export interface SelectColumn {
  /** A column name, or `*` for every column. */
  readonly column: string;
  readonly alias?: string;
}

/** `"*"` for every column, otherwise the listed ones. */
export type Projection = "*" | readonly SelectColumn[];

/** How the body is rendered: all rows as an array, or the first row as an object. */
export type BodyShape = "array" | "object";

export interface RenderOptions {
  /** Columns of the representation; null returns no body (PostgREST `return=minimal`). */
  readonly projection: Projection | null;
  readonly shape?: BodyShape;
  /** Drop null-valued keys (PostgREST `nulls=stripped`). */
  readonly stripNulls?: boolean;
}

export interface SelectPlan extends RenderOptions {
  readonly table: TableInfo;
  readonly projection: Projection;
  readonly where: readonly Condition[];
  readonly order?: readonly OrderTerm[];
  readonly limit?: number;
  readonly offset?: number;
  /** Also count every matching row (ignoring limit/offset). */
  readonly count?: boolean;
}

/** Marks an insert cell that takes the column default. */
export const DEFAULT_VALUE: unique symbol = Symbol("DEFAULT");
export type InsertCell = string | null | typeof DEFAULT_VALUE;

export interface InsertPlan extends RenderOptions {
  readonly table: TableInfo;
  readonly columns: readonly string[];
  /** One cell per column, per row. */
  readonly rows: readonly (readonly InsertCell[])[];
  readonly onConflict?: {
    readonly columns: readonly string[];
    readonly action: "merge" | "ignore";
  };
}

export interface UpdatePlan extends RenderOptions {
  readonly table: TableInfo;
  readonly set: readonly { readonly column: string; readonly value: string | null }[];
  readonly where: readonly Condition[];
}

export interface DeletePlan extends RenderOptions {
  readonly table: TableInfo;
  readonly where: readonly Condition[];
}

export interface RpcPlan {
  readonly fn: FunctionInfo;
  /** Named arguments, or the whole argument object for a single unnamed json parameter. */
  readonly args:
    | {
      readonly kind: "named";
      readonly values: readonly { arg: FunctionArgument; value: string | null }[];
    }
    | { readonly kind: "object"; readonly json: string };
  /** Overrides the natural shape (a set as an array, one value as itself). */
  readonly shape?: BodyShape;
  /**
   * Columns of a row-returning function to keep (PostgREST `select` on rpc). PostgreSQL checks
   * the names against the function's result; they are quoted identifiers here.
   */
  readonly projection?: readonly SelectColumn[];
}

/** Collects bound parameters and hands out their placeholders. */
class Params {
  readonly values: (string | null)[] = [];

  add(value: string | null): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

function column(table: TableInfo, name: string): ColumnInfo {
  const info = table.columns.get(name);
  if (!info) {
    throw new AppError("validation_failed", `unknown column "${name}" in table "${table.name}"`, {
      table: table.name,
      column: name,
    });
  }
  return info;
}

/** A text parameter cast to `type` (a catalog type name, never input). */
function typed(placeholder: string, type: string): string {
  return type === "text" ? `${placeholder}::text` : `${placeholder}::text::${type}`;
}

function conditionSql(table: TableInfo, condition: Condition, params: Params): string {
  const sql = positiveConditionSql(table, condition, params);
  return condition.negate ? `NOT (${sql})` : sql;
}

const COMPARE_SQL: Record<Exclude<CompareOperator, "like" | "ilike">, string> = {
  eq: "=",
  neq: "<>",
  gt: ">",
  gte: ">=",
  lt: "<",
  lte: "<=",
  cs: "@>",
  cd: "<@",
};

function positiveConditionSql(table: TableInfo, condition: Condition, params: Params): string {
  switch (condition.kind) {
    case "and":
    case "or": {
      if (condition.conditions.length === 0) return condition.kind === "and" ? "true" : "false";
      const joiner = condition.kind === "and" ? " AND " : " OR ";
      return condition.conditions.map((c) => `(${conditionSql(table, c, params)})`).join(joiner);
    }
    case "is": {
      const name = quoteIdentifier(column(table, condition.column).name);
      const test = {
        null: "IS NULL",
        not_null: "IS NOT NULL",
        true: "IS TRUE",
        false: "IS FALSE",
        unknown: "IS UNKNOWN",
      }[condition.value];
      return `${name} ${test}`;
    }
    case "in": {
      const info = column(table, condition.column);
      if (condition.values.length === 0) return "false";
      const list = condition.values.map((v) => typed(params.add(v), info.type)).join(", ");
      return `${quoteIdentifier(info.name)} IN (${list})`;
    }
    case "compare": {
      const info = column(table, condition.column);
      const name = quoteIdentifier(info.name);
      if (condition.op === "like" || condition.op === "ilike") {
        // PostgREST accepts `*` as the wildcard (URL-friendly); SQL needs `%`.
        const pattern = condition.value === null ? null : condition.value.replaceAll("*", "%");
        const subject = info.isString ? name : `${name}::text`;
        const op = condition.op === "like" ? "LIKE" : "ILIKE";
        return `${subject} ${op} ${params.add(pattern)}::text`;
      }
      return `${name} ${COMPARE_SQL[condition.op]} ${
        typed(params.add(condition.value), info.type)
      }`;
    }
  }
}

function whereSql(table: TableInfo, where: readonly Condition[], params: Params): string {
  if (where.length === 0) return "";
  return ` WHERE ${where.map((c) => `(${conditionSql(table, c, params)})`).join(" AND ")}`;
}

function orderSql(table: TableInfo, order: readonly OrderTerm[] = []): string {
  if (order.length === 0) return "";
  const terms = order.map((term) => {
    const name = quoteIdentifier(column(table, term.column).name);
    const nulls = term.nulls ? ` NULLS ${term.nulls === "first" ? "FIRST" : "LAST"}` : "";
    return `${name} ${term.direction === "desc" ? "DESC" : "ASC"}${nulls}`;
  });
  return ` ORDER BY ${terms.join(", ")}`;
}

function projectionSql(table: TableInfo, projection: Projection): string {
  if (projection === "*") return "*";
  if (projection.length === 0) return "*";
  return projection.map(({ column: name, alias }) => {
    if (name === "*") return "*";
    const quoted = quoteIdentifier(column(table, name).name);
    return alias && alias !== name ? `${quoted} AS ${quoteIdentifier(alias)}` : quoted;
  }).join(", ");
}

function bodySql(options: RenderOptions, element = "_t"): string {
  if (options.projection === null) return "NULL::text";
  if (options.shape === "object") {
    const first = `(json_agg(${element}) -> 0)`;
    return `coalesce(${options.stripNulls ? `json_strip_nulls(${first})` : first}::text, 'null')`;
  }
  const all = `coalesce(json_agg(${element}), '[]'::json)`;
  return `${options.stripNulls ? `json_strip_nulls(${all})` : all}::text`;
}

function nonNegativeInteger(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new AppError("validation_failed", `${name} must be a non-negative integer`, {
      field: name,
    });
  }
  return value;
}

export function buildSelect(plan: SelectPlan): BuiltQuery {
  const params = new Params();
  const where = whereSql(plan.table, plan.where, params);
  const limit = nonNegativeInteger("limit", plan.limit);
  const offset = nonNegativeInteger("offset", plan.offset);
  const limitSql = limit === undefined ? "" : ` LIMIT ${params.add(String(limit))}::text::int8`;
  const offsetSql = offset ? ` OFFSET ${params.add(String(offset))}::text::int8` : "";
  const inner = `SELECT ${projectionSql(plan.table, plan.projection)} FROM ${plan.table.sqlName}` +
    `${where}${orderSql(plan.table, plan.order)}${limitSql}${offsetSql}`;
  // The total reuses the WHERE placeholders: same values, one round trip.
  const total = plan.count ? `, (SELECT count(*) FROM ${plan.table.sqlName}${where}) AS total` : "";
  return {
    text: `SELECT ${bodySql(plan)} AS body, count(*) AS page_count${total} FROM (${inner}) _t`,
    params: params.values,
  };
}

/** Counts the rows matching `where` (into `total`). */
export function buildCount(table: TableInfo, where: readonly Condition[]): BuiltQuery {
  const params = new Params();
  return {
    text: `SELECT NULL::text AS body, 0 AS page_count, count(*) AS total FROM ${table.sqlName}` +
      whereSql(table, where, params),
    params: params.values,
  };
}

/** Wraps a data-changing statement so it returns the representation and the affected count. */
function withRepresentation(table: TableInfo, statement: string, options: RenderOptions): string {
  if (options.projection === null) {
    // `RETURNING 1` reads no column, so row-level SELECT policies are not required (PostgREST's
    // `return=minimal` works for roles that may insert but not read).
    return `WITH pgrst_source AS (${statement} RETURNING 1) ` +
      `SELECT NULL::text AS body, count(*) AS page_count FROM pgrst_source`;
  }
  return `WITH pgrst_source AS (${statement} RETURNING *) ` +
    `SELECT ${bodySql(options)} AS body, count(*) AS page_count ` +
    `FROM (SELECT ${projectionSql(table, options.projection)} FROM pgrst_source) _t`;
}

export function buildInsert(plan: InsertPlan): BuiltQuery {
  const params = new Params();
  const { table } = plan;
  if (plan.rows.length === 0) {
    throw new AppError("validation_failed", "nothing to insert", { table: table.name });
  }
  let columns = plan.columns.map((name) => column(table, name));
  let rows: (readonly InsertCell[])[] = [...plan.rows];
  if (columns.length === 0) {
    // `DEFAULT VALUES` takes one row only; an explicit DEFAULT per row takes any number.
    const any = [...table.columns.values()].find((c) => !c.generated);
    if (!any) {
      throw new AppError("validation_failed", `table "${table.name}" has no insertable column`);
    }
    columns = [any];
    rows = plan.rows.map(() => [DEFAULT_VALUE]);
  }
  const values = rows.map((row) => {
    if (row.length !== columns.length) {
      throw new AppError("validation_failed", "every row must have one value per column");
    }
    const cells = row.map((cell, index) =>
      cell === DEFAULT_VALUE ? "DEFAULT" : typed(params.add(cell), columns[index]!.type)
    );
    return `(${cells.join(", ")})`;
  });
  const names = columns.map((c) => quoteIdentifier(c.name)).join(", ");
  let statement = `INSERT INTO ${table.sqlName} (${names}) VALUES ${values.join(", ")}`;
  if (plan.onConflict) {
    const target = plan.onConflict.columns.map((name) => quoteIdentifier(column(table, name).name));
    if (target.length === 0) {
      throw new AppError("validation_failed", "upsert needs conflict columns", {
        table: table.name,
      });
    }
    const updatable = columns.filter((c) => !c.generated);
    statement += plan.onConflict.action === "ignore" || updatable.length === 0
      ? ` ON CONFLICT (${target.join(", ")}) DO NOTHING`
      : ` ON CONFLICT (${target.join(", ")}) DO UPDATE SET ` +
        updatable.map((c) => `${quoteIdentifier(c.name)} = EXCLUDED.${quoteIdentifier(c.name)}`)
          .join(", ");
  }
  return { text: withRepresentation(table, statement, plan), params: params.values };
}

export function buildUpdate(plan: UpdatePlan): BuiltQuery {
  const params = new Params();
  const { table } = plan;
  if (plan.set.length === 0) {
    throw new AppError("validation_failed", "nothing to update", { table: table.name });
  }
  const assignments = plan.set.map(({ column: name, value }) => {
    const info = column(table, name);
    return `${quoteIdentifier(info.name)} = ${typed(params.add(value), info.type)}`;
  });
  const statement = `UPDATE ${table.sqlName} SET ${assignments.join(", ")}` +
    whereSql(table, plan.where, params);
  return { text: withRepresentation(table, statement, plan), params: params.values };
}

export function buildDelete(plan: DeletePlan): BuiltQuery {
  const params = new Params();
  const statement = `DELETE FROM ${plan.table.sqlName}${whereSql(plan.table, plan.where, params)}`;
  return { text: withRepresentation(plan.table, statement, plan), params: params.values };
}

/**
 * Calls a function with named arguments and renders its result as PostgREST does: a set as an
 * array, a single row as an object, a scalar as a JSON value, void as no body.
 */
export function buildRpc(plan: RpcPlan): BuiltQuery {
  const params = new Params();
  const { fn } = plan;
  const args = plan.args.kind === "object"
    ? typed(params.add(plan.args.json), fn.args[0]?.type ?? "json")
    : plan.args.values.map(({ arg, value }) =>
      `${quoteIdentifier(arg.name)} := ${typed(params.add(value), arg.type)}`
    ).join(", ");
  const call = `${fn.sqlName}(${args})`;
  if (fn.returns === "void") {
    return {
      text: `SELECT NULL::text AS body, count(*) AS page_count FROM ${call} AS _t`,
      params: params.values,
    };
  }
  const element = fn.returns === "composite" ? "_t" : "_t.v";
  let from = fn.returns === "composite" ? `${call} AS _t` : `${call} AS _t(v)`;
  const kept = plan.projection?.filter((p) => p.column !== "*") ?? [];
  if (kept.length > 0 && kept.length === plan.projection?.length) {
    if (fn.returns !== "composite") {
      throw new AppError("validation_failed", `function "${fn.name}" does not return rows`);
    }
    const columns = kept.map(({ column: name, alias }) =>
      alias && alias !== name
        ? `${quoteIdentifier(name)} AS ${quoteIdentifier(alias)}`
        : quoteIdentifier(name)
    );
    from = `(SELECT ${columns.join(", ")} FROM ${call} AS _r) AS _t`;
  }
  const shape: BodyShape = plan.shape ?? (fn.returnsSet ? "array" : "object");
  return {
    text: `SELECT ${bodySql({ projection: "*", shape }, element)} AS body, ` +
      `count(*) AS page_count FROM ${from}`,
    params: params.values,
  };
}

function scalarText(value: unknown): string {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new AppError("validation_failed", "invalid date");
    return value.toISOString();
  }
  if (value instanceof Uint8Array) {
    return `\\x${Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A PostgreSQL array literal (`{"a","b c",NULL}`) with every element quoted and escaped. */
export function pgArrayLiteral(values: readonly unknown[]): string {
  const elements = values.map((value) => {
    if (value === null || value === undefined) return "NULL";
    if (Array.isArray(value)) return pgArrayLiteral(value);
    return `"${scalarText(value).replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
  });
  return `{${elements.join(",")}}`;
}

/**
 * The text form of a JS value for a column (or function argument) of the given kind: JSON
 * columns take the value's JSON (a string becomes a JSON string), array columns an array
 * literal, dates ISO-8601, everything else its string form. null/undefined bind SQL NULL.
 */
export function encodeValue(
  value: unknown,
  target: { readonly isJson: boolean; readonly isArray: boolean },
): string | null {
  if (value === null || value === undefined) return null;
  if (target.isJson) return JSON.stringify(value);
  if (target.isArray && Array.isArray(value)) return pgArrayLiteral(value);
  return scalarText(value);
}
