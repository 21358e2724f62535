/**
 * The batch's own verification of its latest completed migration (shared/batch/verify.ts), for
 * the gate to better_auth_only: null when no batch migration ran from this source.
 */
import type { SqlClient } from "../db/sql-client.ts";
import { latestMigration } from "../batch/migration-state.ts";
import type { SourceAdapter } from "../batch/source.ts";
import { verifyMigration, type VerifyResult } from "../batch/verify.ts";

export interface LatestVerify {
  readonly migrationId: string;
  readonly status: string;
  /** Null unless the migration completed (a running or failed one is not verified). */
  readonly result: VerifyResult | null;
}

export async function verifyLatestMigration(
  sql: SqlClient,
  source: SourceAdapter,
): Promise<LatestVerify | null> {
  const migration = await latestMigration(sql, source.name, false);
  if (!migration) return null;
  if (migration.status !== "completed") {
    return { migrationId: migration.id, status: migration.status, result: null };
  }
  return {
    migrationId: migration.id,
    status: migration.status,
    result: await verifyMigration(sql, source, migration, { maxIds: 20 }),
  };
}
