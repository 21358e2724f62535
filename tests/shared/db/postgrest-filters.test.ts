import assert from "node:assert/strict";
import { applyWhere, type Filterable } from "../../../shared/db/postgrest-filters.ts";
import { AppError } from "../../../shared/result.ts";

/** Collects filters the way postgrest-js appends them to the query string. */
class QueryString implements Filterable<QueryString> {
  readonly params = new URLSearchParams();
  filter(column: string, operator: string, value: unknown): QueryString {
    this.params.append(column, `${operator}.${value}`);
    return this;
  }
}

Deno.test("Where objects become PostgREST filters with the SQL providers' meaning", () => {
  const query = applyWhere(new QueryString(), "t", {
    name: 'a "b", (c)',
    gone: null,
    at: { gte: new Date(Date.UTC(2026, 0, 1)) as unknown as string, neq: null },
    id: { in: ["x,y", 'q"', null], eq: null },
    tags: { contains: ["a,b", "c"] },
    ok: { is: true },
    title: { ilike: "*x*" },
  });
  assert.deepEqual([...query.params], [
    ["name", 'eq.a "b", (c)'],
    ["gone", "is.null"],
    ["at", "gte.2026-01-01T00:00:00.000Z"],
    ["at", "not.is.null"],
    ["id", 'in.("x,y","q\\"")'],
    ["id", "is.null"],
    ["tags", 'cs.{"a,b","c"}'],
    ["ok", "is.true"],
    ["title", "ilike.*x*"],
  ]);
});

Deno.test("bad columns and operators are refused before building a request", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ 'a"; --': 1 }, /unknown column/],
    [{ id: {} }, /no operator/],
    [{ id: { between: 1 } }, /unknown operator/],
    [{ id: { in: "x" } }, /takes an array/],
    [{ id: { gt: null } }, /cannot compare with null/],
    [{ id: { is: "maybe" } }, /`is` takes/],
    [{ id: { like: 1 } }, /string pattern/],
    [{ id: { contains: "x" } }, /takes an array/],
  ];
  for (const [where, message] of cases) {
    assert.throws(
      () => applyWhere(new QueryString(), "t", where as never),
      (e) => e instanceof AppError && e.code === "validation_failed" && message.test(e.message),
    );
  }
});
