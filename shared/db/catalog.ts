/**
 * What the database says exists: tables/views with their columns and primary key, and functions
 * with their arguments. Every table, column and function name that reaches SQL is first looked up
 * here, so an unknown name becomes a clear validation error instead of a raw SQL error.
 *
 * Lookups are lazy and cached per object. A miss (unknown table, or a column the cached entry
 * lacks) re-reads just that object once, so tables created or altered after start-up are seen
 * without a reload signal; negative answers are never cached.
 */
import { AppError } from "../result.ts";
import { isIdentifier } from "./identifiers.ts";
import type { SqlClient } from "./sql-client.ts";

export interface ColumnInfo {
  readonly name: string;
  /** SQL type as `format_type` prints it, without typmod (safe to splice after `::`). */
  readonly type: string;
  readonly isArray: boolean;
  readonly isJson: boolean;
  /** String category (text, varchar, char, citext...): compared without casts. */
  readonly isString: boolean;
  readonly hasDefault: boolean;
  readonly generated: boolean;
}

export interface TableInfo {
  readonly schema: string;
  readonly name: string;
  /** `"schema"."name"`, ready for SQL. */
  readonly sqlName: string;
  readonly kind: "table" | "view";
  readonly columns: ReadonlyMap<string, ColumnInfo>;
  readonly primaryKey: readonly string[];
}

export interface FunctionArgument {
  readonly name: string;
  readonly type: string;
  readonly isJson: boolean;
  readonly isArray: boolean;
  readonly hasDefault: boolean;
}

export interface FunctionInfo {
  readonly schema: string;
  readonly name: string;
  readonly sqlName: string;
  /** Input arguments in declaration order. */
  readonly args: readonly FunctionArgument[];
  readonly returnsSet: boolean;
  /** void: no result; composite: rows (table type, RETURNS TABLE, OUT params); scalar: values. */
  readonly returns: "void" | "scalar" | "composite";
}

/** Schemas that are never reachable by name through the data layer. */
const SYSTEM_SCHEMAS = new Set(["pg_catalog", "information_schema", "pg_toast"]);

const TABLE_QUERY = `
SELECT c.oid::int8 AS oid,
       c.relkind::text AS kind,
       coalesce((
         SELECT json_agg(json_build_object(
                  'name', a.attname,
                  'type', format_type(a.atttypid, NULL),
                  'category', coalesce(bt.typcategory, t.typcategory)::text,
                  'base', coalesce(bt.typname, t.typname)::text,
                  'hasDefault', a.atthasdef OR a.attidentity <> '',
                  'generated', a.attgenerated <> '') ORDER BY a.attnum)
           FROM pg_catalog.pg_attribute a
           JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
           LEFT JOIN pg_catalog.pg_type bt ON bt.oid = nullif(t.typbasetype, 0)
          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]')::text AS columns,
       coalesce((
         SELECT json_agg(a.attname ORDER BY k.ord)
           FROM pg_catalog.pg_index i
           CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
          WHERE i.indrelid = c.oid AND i.indisprimary), '[]')::text AS primary_key
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`;

const FUNCTION_QUERY = `
SELECT p.proretset AS returns_set,
       CASE WHEN p.prorettype = 'pg_catalog.void'::regtype THEN 'void'
            WHEN rt.typtype = 'c' OR p.prorettype = 'pg_catalog.record'::regtype THEN 'composite'
            ELSE 'scalar' END AS returns,
       p.pronargdefaults::int AS n_defaults,
       coalesce((
         SELECT json_agg(json_build_object(
                  'name', coalesce(a.name, ''),
                  'type', format_type(a.type, NULL),
                  'category', at.typcategory::text,
                  'base', at.typname::text) ORDER BY a.ord)
           FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]),
                       coalesce(p.proargmodes, array_fill('i'::"char", ARRAY[p.pronargs::int])),
                       p.proargnames) WITH ORDINALITY AS a(type, mode, name, ord)
           JOIN pg_catalog.pg_type at ON at.oid = a.type
          WHERE a.mode IN ('i', 'b', 'v')), '[]')::text AS args
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_catalog.pg_type rt ON rt.oid = p.prorettype
 WHERE n.nspname = $1 AND p.proname = $2 AND p.prokind = 'f'`;

interface RawColumn {
  name: string;
  type: string;
  category: string;
  base: string;
  hasDefault: boolean;
  generated: boolean;
}

interface RawArgument {
  name: string;
  type: string;
  category: string;
  base: string;
}

const JSON_TYPES = new Set(["json", "jsonb"]);

function sqlName(schema: string, name: string): string {
  return `"${schema}"."${name}"`;
}

/** Splits `name` or `schema.name`, rejecting anything that is not a plain identifier. */
export function parseQualifiedName(
  qualified: string,
  defaultSchema: string,
): { schema: string; name: string } {
  const parts = qualified.split(".");
  const [first, second] = parts;
  const schema = parts.length === 2 ? first! : defaultSchema;
  const name = parts.length === 2 ? second! : first!;
  if (parts.length > 2 || !isIdentifier(schema) || !isIdentifier(name)) {
    throw new AppError(
      "validation_failed",
      `invalid SQL identifier: ${JSON.stringify(qualified)}`,
      {
        identifier: qualified,
      },
    );
  }
  if (SYSTEM_SCHEMAS.has(schema)) {
    throw new AppError("validation_failed", `schema "${schema}" is not accessible`, { schema });
  }
  return { schema, name };
}

