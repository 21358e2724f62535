/**
 * Every service the suite resolves through DI, by token. The app container
 * (app-container.ts) is the one place that decides which provider stands behind each.
 */
import type { AppConfig } from "../config/env.ts";
import type { SqlClient } from "../db/sql-client.ts";
import { token } from "./container.ts";

export const ConfigToken = token<AppConfig>("config");
/** The PostgreSQL that holds the tracking tables and runtime flags (PGlite or postgres.js). */
export const SqlToken = token<SqlClient>("sql");
