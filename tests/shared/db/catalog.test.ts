import assert from "node:assert/strict";
import { parseQualifiedName, SchemaCatalog, selectOverload } from "../../../shared/db/catalog.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { AppError } from "../../../shared/result.ts";
import { freshPglite } from "../../helpers/db.ts";

/** The real client, counting the statements that reach it. */
function counting(db: SqlClient): SqlClient & { queries: number } {
  const counted = {
    queries: 0,
    dialect: db.dialect,
    query: (text: string, params?: readonly unknown[]) => {
      counted.queries++;
      return db.query(text, params);
    },
    exec: (script: string) => db.exec(script),
    transaction: <T>(fn: (tx: SqlClient) => Promise<T>) => db.transaction(fn),
    close: () => db.close(),
  };
  return counted as SqlClient & { queries: number };
}

Deno.test("SchemaCatalog", async (t) => {
  const pglite = await freshPglite();
  const db = counting(pglite);
  await db.exec(`
    CREATE SCHEMA app;
    CREATE DOMAIN app.email AS text CHECK (VALUE LIKE '%@%');
    CREATE TABLE app.people (
      org int, id bigint GENERATED ALWAYS AS IDENTITY, email app.email, name varchar(40),
      tags text[], meta jsonb, doubled int GENERATED ALWAYS AS (org * 2) STORED,
      PRIMARY KEY (org, id));
    CREATE VIEW app.people_names AS SELECT id, name FROM app.people;
    CREATE FUNCTION app.greet(who text, punct text DEFAULT '!') RETURNS text LANGUAGE sql AS $$ SELECT 'hi ' || who || punct $$;
    CREATE FUNCTION app.greet(n int) RETURNS SETOF text LANGUAGE sql AS $$ SELECT 'hi' FROM generate_series(1, n) $$;
    CREATE FUNCTION app.echo(jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT $1 $$;
    CREATE FUNCTION app.pairs(OUT a int, OUT b int) RETURNS SETOF record LANGUAGE sql AS $$ SELECT 1, 2 $$;
    CREATE FUNCTION app.nothing() RETURNS void LANGUAGE sql AS $$ $$;`);
  const catalog = new SchemaCatalog();
  try {
    await t.step("describes tables: types without typmod, categories, defaults, keys", async () => {
      const people = await catalog.table(db, "app", "people");
      assert.ok(people);
      assert.equal(people.sqlName, '"app"."people"');
      assert.equal(people.kind, "table");
      assert.deepEqual(people.primaryKey, ["org", "id"]);
      const col = (name: string) => people.columns.get(name)!;
      assert.equal(col("name").type, "character varying");
      assert.equal(col("name").isString, true);
      assert.equal(col("email").type, "app.email");
      assert.equal(col("email").isString, true, "a domain takes its base type's category");
      assert.equal(col("tags").isArray, true);
      assert.equal(col("meta").isJson, true);
      assert.equal(col("id").hasDefault, true);
      assert.equal(col("doubled").generated, true);
      const view = await catalog.table(db, "app", "people_names");
      assert.equal(view?.kind, "view");
      assert.deepEqual(view?.primaryKey, []);
    });

    await t.step(
      "caches hits, never caches misses, re-reads a table for a new column",
      async () => {
        const before = db.queries;
        await catalog.table(db, "app", "people");
        assert.equal(db.queries, before, "a cached table costs no query");
        assert.equal(await catalog.table(db, "app", "later"), undefined);
        await db.exec("CREATE TABLE app.later (id int)");
        assert.ok(await catalog.table(db, "app", "later"), "a miss is looked up again");
        const later = (await catalog.table(db, "app", "later"))!;
        await db.exec("ALTER TABLE app.later ADD COLUMN note text");
        const { table, missing } = await catalog.missingColumns(db, later, ["id", "note", "ghost"]);
        assert.deepEqual(missing, ["ghost"]);
        assert.ok(table.columns.has("note"));
        assert.ok(
          (await catalog.table(db, "app", "later"))!.columns.has("note"),
          "the re-read is cached",
        );
        catalog.invalidate("app.later");
        const queries = db.queries;
        await catalog.table(db, "app", "later");
        assert.equal(db.queries, queries + 1);
      },
    );

    await t.step(
      "never looks up names that are not plain identifiers or are system schemas",
      async () => {
        const before = db.queries;
        assert.equal(await catalog.table(db, "app", 'people"; --'), undefined);
        assert.equal(await catalog.table(db, "pg_catalog", "pg_authid"), undefined);
        assert.deepEqual(await catalog.functions(db, "app", "greet(1)"), []);
        assert.equal(db.queries, before);
      },
    );

    await t.step("describes function overloads and picks one by argument names", async () => {
      const greet = await catalog.functions(db, "app", "greet");
      assert.equal(greet.length, 2);
      const named = selectOverload(greet, ["who"]);
      assert.deepEqual(named?.fn.args.map((a) => [a.name, a.type, a.hasDefault]), [
        ["who", "text", false],
        ["punct", "text", true],
      ]);
      assert.equal(named?.fn.returns, "scalar");
      assert.equal(selectOverload(greet, ["n"])?.fn.returnsSet, true);
      assert.equal(selectOverload(greet, ["punct"]), undefined, "a required argument is missing");
      assert.equal(selectOverload(greet, ["who", "extra"]), undefined);
      const echo = selectOverload(await catalog.functions(db, "app", "echo"), ["any", "keys"]);
      assert.equal(echo?.wholeObjectArg, true);
      const pairs = await catalog.functions(db, "app", "pairs");
      assert.equal(pairs[0]?.returns, "composite");
      assert.deepEqual(pairs[0]?.args, [], "OUT parameters are not inputs");
      assert.equal((await catalog.functions(db, "app", "nothing"))[0]?.returns, "void");
      assert.deepEqual(await catalog.functions(db, "app", "missing"), []);
    });
  } finally {
    await pglite.close();
  }
});

Deno.test("parseQualifiedName accepts name and schema.name, nothing else", () => {
  assert.deepEqual(parseQualifiedName("items", "public"), { schema: "public", name: "items" });
  assert.deepEqual(parseQualifiedName("auth.users", "public"), { schema: "auth", name: "users" });
  for (
    const bad of [
      "",
      "a.b.c",
      'x"y',
      "items; drop",
      "1abc",
      "pg_catalog.pg_authid",
      "information_schema.tables",
    ]
  ) {
    assert.throws(
      () => parseQualifiedName(bad, "public"),
      (e) => e instanceof AppError && e.code === "validation_failed",
      bad,
    );
  }
});
