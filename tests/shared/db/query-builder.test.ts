import assert from "node:assert/strict";
import fc from "fast-check";
import type { ColumnInfo, FunctionInfo, TableInfo } from "../../../shared/db/catalog.ts";
import {
  buildCount,
  buildDelete,
  buildInsert,
  buildRpc,
  buildSelect,
  buildUpdate,
  conditionColumns,
  DEFAULT_VALUE,
  encodeValue,
  pgArrayLiteral,
} from "../../../shared/db/query-builder.ts";
import { AppError } from "../../../shared/result.ts";
import { freshPglite } from "../../helpers/db.ts";

function column(name: string, type: string, extra: Partial<ColumnInfo> = {}): ColumnInfo {
  return {
    name,
    type,
    isArray: type.endsWith("[]"),
    isJson: type === "jsonb",
    isString: type === "text",
    hasDefault: false,
    generated: false,
    ...extra,
  };
}

const items: TableInfo = {
  schema: "public",
  name: "items",
  sqlName: '"public"."items"',
  kind: "table",
  primaryKey: ["id"],
  columns: new Map([
    ["id", column("id", "bigint", { hasDefault: true })],
    ["name", column("name", "text")],
    ["qty", column("qty", "integer")],
    ["tags", column("tags", "text[]")],
    ["attrs", column("attrs", "jsonb")],
    ["total", column("total", "integer", { generated: true })],
  ]),
};

const HOSTILE = "'); DROP TABLE items; --";

Deno.test("select binds every value and casts it to the column's catalog type", () => {
  const query = buildSelect({
    table: items,
    projection: [{ column: "id" }, { column: "name", alias: "label" }],
    where: [
      { kind: "compare", column: "name", op: "eq", value: HOSTILE },
      { kind: "compare", column: "qty", op: "gte", value: "3" },
      { kind: "in", column: "id", values: ["1", "2"] },
      { kind: "compare", column: "name", op: "like", value: "a*b%" },
      { kind: "compare", column: "qty", op: "ilike", value: "1*", negate: true },
      { kind: "is", column: "attrs", value: "not_null" },
    ],
    order: [{ column: "qty", direction: "desc", nulls: "last" }, {
      column: "id",
      direction: "asc",
    }],
    limit: 10,
    offset: 20,
    count: true,
  });
  assert.ok(!query.text.includes("DROP"), "values never reach the SQL text");
  assert.deepEqual(query.params, [HOSTILE, "3", "1", "2", "a%b%", "1%", "10", "20"]);
  assert.match(query.text, /"name" = \$1::text\b/);
  assert.match(query.text, /"qty" >= \$2::text::integer/);
  assert.match(query.text, /"id" IN \(\$3::text::bigint, \$4::text::bigint\)/);
  assert.match(query.text, /"name" LIKE \$5::text/);
  assert.match(query.text, /NOT \("qty"::text ILIKE \$6::text\)/);
  assert.match(query.text, /"attrs" IS NOT NULL/);
  assert.match(query.text, /ORDER BY "qty" DESC NULLS LAST, "id" ASC/);
  assert.match(query.text, /LIMIT \$7::text::int8 OFFSET \$8::text::int8/);
  assert.match(query.text, /SELECT "id", "name" AS "label" FROM "public"."items"/);
  assert.match(query.text, /\(SELECT count\(\*\) FROM "public"."items" WHERE .*\) AS total/);
});

Deno.test("logic trees, empty in-lists and shapes", () => {
  const query = buildSelect({
    table: items,
    projection: "*",
    where: [{
      kind: "or",
      negate: true,
      conditions: [
        { kind: "in", column: "id", values: [] },
        { kind: "and", conditions: [{ kind: "is", column: "name", value: "null" }] },
      ],
    }],
    shape: "object",
    stripNulls: true,
  });
  assert.match(query.text, /NOT \(\(false\) OR \(\("name" IS NULL\)\)\)/);
  assert.match(query.text, /json_strip_nulls\(\(json_agg\(_t\) -> 0\)\)/);
  assert.deepEqual(
    conditionColumns([{ kind: "and", conditions: [{ kind: "is", column: "a", value: "true" }] }]),
    ["a"],
  );
});

