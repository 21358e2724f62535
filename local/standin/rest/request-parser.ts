/**
 * Parses PostgREST's URL grammar and headers (the subset supabase-js v2 emits) into query-builder
 * plans: `select`, horizontal filters (`col=[not.]op.value`), logic trees (`or=(...)`), `order`,
 * `limit`/`offset` and `Range`, `Prefer`, `Accept`, `columns` and `on_conflict`.
 * Names are returned as written; the API checks them against the catalog before any SQL.
 */
import type {
  CompareOperator,
  Condition,
  IsValue,
  OrderTerm,
  SelectColumn,
} from "../../../shared/db/query-builder.ts";
import { pgrst } from "./errors.ts";

/** Query parameters that are not column filters. */
export const RESERVED_PARAMS: ReadonlySet<string> = new Set([
  "select",
  "order",
  "limit",
  "offset",
  "on_conflict",
  "columns",
  "or",
  "and",
  "not.or",
  "not.and",
  "apikey",
]);

const COMPARE_OPERATORS = new Set<string>([
  "eq",
  "neq",
  "gt",
  "gte",
  "lt",
  "lte",
  "like",
  "ilike",
  "cs",
  "cd",
]);
const IS_VALUES = new Set<string>(["null", "not_null", "true", "false", "unknown"]);

/** Splits on commas outside double quotes and parentheses. */
export function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = "";
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted && char === "\\" && i + 1 < text.length) {
      current += char + text[++i];
      continue;
    }
    if (char === '"') quoted = !quoted;
    else if (!quoted && char === "(") depth++;
    else if (!quoted && char === ")") depth--;
    if (char === "," && depth === 0 && !quoted) {
      parts.push(current);
      current = "";
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

/** `"a \"b\""` → `a "b"`; anything not wrapped in quotes is returned as is. */
export function unquote(text: string): string {
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    return text.slice(1, -1).replace(/\\(.)/gs, "$1");
  }
  return text;
}

function parseInList(raw: string, whole: string): (string | null)[] {
  if (!raw.startsWith("(") || !raw.endsWith(")")) throw pgrst.parse(`filter (${whole})`);
  const inner = raw.slice(1, -1);
  if (inner === "") return [];
  return splitTopLevel(inner).map(unquote);
}

/** One filter `[not.]op.value` on `column`; inside logic trees values may be double-quoted. */
export function parseFilter(column: string, expression: string, inTree = false): Condition {
  let rest = expression;
  let negate = false;
  if (rest.startsWith("not.")) {
    negate = true;
    rest = rest.slice(4);
  }
  const dot = rest.indexOf(".");
  const op = dot < 0 ? rest : rest.slice(0, dot);
  const value = dot < 0 ? "" : rest.slice(dot + 1);
  const whole = `${column}=${expression}`;
  if (dot < 0) {
    throw pgrst.parse(`filter (${whole})`, `unexpected end of input, expecting operator`);
  }
  if (op === "in") return { kind: "in", column, values: parseInList(value, whole), negate };
  if (op === "is") {
    const normalized = value.toLowerCase();
    if (!IS_VALUES.has(normalized)) {
      throw pgrst.parse(`filter (${whole})`, "is takes null, not_null, true, false or unknown");
    }
    return { kind: "is", column, value: normalized as IsValue, negate };
  }
  if (!COMPARE_OPERATORS.has(op)) {
    throw pgrst.parse(`filter (${whole})`, `unknown or unsupported operator "${op}"`);
  }
  return {
    kind: "compare",
    column,
    op: op as CompareOperator,
    value: inTree ? unquote(value) : value,
    negate,
  };
}

/** A logic tree parameter: `or=(a.eq.1,and(b.gt.2,c.is.null))`. */
export function parseLogicTree(kind: "and" | "or", raw: string, negate = false): Condition {
  if (!raw.startsWith("(") || !raw.endsWith(")")) throw pgrst.parse(`logic tree (${raw})`);
  const items = splitTopLevel(raw.slice(1, -1)).filter((item) => item !== "");
  const conditions = items.map((item): Condition => {
    const nested = /^(not\.)?(and|or)(\(.*\))$/s.exec(item);
    if (nested) return parseLogicTree(nested[2] as "and" | "or", nested[3]!, Boolean(nested[1]));
    const dot = item.indexOf(".");
    if (dot <= 0) {
      throw pgrst.parse(`logic tree (${raw})`, `"${item}" is not column.operator.value`);
    }
    return parseFilter(unquote(item.slice(0, dot)), item.slice(dot + 1), true);
  });
  return { kind, conditions, negate };
}

/** Every filter of a query string: column filters and `or`/`and` trees (ANDed together). */
export function parseFilters(params: URLSearchParams): Condition[] {
  const conditions: Condition[] = [];
  for (const [key, value] of params) {
    if (key === "or" || key === "and") conditions.push(parseLogicTree(key, value));
    else if (key === "not.or" || key === "not.and") {
      conditions.push(parseLogicTree(key === "not.or" ? "or" : "and", value, true));
    } else if (!RESERVED_PARAMS.has(key)) conditions.push(parseFilter(unquote(key), value));
  }
  return conditions;
}

