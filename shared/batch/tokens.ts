/** DI tokens of the batch migration (registered by register.ts). */
import { token } from "../di/container.ts";
import type { BatchMigrationEngine } from "./engine.ts";
import type { OriginalBatchMigration } from "./original-migration.ts";
import type { BatchAuth } from "./routes.ts";
import type { SourceAdapter } from "./source.ts";

/** Supabase auth.users in the tracking database, or a legacy table in OLD_DATABASE_URL. */
export const BatchSourceToken = token<SourceAdapter>("batch.source");
/** The set-based engine (the abstracted implementation). */
export const BatchEngineToken = token<BatchMigrationEngine>("batch.engine");
/** The per-user original (needs a service-role supabase-js client). */
export const OriginalBatchMigrationToken = token<OriginalBatchMigration>("batch.original");
/** Who may call migrate-batch: service-role keys and the cron secret. */
export const BatchAuthToken = token<BatchAuth>("batch.auth");