Deno.test("names are checked against the table and never taken from values", () => {
  const unknown = () =>
    buildSelect({
      table: items,
      projection: [{ column: "nope" }],
      where: [],
    });
  assert.throws(unknown, (e) => e instanceof AppError && /unknown column "nope"/.test(e.message));
  assert.throws(
    () => buildSelect({ table: items, projection: "*", where: [], limit: -1 }),
    (e) => e instanceof AppError && e.code === "validation_failed",
  );
  assert.throws(
    () => buildSelect({ table: items, projection: [{ column: "id", alias: 'x"; --' }], where: [] }),
    (e) => e instanceof AppError && e.code === "validation_failed",
  );
});

Deno.test("insert: defaults per cell, upserts, and return=minimal without reading columns", () => {
  const insert = buildInsert({
    table: items,
    columns: ["name", "qty"],
    rows: [[HOSTILE, DEFAULT_VALUE], ["b", "2"]],
    onConflict: { columns: ["name"], action: "merge" },
    projection: null,
  });
  assert.match(
    insert.text,
    /VALUES \(\$1::text, DEFAULT\), \(\$2::text, \$3::text::integer\) ON CONFLICT \("name"\) DO UPDATE SET "name" = EXCLUDED."name", "qty" = EXCLUDED."qty" RETURNING 1/,
  );
  assert.deepEqual(insert.params, [HOSTILE, "b", "2"]);
  const ignore = buildInsert({
    table: items,
    columns: ["name"],
    rows: [["a"]],
    onConflict: { columns: ["name"], action: "ignore" },
    projection: "*",
  });
  assert.match(ignore.text, /DO NOTHING RETURNING \*/);
  const defaults = buildInsert({ table: items, columns: [], rows: [[], []], projection: "*" });
  assert.match(
    defaults.text,
    /INSERT INTO "public"."items" \("id"\) VALUES \(DEFAULT\), \(DEFAULT\)/,
  );
  assert.throws(() => buildInsert({ table: items, columns: ["name"], rows: [], projection: null }));
  assert.throws(() =>
    buildInsert({ table: items, columns: ["name"], rows: [["a", "b"]], projection: null })
  );
});

Deno.test("update, delete and count bind values and require known columns", () => {
  const update = buildUpdate({
    table: items,
    set: [{ column: "attrs", value: '{"a":1}' }, { column: "name", value: null }],
    where: [{ kind: "compare", column: "id", op: "eq", value: "7" }],
    projection: [{ column: "id" }],
  });
  assert.match(
    update.text,
    /UPDATE "public"."items" SET "attrs" = \$1::text::jsonb, "name" = \$2::text WHERE \("id" = \$3::text::bigint\) RETURNING \*/,
  );
  assert.deepEqual(update.params, ['{"a":1}', null, "7"]);
  assert.throws(() => buildUpdate({ table: items, set: [], where: [], projection: null }));
  const remove = buildDelete({
    table: items,
    where: [{ kind: "compare", column: "tags", op: "cs", value: "{a}" }],
    projection: null,
  });
  assert.match(
    remove.text,
    /DELETE FROM "public"."items" WHERE \("tags" @> \$1::text::text\[\]\) RETURNING 1/,
  );
  const count = buildCount(items, [{ kind: "is", column: "qty", value: "null" }]);
  assert.match(count.text, /count\(\*\) AS total FROM "public"."items" WHERE \("qty" IS NULL\)/);
});

