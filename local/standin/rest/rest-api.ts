/**
 * The local PostgREST stand-in: the subset of PostgREST's HTTP API that supabase-js v2 uses, served
 * by Hono over any SqlClient (PGlite by default, PostgreSQL 15 in CI). Development and test only;
 * with SUPABASE_URL pointing at a real project it is never used.
 *
 * Every request is authenticated like Supabase's gateway does it (auth.ts), then runs in one
 * transaction as the request's role (`set_config('role', ...)`, as PostgREST does) with its JWT
 * claims in `request.jwt.claims`, so grants, RLS policies and auth.uid() behave as on Supabase and
 * `service_role` bypasses RLS. GET/HEAD run read-only. Table, column and function names are
 * checked against the catalog before any SQL; every value is a bound parameter.
 */
import { HOSTED_DB_MAX_ROWS, type StandinProfile } from "../profile.ts";
import { type Context, Hono } from "hono";
import { cors } from "hono/cors";
import { SchemaCatalog } from "../../../shared/db/catalog.ts";
import { pgErrorFields } from "../../../shared/db/database-errors.ts";
import type { ResultRow } from "../../../shared/db/query-builder.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { AppError } from "../../../shared/result.ts";
import type { StandinKeys } from "../keys.ts";
import { authenticate, type AuthOptions } from "./auth.ts";
import { pgrst, PgrstError, pgrstErrorFromDatabase } from "./errors.ts";
import { parseAccept, parsePrefer } from "./request-parser.ts";
import { JSON_TYPE } from "./responses.ts";
import type { RestRequest } from "./rest-request.ts";
import { callFunction } from "./rpc-handler.ts";
import { deleteRows, insertRows, readRows, updateRows } from "./table-handlers.ts";

export interface RestApiOptions {
  /** The database; PGlite serialises the per-request transactions, which is fine locally. */
  readonly sql: SqlClient;
  /** Verifies the apikey and bearer tokens (the stand-in's JWT secret). */
  readonly jwtSecret: string;
  /**
   * The project's keys. On the `hosted` profile they make REST behave as a project on signing
   * keys: bearer tokens verified against the project JWKS (GoTrue's ES256 key, imported keys)
   * plus the legacy secret, and sb_publishable_/sb_secret_ API keys accepted (./auth.ts).
   * Ignored on `lenient` (a legacy-key project: HS256 with jwtSecret only).
   */
  readonly keys?: StandinKeys;
  /** Mount prefix (default `/rest/v1`, as on Supabase); `""` serves at the root. */
  readonly basePath?: string;
  /** Exposed schemas; the first is the default (default `["public"]`). */
  readonly schemas?: readonly string[];
  /** Roles a token may name (default anon, authenticated, service_role). */
  readonly roles?: readonly string[];
  /** Role of a token without a `role` claim (default `anon`). */
  readonly anonRole?: string;
  /**
   * PostgREST's `db-max-rows` (src/library/PostgREST/Config.hs configDbMaxRows, applied by
   * Plan.hs treeRestrictRange). Default: 1000 on the `hosted` profile (Supabase's "Max rows"
   * default), unlimited on `lenient`.
   */
  readonly maxRows?: number;
  /** `hosted` or `lenient` (local/standin/profile.ts). Default `lenient`. */
  readonly profile?: StandinProfile;
  /** Shared name cache (e.g. with a SqlDatabaseService on the same database). */
  readonly catalog?: SchemaCatalog;
  /** Largest accepted request body (default 10 MiB). */
  readonly maxBodyBytes?: number;
}

/**
 * Request context as PostgREST sets it, in one round trip; GET/HEAD also become read-only
 * transactions (turning read-only off is a no-op in a fresh read-write transaction).
 */
const SET_CONTEXT = "SELECT set_config('role', $1, true), " +
  "set_config('request.jwt.claims', $2, true), set_config('request.method', $3, true), " +
  "set_config('request.path', $4, true), set_config('transaction_read_only', $5, true)";

/** Carries a response out of the transaction callback when it must be rolled back anyway. */
class RollbackWith {
  constructor(readonly response: Response) {}
}

const CORS = cors({
  origin: "*",
  allowMethods: ["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"],
  allowHeaders: [
    "apikey",
    "authorization",
    "content-type",
    "accept",
    "accept-profile",
    "content-profile",
    "prefer",
    "range",
    "range-unit",
    "x-client-info",
    "x-retry-count",
  ],
  exposeHeaders: ["Content-Range", "Content-Location", "Location", "Range-Unit"],
});

