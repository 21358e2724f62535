/**
 * DI tokens of the data layer. The provider behind DatabaseServiceToken follows
 * `config.database.provider` (see register.ts).
 */
import { token } from "../di/container.ts";
import type { SchemaCatalog } from "./catalog.ts";
import type { IDatabaseService } from "./database-service.ts";

/** Application data access: pglite | postgres (SQL) or supabase (PostgREST). */
export const DatabaseServiceToken = token<IDatabaseService>("database-service");
/**
 * The catalog cache for the database behind SqlToken; share it with the local REST stand-in
 * (`createRestApi({ catalog })`) so both see the same cached names.
 */
export const SchemaCatalogToken = token<SchemaCatalog>("schema-catalog");
