/**
 * One REST request as the handlers see it: who is asking (role, claims), what they asked for
 * (schema, URL, Prefer, Accept, Range), and the only ways to reach the database — catalog
 * lookups, and a transaction that runs as the request's role.
 */
import type { FunctionInfo, TableInfo } from "../../../shared/db/catalog.ts";
import type { BuiltQuery, ResultRow } from "../../../shared/db/query-builder.ts";
import type { RequestIdentity } from "./auth.ts";
import type { PgrstError } from "./errors.ts";
import type { AcceptedMedia, Preferences } from "./request-parser.ts";

export interface RestRequest {
  readonly identity: RequestIdentity;
  /** The exposed schema chosen by Accept-Profile / Content-Profile. */
  readonly schema: string;
  readonly url: URL;
  readonly method: string;
  readonly prefer: Preferences;
  readonly accept: AcceptedMedia;
  /** The `Range` header of a GET/HEAD. */
  readonly rangeHeader: string | null;
  /** PostgREST's db-max-rows, when configured. */
  readonly maxRows: number | undefined;
  /** The JSON body; undefined when empty. Throws PGRST102/PGRST107/413 errors. */
  json(): Promise<unknown>;
  /** The table or view in the request's schema; PGRST205 when unknown. */
  table(name: string): Promise<TableInfo>;
  /** The table once every name is known to it; otherwise `report(table, column)` is thrown. */
  knownColumns(
    table: TableInfo,
    names: Iterable<string>,
    report: (table: string, column: string) => PgrstError,
  ): Promise<TableInfo>;
  /** Every overload of a function in the request's schema. */
  functions(name: string): Promise<readonly FunctionInfo[]>;
  /**
   * Runs `work` in one transaction as the request's role (read-only when asked); a thrown error
   * rolls it back, as does `Prefer: tx=rollback` after the response is built.
   */
  transaction(
    readOnly: boolean,
    work: (run: (query: BuiltQuery) => Promise<ResultRow>) => Promise<Response>,
  ): Promise<Response>;
}