export class SchemaCatalog {
  readonly #tables = new Map<string, TableInfo>();
  readonly #functions = new Map<string, readonly FunctionInfo[]>();

  /** Forgets cached objects (all, or one `schema.name`), e.g. after a migration. */
  invalidate(key?: string): void {
    if (key === undefined) {
      this.#tables.clear();
      this.#functions.clear();
    } else {
      this.#tables.delete(key);
      this.#functions.delete(key);
    }
  }

  /**
   * The table or view `schema.name`, or undefined when it does not exist. `db` is the client the
   * caller is using, so a lookup inside a transaction runs inside it (PGlite has one connection).
   */
  async table(db: SqlClient, schema: string, name: string): Promise<TableInfo | undefined> {
    // Names that are not plain identifiers are never looked up: they could not be quoted safely.
    if (!isIdentifier(schema) || !isIdentifier(name) || SYSTEM_SCHEMAS.has(schema)) {
      return undefined;
    }
    const key = `${schema}.${name}`;
    const cached = this.#tables.get(key);
    if (cached) return cached;
    const loaded = await this.#loadTable(db, schema, name);
    if (loaded) this.#tables.set(key, loaded);
    return loaded;
  }

  /**
   * The names in `columns` the table lacks. A miss re-reads the table once, so a column added
   * after the table was cached is found.
   */
  async missingColumns(
    db: SqlClient,
    table: TableInfo,
    columns: Iterable<string>,
  ): Promise<{ table: TableInfo; missing: string[] }> {
    const wanted = [...new Set(columns)];
    let missing = wanted.filter((column) => !table.columns.has(column));
    if (missing.length === 0) return { table, missing };
    const reloaded = await this.#loadTable(db, table.schema, table.name);
    const key = `${table.schema}.${table.name}`;
    if (!reloaded) {
      this.#tables.delete(key);
      return { table, missing };
    }
    this.#tables.set(key, reloaded);
    missing = wanted.filter((column) => !reloaded.columns.has(column));
    return { table: reloaded, missing };
  }

  /** Every overload of `schema.name` (empty when none). A miss is re-read, never cached. */
  async functions(db: SqlClient, schema: string, name: string): Promise<readonly FunctionInfo[]> {
    if (!isIdentifier(schema) || !isIdentifier(name) || SYSTEM_SCHEMAS.has(schema)) return [];
    const key = `${schema}.${name}`;
    const cached = this.#functions.get(key);
    if (cached) return cached;
    const loaded = await this.#loadFunctions(db, schema, name);
    if (loaded.length > 0) this.#functions.set(key, loaded);
    return loaded;
  }

  async #loadTable(db: SqlClient, schema: string, name: string): Promise<TableInfo | undefined> {
    const { rows } = await db.query<{ kind: string; columns: string; primary_key: string }>(
      TABLE_QUERY,
      [schema, name],
    );
    const row = rows[0];
    if (!row) return undefined;
    const columns = new Map<string, ColumnInfo>();
    for (const raw of JSON.parse(row.columns) as RawColumn[]) {
      columns.set(raw.name, {
        name: raw.name,
        type: raw.type,
        isArray: raw.category === "A",
        isJson: JSON_TYPES.has(raw.base),
        isString: raw.category === "S",
        hasDefault: raw.hasDefault,
        generated: raw.generated,
      });
    }
    return {
      schema,
      name,
      sqlName: sqlName(schema, name),
      kind: row.kind === "r" || row.kind === "p" || row.kind === "f" ? "table" : "view",
      columns,
      primaryKey: JSON.parse(row.primary_key) as string[],
    };
  }

  async #loadFunctions(db: SqlClient, schema: string, name: string): Promise<FunctionInfo[]> {
    const { rows } = await db.query<{
      returns_set: boolean;
      returns: FunctionInfo["returns"];
      n_defaults: number;
      args: string;
    }>(FUNCTION_QUERY, [schema, name]);
    return rows.map((row) => {
      const raw = JSON.parse(row.args) as RawArgument[];
      const firstDefault = raw.length - row.n_defaults;
      return {
        schema,
        name,
        sqlName: sqlName(schema, name),
        returnsSet: row.returns_set,
        returns: row.returns,
        args: raw.map((arg, index) => ({
          name: arg.name,
          type: arg.type,
          isJson: JSON_TYPES.has(arg.base),
          isArray: arg.category === "A",
          hasDefault: index >= firstDefault,
        })),
      };
    });
  }
}

/**
 * The overload of a function callable with exactly these named arguments: every given name is a
 * parameter, every parameter without a default is given. Unnamed parameters cannot be called by
 * name, except a single unnamed json/jsonb parameter, which receives the whole argument object
 * (PostgREST's convention).
 */
export function selectOverload(
  overloads: readonly FunctionInfo[],
  argNames: readonly string[],
): { fn: FunctionInfo; wholeObjectArg: boolean } | undefined {
  const given = new Set(argNames);
  for (const fn of overloads) {
    const names = new Set(fn.args.map((arg) => arg.name));
    const accepts = [...given].every((name) => names.has(name));
    const complete = fn.args.every((arg) => arg.hasDefault || given.has(arg.name));
    if (accepts && complete && fn.args.every((arg) => arg.name !== "")) {
      return { fn, wholeObjectArg: false };
    }
  }
  for (const fn of overloads) {
    const [only] = fn.args;
    if (fn.args.length === 1 && only && only.name === "" && only.isJson) {
      return { fn, wholeObjectArg: true };
    }
  }
  return undefined;
}
