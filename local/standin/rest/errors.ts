/**
 * PostgREST-shaped errors: `{code, message, details, hint}` with PostgREST's HTTP status for each
 * SQLSTATE (docs.postgrest.org "Errors") and its own PGRSTxxx codes for request and schema-cache
 * errors, so supabase-js sees exactly what it would see from Supabase.
 */
import { pgErrorFields } from "../../../shared/db/database-errors.ts";

export interface PgrstErrorBody {
  readonly code: string;
  readonly message: string;
  readonly details: string | null;
  readonly hint: string | null;
}

export class PgrstError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: string | null = null,
    readonly hint: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "PgrstError";
  }

  /** The JSON body. Gateway errors (bad API key) carry no code, as Supabase's gateway sends. */
  get body(): PgrstErrorBody | { readonly message: string; readonly hint: string | null } {
    if (this.code === "") return { message: this.message, hint: this.hint };
    return { code: this.code, details: this.details, hint: this.hint, message: this.message };
  }
}

/** PostgREST's SQLSTATE → HTTP status table; `anonymous` picks 401 over 403 for 42501. */
export function statusForSqlState(sqlstate: string, anonymous: boolean): number {
  const exact: Record<string, number> = {
    "23503": 409,
    "23505": 409,
    "25006": 405,
    "53400": 500,
    "P0001": 400,
    "42883": 404,
    "42P01": 404,
    "42P17": 500,
    "42501": anonymous ? 401 : 403,
  };
  if (sqlstate in exact) return exact[sqlstate]!;
  const byClass: [string, number][] = [
    ["08", 503],
    ["09", 500],
    ["0L", 403],
    ["0P", 403],
    ["25", 500],
    ["28", 403],
    ["2D", 500],
    ["38", 500],
    ["39", 500],
    ["3B", 500],
    ["40", 500],
    ["53", 503],
    ["54", 500],
    ["55", 500],
    ["57", 500],
    ["58", 500],
    ["F0", 500],
    ["HV", 500],
    ["P0", 500],
    ["XX", 500],
  ];
  return byClass.find(([prefix]) => sqlstate.startsWith(prefix))?.[1] ?? 400;
}

/** A PostgreSQL error as PostgREST forwards it (message, detail and hint verbatim). */
export function pgrstErrorFromDatabase(error: unknown, anonymous: boolean): PgrstError | undefined {
  const fields = pgErrorFields(error);
  if (!fields) return undefined;
  const raw = error as { detail?: unknown; hint?: unknown };
  return new PgrstError(
    statusForSqlState(fields.code, anonymous),
    fields.code,
    fields.message,
    typeof raw.detail === "string" ? raw.detail : null,
    typeof raw.hint === "string" ? raw.hint : null,
  );
}

export const pgrst = {
  parse: (what: string, details: string | null = null) =>
    new PgrstError(400, "PGRST100", `failed to parse ${what}`, details),
  invalidBody: (message = "Empty or invalid json") => new PgrstError(400, "PGRST102", message),
  rangeNotSatisfiable: (offset: number, total: number) =>
    new PgrstError(
      416,
      "PGRST103",
      "Requested range not satisfiable",
      `An offset of ${offset} was requested, but there are only ${total} rows.`,
    ),
  schemaNotExposed: (schemas: readonly string[]) =>
    new PgrstError(
      406,
      "PGRST106",
      `The schema must be one of the following: ${schemas.join(", ")}`,
    ),
  mediaType: (accept: string) =>
    new PgrstError(406, "PGRST107", `None of these media types are available: ${accept}`),
  singular: (rows: number) =>
    new PgrstError(
      406,
      "PGRST116",
      "Cannot coerce the result to a single JSON object",
      `The result contains ${rows} rows`,
    ),
  maxAffected: () =>
    new PgrstError(400, "PGRST124", "Query result exceeds max-affected preference constraint"),
  relationship: (table: string, embedded: string) =>
    new PgrstError(
      400,
      "PGRST200",
      `Could not find a relationship between '${table}' and '${embedded}' in the schema cache`,
      "Resource embedding is not supported by the local stand-in.",
    ),
  functionNotFound: (schema: string, name: string, args: readonly string[]) =>
    new PgrstError(
      404,
      "PGRST202",
      `Could not find the function ${schema}.${name}(${
        [...args].sort().join(", ")
      }) in the schema cache`,
      `Searched for the function ${schema}.${name}` +
        (args.length ? ` with parameters ${[...args].sort().join(", ")}` : " without parameters") +
        " or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.",
    ),
  columnNotFound: (table: string, column: string) =>
    new PgrstError(
      400,
      "PGRST204",
      `Could not find the '${column}' column of '${table}' in the schema cache`,
    ),
  tableNotFound: (schema: string, table: string) =>
    new PgrstError(
      404,
      "PGRST205",
      `Could not find the table '${schema}.${table}' in the schema cache`,
    ),
  /** An unknown column in select/filter/order: PostgreSQL's own 42703, as PostgREST forwards it. */
  undefinedColumn: (table: string, column: string) =>
    new PgrstError(400, "42703", `column ${table}.${column} does not exist`),
  /** Supabase runs PostgREST with pg-safeupdate: UPDATE/DELETE without a filter is refused. */
  unfilteredMutation: (verb: "UPDATE" | "DELETE") =>
    new PgrstError(400, "21000", `${verb} requires a WHERE clause`),
  noApiKey: () =>
    new PgrstError(
      401,
      "",
      "No API key found in request",
      null,
      "No `apikey` request header or url param was found.",
    ),
  invalidApiKey: () =>
    new PgrstError(401, "", "Invalid API key", null, "Double check the provided API key."),
  jwtInvalid: (expired: boolean) =>
    new PgrstError(
      401,
      expired ? "PGRST303" : "PGRST301",
      expired ? "JWT expired" : "JWSError JWSInvalidSignature",
      null,
      null,
      {
        "WWW-Authenticate": `Bearer error="invalid_token", error_description="${
          expired ? "JWT expired" : "JWSError JWSInvalidSignature"
        }"`,
      },
    ),
  /** PostgREST's JwtDecodeErr (Error.hs): 401 PGRST301 with WWW-Authenticate invalid_token. */
  jwtDecode: (message: string, details: string | null = null) =>
    new PgrstError(401, "PGRST301", message, details, null, {
      "WWW-Authenticate": `Bearer error="invalid_token", error_description=${
        JSON.stringify(message)
      }`,
    }),
  /** PostgREST's JwtClaimsErr (Error.hs): 401 PGRST303. */
  jwtClaims: (message: string) =>
    new PgrstError(401, "PGRST303", message, null, null, {
      "WWW-Authenticate": `Bearer error="invalid_token", error_description=${
        JSON.stringify(message)
      }`,
    }),
  /**
   * The gateway refusing a secret key from a browser (Supabase API keys docs: secret keys are
   * blocked for browsers by User-Agent, 401); not a PostgREST error, so no code.
   */
  secretKeyInBrowser: () => new PgrstError(401, "", "Forbidden use of secret API key in browser"),
  roleNotAllowed: (role: string) =>
    new PgrstError(401, "PGRST301", `role "${role}" is not allowed`),
};
