/**
 * Test support: the REST stand-in on a real HTTP port (127.0.0.1, port 0) and supabase-js clients
 * pointed at it, so tests exercise the exact requests supabase-js sends.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { SqlClient } from "../../../../shared/db/sql-client.ts";
import {
  createStandinKeys,
  DEFAULT_LOCAL_JWT_SECRET,
  type StandinKeys,
} from "../../../../local/standin/keys.ts";
import { createRestApi, type RestApiOptions } from "../../../../local/standin/rest/rest-api.ts";

export const AUTH_SCHEMA_SQL = await Deno.readTextFile(
  new URL("../../../../local/standin/auth-schema.sql", import.meta.url),
);

export interface RestStandin {
  /** Project URL (supabase-js appends `/rest/v1`). */
  readonly url: string;
  readonly keys: StandinKeys;
  /** A supabase-js client using `key` (default: the service-role key). */
  client(key?: string): SupabaseClient;
  close(): Promise<void>;
}

export async function serveRestStandin(
  sql: SqlClient,
  options: Partial<Omit<RestApiOptions, "sql" | "jwtSecret">> = {},
): Promise<RestStandin> {
  const keys = await createStandinKeys(DEFAULT_LOCAL_JWT_SECRET);
  const app = createRestApi({ sql, jwtSecret: keys.jwtSecret, ...options });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  return {
    url,
    keys,
    client: (key = keys.serviceRoleKey) =>
      createClient(url, key, {
        auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      }),
    close: () => server.shutdown(),
  };
}