Deno.test("rpc renders sets, rows, scalars and void as PostgREST does", () => {
  const fn = (returns: FunctionInfo["returns"], returnsSet: boolean): FunctionInfo => ({
    schema: "public",
    name: "f",
    sqlName: '"public"."f"',
    returns,
    returnsSet,
    args: [{ name: "a", type: "integer", isJson: false, isArray: false, hasDefault: false }],
  });
  const named = (f: FunctionInfo) => ({
    kind: "named" as const,
    values: [{ arg: f.args[0]!, value: "1" }],
  });
  const set = buildRpc({ fn: fn("composite", true), args: named(fn("composite", true)) });
  assert.match(set.text, /coalesce\(json_agg\(_t\), '\[\]'::json\)::text AS body/);
  assert.match(set.text, /FROM "public"."f"\("a" := \$1::text::integer\) AS _t/);
  const scalar = buildRpc({ fn: fn("scalar", false), args: named(fn("scalar", false)) });
  assert.match(scalar.text, /json_agg\(_t.v\) -> 0/);
  assert.match(scalar.text, /AS _t\(v\)/);
  const none = buildRpc({ fn: fn("void", false), args: named(fn("void", false)) });
  assert.match(none.text, /SELECT NULL::text AS body/);
  const whole = buildRpc({
    fn: {
      ...fn("scalar", false),
      args: [{ name: "", type: "jsonb", isJson: true, isArray: false, hasDefault: false }],
    },
    args: { kind: "object", json: '{"x":1}' },
  });
  assert.match(whole.text, /"public"."f"\(\$1::text::jsonb\)/);
  const projected = buildRpc({
    fn: fn("composite", true),
    args: named(fn("composite", true)),
    projection: [{ column: "id" }, { column: "name", alias: "label" }],
  });
  assert.match(
    projected.text,
    /FROM \(SELECT "id", "name" AS "label" FROM "public"."f"\(.*\) AS _r\) AS _t/,
  );
  assert.throws(() =>
    buildRpc({
      fn: fn("scalar", true),
      args: named(fn("scalar", true)),
      projection: [{ column: "id" }],
    })
  );
});

Deno.test("encodeValue: JSON for json columns, array literals for arrays, ISO dates", () => {
  assert.equal(encodeValue("x", { isJson: true, isArray: false }), '"x"');
  assert.equal(encodeValue({ a: [1] }, { isJson: true, isArray: false }), '{"a":[1]}');
  assert.equal(
    encodeValue(["a", null, 'b"c'], { isJson: false, isArray: true }),
    '{"a",NULL,"b\\"c"}',
  );
  assert.equal(
    encodeValue(new Date(Date.UTC(2026, 0, 2)), { isJson: false, isArray: false }),
    "2026-01-02T00:00:00.000Z",
  );
  assert.equal(encodeValue(new Uint8Array([1, 255]), { isJson: false, isArray: false }), "\\x01ff");
  assert.equal(encodeValue(null, { isJson: true, isArray: false }), null);
  assert.equal(encodeValue(false, { isJson: false, isArray: false }), "false");
  assert.throws(() => encodeValue(new Date("nope"), { isJson: false, isArray: false }));
});

Deno.test("array literals round-trip any strings through PostgreSQL", async () => {
  const db = await freshPglite();
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.option(fc.string({ unit: "binary" }).map((s) => s.replaceAll("\0", "")), {
            nil: null,
          }),
          {
            maxLength: 6,
          },
        ),
        fc.array(fc.array(fc.integer(), { minLength: 2, maxLength: 2 }), {
          minLength: 1,
          maxLength: 3,
        }),
        async (strings, matrix) => {
          const { rows } = await db.query<{ s: (string | null)[]; m: number[][] }>(
            "SELECT $1::text::text[] AS s, $2::text::int[] AS m",
            [pgArrayLiteral(strings), pgArrayLiteral(matrix)],
          );
          assert.deepEqual(rows[0]?.s, strings);
          assert.deepEqual(rows[0]?.m, matrix);
        },
      ),
      { numRuns: 150 },
    );
  } finally {
    await db.close();
  }
});