/** The `select` parameter; `*` may be mixed with columns and `alias:column` renames. */
export function parseSelect(raw: string | null, table: string): SelectColumn[] | "*" {
  if (raw === null || raw === "" || raw === "*") return "*";
  return splitTopLevel(raw).filter((item) => item !== "").map((item): SelectColumn => {
    if (item.includes("(")) {
      const name = item.slice(0, item.indexOf("(")).split(":").pop()!.split("!")[0]!;
      throw pgrst.relationship(table, name);
    }
    if (item.includes("::") || item.includes("->")) {
      throw pgrst.parse(
        `select parameter (${raw})`,
        "casts and JSON paths are not supported by the local stand-in",
      );
    }
    const colon = item.indexOf(":");
    if (colon < 0) return { column: unquote(item) };
    return { alias: unquote(item.slice(0, colon)), column: unquote(item.slice(colon + 1)) };
  });
}

/** The `order` parameter: `col[.asc|.desc][.nullsfirst|.nullslast],...`. */
export function parseOrder(raw: string | null): OrderTerm[] {
  if (raw === null || raw === "") return [];
  return splitTopLevel(raw).map((item): OrderTerm => {
    if (item.includes("(")) {
      throw pgrst.parse(`order (${raw})`, "ordering by related tables is not supported");
    }
    const parts = item.split(".");
    const column = unquote(parts[0]!);
    let direction: OrderTerm["direction"] = "asc";
    let nulls: OrderTerm["nulls"];
    for (const modifier of parts.slice(1)) {
      if (modifier === "asc" || modifier === "desc") direction = modifier;
      else if (modifier === "nullsfirst") nulls = "first";
      else if (modifier === "nullslast") nulls = "last";
      else throw pgrst.parse(`order (${raw})`, `unexpected "${modifier}"`);
    }
    if (column === "") throw pgrst.parse(`order (${raw})`);
    return nulls ? { column, direction, nulls } : { column, direction };
  });
}

/** `columns` / `on_conflict`: a comma list of (optionally double-quoted) names. */
export function parseNameList(raw: string): string[] {
  return splitTopLevel(raw).map((name) => unquote(name.trim())).filter((name) => name !== "");
}

export function parseNonNegativeInteger(name: string, raw: string | null): number | undefined {
  if (raw === null) return undefined;
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw pgrst.parse(`${name} parameter (${raw})`, `${name} must be a non-negative integer`);
  }
  return Number(raw);
}

/** A row range [lower, upper]; upper may be Infinity. */
export interface RowRange {
  readonly lower: number;
  readonly upper: number;
}

/**
 * The rows to return: the `Range` header intersected with `offset`/`limit`, capped by the
 * server's max rows (PostgREST's rule).
 */
export function requestedRange(
  rangeHeader: string | null,
  offset: number | undefined,
  limit: number | undefined,
  maxRows: number | undefined,
): RowRange {
  let lower = 0;
  let upper = Infinity;
  const match = rangeHeader ? /^\s*(\d+)-(\d*)\s*$/.exec(rangeHeader) : null;
  if (match) {
    lower = Number(match[1]);
    if (match[2] !== "") upper = Number(match[2]);
  }
  const paramLower = offset ?? 0;
  const paramUpper = limit === undefined ? Infinity : paramLower + limit - 1;
  lower = Math.max(lower, paramLower);
  upper = Math.min(upper, paramUpper);
  if (maxRows !== undefined) upper = Math.min(upper, lower + maxRows - 1);
  return { lower, upper };
}

export interface Preferences {
  readonly returnRepresentation: boolean;
  readonly count: boolean;
  readonly resolution?: "merge" | "ignore";
  readonly missingDefault: boolean;
  readonly rollback: boolean;
  readonly maxAffected?: number;
}

/** The `Prefer` header (several values, comma-separated or repeated). */
export function parsePrefer(header: string | null): Preferences {
  const values = (header ?? "").split(",").map((v) => v.trim()).filter(Boolean);
  const get = (key: string) => values.find((v) => v.startsWith(`${key}=`))?.slice(key.length + 1);
  const resolution = get("resolution");
  const maxAffected = get("max-affected");
  const strict = get("handling") === "strict";
  return {
    returnRepresentation: get("return") === "representation",
    count: ["exact", "planned", "estimated"].includes(get("count") ?? ""),
    resolution: resolution === "merge-duplicates"
      ? "merge"
      : resolution === "ignore-duplicates"
      ? "ignore"
      : undefined,
    missingDefault: get("missing") === "default",
    rollback: get("tx") === "rollback",
    maxAffected: strict && maxAffected && /^\d+$/.test(maxAffected)
      ? Number(maxAffected)
      : undefined,
  };
}

export interface AcceptedMedia {
  readonly shape: "array" | "object";
  readonly stripNulls: boolean;
}

/** The `Accept` header: JSON arrays (default) or PostgREST's single object. */
export function parseAccept(header: string | null): AcceptedMedia {
  if (!header) return { shape: "array", stripNulls: false };
  const ranges = header.split(",").map((range) => range.trim().toLowerCase());
  for (const range of ranges) {
    const [type = "", ...parameters] = range.split(";").map((p) => p.trim());
    const stripNulls = parameters.includes("nulls=stripped");
    if (type === "application/vnd.pgrst.object+json" || type === "application/vnd.pgrst.object") {
      return { shape: "object", stripNulls };
    }
    if (
      type === "application/json" || type === "application/vnd.pgrst.array+json" ||
      type === "*/*" || type === "application/*"
    ) {
      return { shape: "array", stripNulls };
    }
  }
  throw pgrst.mediaType(header);
}
