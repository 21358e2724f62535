/**
 * A batch migration's writes name their migration in the transaction, so the
 * user_migration_status rows it CREATES carry it (trigger in
 * migrations/20261206010000_user_migration_status_created_by.sql) and its rollback removes those
 * rows, and only those.
 */
import type { SqlClient } from "../db/sql-client.ts";

export const BATCH_MIGRATION_SETTING = "edge_migrator.batch_migration_id";

/** Call inside the batch's transaction, before its first write (transaction-local). */
export async function nameBatchWrites(tx: SqlClient, migrationId: string): Promise<void> {
  await tx.query(`SELECT set_config($1, $2, true)`, [BATCH_MIGRATION_SETTING, migrationId]);
}
