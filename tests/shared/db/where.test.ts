import assert from "node:assert/strict";
import type { ColumnInfo, TableInfo } from "../../../shared/db/catalog.ts";
import { AppError } from "../../../shared/result.ts";
import { conditionsFromWhere } from "../../../shared/db/where.ts";

function column(name: string, type: string, isJson = false, isArray = false): ColumnInfo {
  return {
    name,
    type,
    isJson,
    isArray,
    isString: type === "text",
    hasDefault: false,
    generated: false,
  };
}

const table: TableInfo = {
  schema: "public",
  name: "t",
  sqlName: '"public"."t"',
  kind: "table",
  primaryKey: ["id"],
  columns: new Map([
    ["id", column("id", "integer")],
    ["name", column("name", "text")],
    ["meta", column("meta", "jsonb", true)],
    ["tags", column("tags", "text[]", false, true)],
    ["at", column("at", "timestamp with time zone")],
  ]),
};

Deno.test("plain values mean eq, null means IS NULL, operators are ANDed per column", () => {
  const at = new Date(Date.UTC(2026, 0, 1));
  assert.deepEqual(conditionsFromWhere(table, { id: 3, name: null, at: { eq: at } }), [
    { kind: "compare", column: "id", op: "eq", value: "3" },
    { kind: "is", column: "name", value: "null" },
    { kind: "compare", column: "at", op: "eq", value: "2026-01-01T00:00:00.000Z" },
  ]);
  assert.deepEqual(
    conditionsFromWhere(table, {
      id: { gte: 1, lt: 9, neq: null, in: [1, 2] },
      name: { eq: null, ilike: "a*", is: true },
      meta: { eq: { a: 1 } },
      tags: { contains: ["x", "y,z"] },
    }),
    [
      { kind: "compare", column: "id", op: "gte", value: "1" },
      { kind: "compare", column: "id", op: "lt", value: "9" },
      { kind: "is", column: "id", value: "not_null" },
      { kind: "in", column: "id", values: ["1", "2"] },
      { kind: "is", column: "name", value: "null" },
      { kind: "compare", column: "name", op: "ilike", value: "a*" },
      { kind: "is", column: "name", value: "true" },
      { kind: "compare", column: "meta", op: "eq", value: '{"a":1}' },
      { kind: "compare", column: "tags", op: "cs", value: '{"x","y,z"}' },
    ],
  );
  assert.deepEqual(conditionsFromWhere(table, undefined), []);
});

Deno.test("malformed filters are validation errors naming the column", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ ghost: 1 }, /unknown column "ghost"/],
    [{ id: {} }, /"id": no operator/],
    [{ id: { between: [1, 2] } }, /unknown operator "between"/],
    [{ id: { in: 1 } }, /`in` takes an array/],
    [{ id: { is: "yes" } }, /`is` takes null, true or false/],
    [{ name: { like: 5 } }, /`like` takes a string/],
    [{ tags: { contains: "x" } }, /`contains` takes an array/],
    [{ id: { gt: null } }, /cannot compare with null/],
  ];
  for (const [where, message] of bad) {
    assert.throws(
      () => conditionsFromWhere(table, where as never),
      (e) => e instanceof AppError && e.code === "validation_failed" && message.test(e.message),
      JSON.stringify(where),
    );
  }
});
