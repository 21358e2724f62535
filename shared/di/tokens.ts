/**
 * The core services every area resolves through DI, by token. Areas keep their own tokens beside
 * their code (shared/<area>/tokens.ts); the app container (app-container.ts) is the one place
 * that decides which provider stands behind each.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import type { AppConfig } from "../config/env.ts";
import type { SqlClient } from "../db/sql-client.ts";
import { token } from "./container.ts";

export const ConfigToken = token<AppConfig>("config");
/** The PostgreSQL that holds the tracking tables and runtime flags (PGlite or postgres.js). */
export const SqlToken = token<SqlClient>("sql");
/** A service-role supabase-js client (the original implementations talk to Supabase with it). */
export const SupabaseAdminToken = token<SupabaseClient>("supabase.admin");
