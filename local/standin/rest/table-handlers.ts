/**
 * `/<table>` requests: GET/HEAD read, POST insert/upsert, PATCH update, DELETE, with PostgREST's
 * statuses (200/206/416 for reads, 201 for inserts, 200 or 204 for PATCH/DELETE by `return=`),
 * Content-Range, single-object coercion (406 PGRST116, rolling back a mutation) and errors.
 */
import {
  buildDelete,
  buildInsert,
  buildSelect,
  buildUpdate,
  type BuiltQuery,
  conditionColumns,
  DEFAULT_VALUE,
  encodeValue,
  type InsertCell,
  type Projection,
} from "../../../shared/db/query-builder.ts";
import { pgrst } from "./errors.ts";
import {
  parseFilters,
  parseNameList,
  parseNonNegativeInteger,
  parseOrder,
  parseSelect,
  requestedRange,
} from "./request-parser.ts";
import { bodyResponse, isObject } from "./responses.ts";
import type { RestRequest } from "./rest-request.ts";

function projectionColumns(projection: Projection | null): string[] {
  return projection === null || projection === "*" ? [] : projection.map((p) => p.column);
}

/** The columns to return: none unless `Prefer: return=representation`. */
function representation(req: RestRequest, table: string): Projection | null {
  if (!req.prefer.returnRepresentation) return null;
  return parseSelect(req.url.searchParams.get("select"), table);
}

function mutationRange(req: RestRequest, affected: number): string {
  const total = req.prefer.count ? String(affected) : "*";
  return affected > 0 ? `0-${affected - 1}/${total}` : `*/${total}`;
}

/** Limited updates/deletes would silently hit every match here: refuse them instead. */
function rejectLimits(req: RestRequest, verb: string): void {
  const params = req.url.searchParams;
  if (params.has("limit") || params.has("offset") || params.has("order")) {
    throw pgrst.parse(
      `${verb} request`,
      `limit/offset/order on ${verb} are not supported by the local stand-in`,
    );
  }
}

export async function readRows(req: RestRequest, name: string): Promise<Response> {
  const params = req.url.searchParams;
  const projection = parseSelect(params.get("select"), name);
  const where = parseFilters(params);
  const order = parseOrder(params.get("order"));
  const { lower, upper } = requestedRange(
    req.rangeHeader,
    parseNonNegativeInteger("offset", params.get("offset")),
    parseNonNegativeInteger("limit", params.get("limit")),
    req.maxRows,
  );
  const table = await req.knownColumns(
    await req.table(name),
    [...projectionColumns(projection), ...conditionColumns(where), ...order.map((o) => o.column)],
    pgrst.undefinedColumn,
  );
  const query = buildSelect({
    table,
    projection,
    where,
    order,
    limit: Number.isFinite(upper) ? Math.max(0, upper - lower + 1) : undefined,
    offset: lower,
    count: req.prefer.count,
    shape: req.accept.shape,
    stripNulls: req.accept.stripNulls,
  });
  return await req.transaction(true, async (run) => {
    const row = await run(query);
    const total = req.prefer.count ? row.total ?? 0 : undefined;
    if (total !== undefined && lower > total) throw pgrst.rangeNotSatisfiable(lower, total);
    if (req.accept.shape === "object" && row.page_count !== 1) {
      throw pgrst.singular(row.page_count);
    }
    const shown = row.page_count > 0 && total !== 0
      ? `${lower}-${lower + row.page_count - 1}`
      : "*";
    const status = total !== undefined && row.page_count < total ? 206 : 200;
    return bodyResponse(row.body, status, `${shown}/${total ?? "*"}`, req.accept.shape);
  });
}

/** Runs a data-changing statement and answers as PostgREST does for it. */
function mutate(
  req: RestRequest,
  query: BuiltQuery,
  status: (represented: boolean) => number,
  contentRange: (affected: number) => string,
): Promise<Response> {
  const represented = req.prefer.returnRepresentation;
  return req.transaction(false, async (run) => {
    const row = await run(query);
    if (req.prefer.maxAffected !== undefined && row.page_count > req.prefer.maxAffected) {
      throw pgrst.maxAffected();
    }
    if (represented && req.accept.shape === "object" && row.page_count !== 1) {
      // Thrown inside the transaction: the rows just written are rolled back, as PostgREST does.
      throw pgrst.singular(row.page_count);
    }
    return bodyResponse(
      represented ? row.body : null,
      status(represented),
      contentRange(row.page_count),
      req.accept.shape,
    );
  });
}

