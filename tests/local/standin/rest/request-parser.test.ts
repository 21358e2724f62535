import assert from "node:assert/strict";
import { PgrstError } from "../../../../local/standin/rest/errors.ts";
import {
  parseAccept,
  parseFilter,
  parseLogicTree,
  parseNameList,
  parseNonNegativeInteger,
  parseOrder,
  parsePrefer,
  parseSelect,
  requestedRange,
  splitTopLevel,
  unquote,
} from "../../../../local/standin/rest/request-parser.ts";

function rejects(fn: () => unknown, status: number, code: string) {
  assert.throws(fn, (e) => e instanceof PgrstError && e.status === status && e.code === code);
}

Deno.test("filters: operators, not., values kept verbatim outside logic trees", () => {
  assert.deepEqual(parseFilter("name", "eq.a.b,c"), {
    kind: "compare",
    column: "name",
    op: "eq",
    value: "a.b,c",
    negate: false,
  });
  assert.deepEqual(parseFilter("qty", "not.gte.5"), {
    kind: "compare",
    column: "qty",
    op: "gte",
    value: "5",
    negate: true,
  });
  assert.deepEqual(parseFilter("sku", 'in.(a,"b,c","d \\"e\\"",)'), {
    kind: "in",
    column: "sku",
    values: ["a", "b,c", 'd "e"', ""],
    negate: false,
  });
  assert.deepEqual(parseFilter("sku", "in.()"), {
    kind: "in",
    column: "sku",
    values: [],
    negate: false,
  });
  assert.deepEqual(parseFilter("flag", "is.NULL"), {
    kind: "is",
    column: "flag",
    value: "null",
    negate: false,
  });
  assert.equal((parseFilter("tags", "cs.{a,b}") as { op: string }).op, "cs");
  rejects(() => parseFilter("x", "between.1.2"), 400, "PGRST100");
  rejects(() => parseFilter("x", "eq"), 400, "PGRST100");
  rejects(() => parseFilter("x", "is.maybe"), 400, "PGRST100");
  rejects(() => parseFilter("x", "in.a,b"), 400, "PGRST100");
});

Deno.test("logic trees nest, negate and unquote their values", () => {
  assert.deepEqual(
    parseLogicTree("or", '(qty.gt.3,and(name.eq."a,b",tags.not.cs.{x}),not.or(id.eq.1))'),
    {
      kind: "or",
      negate: false,
      conditions: [
        { kind: "compare", column: "qty", op: "gt", value: "3", negate: false },
        {
          kind: "and",
          negate: false,
          conditions: [
            { kind: "compare", column: "name", op: "eq", value: "a,b", negate: false },
            { kind: "compare", column: "tags", op: "cs", value: "{x}", negate: true },
          ],
        },
        {
          kind: "or",
          negate: true,
          conditions: [{ kind: "compare", column: "id", op: "eq", value: "1", negate: false }],
        },
      ],
    },
  );
  rejects(() => parseLogicTree("or", "qty.gt.3"), 400, "PGRST100");
  rejects(() => parseLogicTree("or", "(qty)"), 400, "PGRST100");
  assert.deepEqual(splitTopLevel('a,"b,(c",d(e,f),g'), ["a", '"b,(c"', "d(e,f)", "g"]);
  assert.equal(unquote('"x\\\\y"'), "x\\y");
});

Deno.test("select, order, names and integers", () => {
  assert.equal(parseSelect(null, "t"), "*");
  assert.equal(parseSelect("*", "t"), "*");
  assert.deepEqual(parseSelect('id,label:name,"odd",*', "t"), [
    { column: "id" },
    { alias: "label", column: "name" },
    { column: "odd" },
    { column: "*" },
  ]);
  rejects(() => parseSelect("id,owner:users(name)", "t"), 400, "PGRST200");
  rejects(() => parseSelect("id::text", "t"), 400, "PGRST100");
  rejects(() => parseSelect("meta->a", "t"), 400, "PGRST100");
  assert.deepEqual(parseOrder("a.desc.nullslast,b,c.asc.nullsfirst"), [
    { column: "a", direction: "desc", nulls: "last" },
    { column: "b", direction: "asc" },
    { column: "c", direction: "asc", nulls: "first" },
  ]);
  rejects(() => parseOrder("a.sideways"), 400, "PGRST100");
  rejects(() => parseOrder("rel(a).desc"), 400, "PGRST100");
  assert.deepEqual(parseNameList('"a","b c", d'), ["a", "b c", "d"]);
  assert.equal(parseNonNegativeInteger("limit", "10"), 10);
  assert.equal(parseNonNegativeInteger("limit", null), undefined);
  rejects(() => parseNonNegativeInteger("limit", "-1"), 400, "PGRST100");
  rejects(() => parseNonNegativeInteger("limit", "1e3"), 400, "PGRST100");
});

Deno.test("ranges: Range header intersected with offset/limit, capped by max rows", () => {
  assert.deepEqual(requestedRange(null, undefined, undefined, undefined), {
    lower: 0,
    upper: Infinity,
  });
  assert.deepEqual(requestedRange("5-9", undefined, undefined, undefined), { lower: 5, upper: 9 });
  assert.deepEqual(requestedRange("5-", undefined, undefined, undefined), {
    lower: 5,
    upper: Infinity,
  });
  assert.deepEqual(requestedRange("0-99", 10, 5, undefined), { lower: 10, upper: 14 });
  assert.deepEqual(requestedRange(null, 2, 0, undefined), { lower: 2, upper: 1 });
  assert.deepEqual(requestedRange(null, 0, undefined, 1000), { lower: 0, upper: 999 });
  assert.deepEqual(requestedRange("junk", 3, undefined, undefined), { lower: 3, upper: Infinity });
});

Deno.test("Prefer and Accept", () => {
  assert.deepEqual(
    parsePrefer("return=representation, count=exact,resolution=merge-duplicates,missing=default"),
    {
      returnRepresentation: true,
      count: true,
      resolution: "merge",
      missingDefault: true,
      rollback: false,
      maxAffected: undefined,
    },
  );
  const other = parsePrefer(
    "resolution=ignore-duplicates,tx=rollback,handling=strict,max-affected=3",
  );
  assert.equal(other.resolution, "ignore");
  assert.equal(other.rollback, true);
  assert.equal(other.maxAffected, 3);
  assert.equal(parsePrefer("max-affected=3").maxAffected, undefined, "only with handling=strict");
  assert.equal(parsePrefer(null).returnRepresentation, false);
  assert.deepEqual(parseAccept(null), { shape: "array", stripNulls: false });
  assert.deepEqual(parseAccept("application/vnd.pgrst.object+json"), {
    shape: "object",
    stripNulls: false,
  });
  assert.deepEqual(parseAccept("application/vnd.pgrst.array+json;nulls=stripped"), {
    shape: "array",
    stripNulls: true,
  });
  assert.deepEqual(parseAccept("text/html, */*;q=0.8"), { shape: "array", stripNulls: false });
  rejects(() => parseAccept("text/csv"), 406, "PGRST107");
});