/** The REST API as a Hono app, mounted at `basePath` (default `/rest/v1`). */
export function createRestApi(options: RestApiOptions): Hono {
  const { sql } = options;
  const maxRows = options.maxRows ??
    (options.profile === "hosted" ? HOSTED_DB_MAX_ROWS : undefined);
  const catalog = options.catalog ?? new SchemaCatalog();
  const schemas = options.schemas ?? ["public"];
  const authOptions: AuthOptions = {
    jwtSecret: options.jwtSecret,
    roles: new Set(options.roles ?? ["anon", "authenticated", "service_role"]),
    anonRole: options.anonRole ?? "anon",
    ...(options.profile === "hosted" && options.keys ? { keys: options.keys } : {}),
  };
  const maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024;
  const basePath = options.basePath ?? "/rest/v1";
  const app = basePath === "" ? new Hono() : new Hono().basePath(basePath);
  app.use("*", CORS);

  async function readJson(c: Context): Promise<unknown> {
    const type = c.req.header("content-type");
    if (type && !/^application\/json\b/i.test(type) && !/\+json\b/i.test(type)) {
      throw new PgrstError(415, "PGRST107", `None of these media types are available: ${type}`);
    }
    // Checked by hand: Hono's bodyLimit re-creates the Request, which trips a Deno.serve warning.
    const tooLarge = () =>
      new PgrstError(413, "PGRST102", `Payload too large (limit ${maxBodyBytes} bytes)`);
    if (Number(c.req.header("content-length") ?? "0") > maxBodyBytes) throw tooLarge();
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.length > maxBodyBytes) throw tooLarge();
    const text = new TextDecoder().decode(bytes);
    if (text.trim() === "") return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw pgrst.invalidBody();
    }
  }

  async function restRequest(c: Context): Promise<RestRequest> {
    const identity = await authenticate(c.req.raw, authOptions);
    const method = c.req.method;
    const reading = method === "GET" || method === "HEAD";
    const schema = c.req.header(reading ? "accept-profile" : "content-profile") ?? schemas[0]!;
    if (!schemas.includes(schema)) throw pgrst.schemaNotExposed(schemas);
    const url = new URL(c.req.url);
    const prefer = parsePrefer(c.req.header("prefer") ?? null);
    return {
      identity,
      schema,
      url,
      method,
      prefer,
      accept: parseAccept(c.req.header("accept") ?? null),
      rangeHeader: reading ? c.req.header("range") ?? null : null,
      maxRows,
      json: () => readJson(c),
      async table(name) {
        const table = await catalog.table(sql, schema, name);
        if (!table) throw pgrst.tableNotFound(schema, name);
        return table;
      },
      async knownColumns(table, names, report) {
        const wanted = [...names].filter((name) => name !== "*");
        const { table: current, missing } = await catalog.missingColumns(sql, table, wanted);
        if (missing[0] !== undefined) throw report(table.name, missing[0]);
        return current;
      },
      functions: (name) => catalog.functions(sql, schema, name),
      async transaction(readOnly, work) {
        try {
          return await sql.transaction(async (tx) => {
            await tx.query(SET_CONTEXT, [
              identity.role,
              JSON.stringify(identity.claims),
              method,
              url.pathname,
              readOnly ? "on" : "off",
            ]);
            const response = await work(async (query) => {
              const { rows } = await tx.query<ResultRow>(query.text, query.params);
              return rows[0] ?? { body: null, page_count: 0 };
            });
            if (prefer.rollback) throw new RollbackWith(response);
            return response;
          });
        } catch (error) {
          if (error instanceof RollbackWith) return error.response;
          throw error;
        }
      },
    };
  }

  function errorResponse(error: unknown, anonymous: boolean): Response {
    let failure: PgrstError | undefined;
    if (error instanceof PgrstError) failure = error;
    else if (error instanceof AppError && error.code === "validation_failed") {
      failure = new PgrstError(400, "PGRST100", error.message);
    } else {
      failure = pgrstErrorFromDatabase(error, anonymous);
      const sqlstate = pgErrorFields(error)?.code;
      // The schema changed under the cache (dropped table or column): forget it.
      if (sqlstate === "42P01" || sqlstate === "42703" || sqlstate === "42883") {
        catalog.invalidate();
      }
    }
    if (!failure) {
      console.error(JSON.stringify({
        level: "error",
        msg: "rest stand-in: unexpected error",
        error: error instanceof Error ? error.message : String(error),
      }));
      failure = new PgrstError(500, "PGRST000", "Internal server error");
    }
    return new Response(JSON.stringify(failure.body), {
      status: failure.status,
      headers: { "Content-Type": JSON_TYPE, ...failure.headers },
    });
  }

  function handle(handler: (req: RestRequest, name: string) => Promise<Response>) {
    return async (c: Context) => {
      let req: RestRequest | undefined;
      try {
        req = await restRequest(c);
        return await handler(req, c.req.param("name")!);
      } catch (error) {
        return errorResponse(error, req?.identity.role === authOptions.anonRole);
      }
    };
  }

  app.on(["GET", "POST"], "/rpc/:name", handle(callFunction));
  app.get("/:name", handle(readRows));
  app.post("/:name", handle(insertRows));
  app.patch("/:name", handle(updateRows));
  app.delete("/:name", handle(deleteRows));
  app.notFound(() =>
    new Response(
      JSON.stringify({
        code: "PGRST125",
        details: null,
        hint: null,
        message: "Invalid path specified in request URL",
      }),
      { status: 404, headers: { "Content-Type": JSON_TYPE } },
    )
  );
  return app;
}