/**
 * Insert columns: the `columns` parameter (supabase-js sends it for arrays; keys a row lacks
 * become NULL, or DEFAULT with `Prefer: missing=default`), else the keys every row must share.
 */
function insertColumns(req: RestRequest, rows: Record<string, unknown>[]): string[] {
  const columnsParam = req.url.searchParams.get("columns");
  if (columnsParam !== null) return parseNameList(columnsParam);
  const columns = Object.keys(rows[0] ?? {});
  const sameKeys = rows.every((row) =>
    Object.keys(row).length === columns.length && columns.every((k) => k in row)
  );
  if (!sameKeys) throw pgrst.invalidBody("All object keys must match");
  return columns;
}

export async function insertRows(req: RestRequest, name: string): Promise<Response> {
  const payload = await req.json();
  const rows = Array.isArray(payload) ? payload : isObject(payload) ? [payload] : undefined;
  if (!rows || !rows.every(isObject)) throw pgrst.invalidBody();
  const columns = insertColumns(req, rows);
  const projection = representation(req, name);
  let table = await req.knownColumns(await req.table(name), columns, pgrst.columnNotFound);
  const resolution = req.prefer.resolution;
  let conflictColumns: string[] = [];
  if (resolution) {
    const onConflict = req.url.searchParams.get("on_conflict");
    conflictColumns = onConflict ? parseNameList(onConflict) : [...table.primaryKey];
    if (conflictColumns.length === 0) {
      throw pgrst.parse("on_conflict", "the table has no primary key: give on_conflict");
    }
  }
  table = await req.knownColumns(
    table,
    [...conflictColumns, ...projectionColumns(projection)],
    pgrst.undefinedColumn,
  );
  if (rows.length === 0) {
    return bodyResponse(projection === null ? null : "[]", 201, "*/0", "array");
  }
  const missing: InsertCell = req.prefer.missingDefault ? DEFAULT_VALUE : null;
  const cells = rows.map((row) =>
    columns.map((column) =>
      column in row ? encodeValue(row[column], table.columns.get(column)!) : missing
    )
  );
  const query = buildInsert({
    table,
    columns,
    rows: cells,
    onConflict: resolution ? { columns: conflictColumns, action: resolution } : undefined,
    projection,
    shape: req.accept.shape,
    stripNulls: req.accept.stripNulls,
  });
  return await mutate(req, query, () => 201, (n) => `*/${req.prefer.count ? n : "*"}`);
}

export async function updateRows(req: RestRequest, name: string): Promise<Response> {
  rejectLimits(req, "PATCH");
  const payload = await req.json();
  if (!isObject(payload)) throw pgrst.invalidBody();
  const where = parseFilters(req.url.searchParams);
  const projection = representation(req, name);
  let table = await req.knownColumns(
    await req.table(name),
    Object.keys(payload),
    pgrst.columnNotFound,
  );
  table = await req.knownColumns(
    table,
    [...conditionColumns(where), ...projectionColumns(projection)],
    pgrst.undefinedColumn,
  );
  if (where.length === 0) throw pgrst.unfilteredMutation("UPDATE");
  const set = Object.entries(payload).map(([column, value]) => ({
    column,
    value: encodeValue(value, table.columns.get(column)!),
  }));
  if (set.length === 0) {
    // PostgREST answers an empty PATCH without touching the table.
    return bodyResponse(
      projection === null ? null : "[]",
      projection === null ? 204 : 200,
      "*/*",
      "array",
    );
  }
  const query = buildUpdate({
    table,
    set,
    where,
    projection,
    shape: req.accept.shape,
    stripNulls: req.accept.stripNulls,
  });
  return await mutate(req, query, (shown) => shown ? 200 : 204, (n) => mutationRange(req, n));
}

export async function deleteRows(req: RestRequest, name: string): Promise<Response> {
  rejectLimits(req, "DELETE");
  const where = parseFilters(req.url.searchParams);
  const projection = representation(req, name);
  const table = await req.knownColumns(
    await req.table(name),
    [...conditionColumns(where), ...projectionColumns(projection)],
    pgrst.undefinedColumn,
  );
  if (where.length === 0) throw pgrst.unfilteredMutation("DELETE");
  const query = buildDelete({
    table,
    where,
    projection,
    shape: req.accept.shape,
    stripNulls: req.accept.stripNulls,
  });
  return await mutate(req, query, (shown) => shown ? 200 : 204, (n) => mutationRange(req, n));
}
