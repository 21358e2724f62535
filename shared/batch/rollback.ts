/**
 * Rollback of one batch migration: removes exactly the Better Auth users THAT migration
 * created — the migrated_users rows with its migration_id and migrated_via = 'batch' — and
 * nobody else (native signups have no such row; lazy/dual-write users and other migrations'
 * users carry another migrated_via or migration_id). Accounts and sessions go with the user
 * (ON DELETE CASCADE). The user_migration_status rows the migration CREATED go too
 * (created_by_migration, see created-rows.ts); rows it found only lose the Better Auth flags it
 * set, so `status` counts exactly the users that are still tracked. The migration is marked rolled_back FIRST, so in-flight batches of it
 * abort at commit and no new ones start; deletion then proceeds in keyset chunks within the
 * budget. Running it again continues or, when nothing is left, changes nothing.
 */
import type { SqlClient } from "../db/sql-client.ts";
import { AppError } from "../result.ts";
import { loadMigration, type MigrationStatus } from "./migration-state.ts";

export interface RollbackResult {
  readonly migration_id: string;
  readonly status: MigrationStatus;
  /** Users removed by this call. */
  readonly removed: number;
  /** This migration's users still to remove (a further call continues). */
  readonly remaining: number;
  readonly done: boolean;
}

const CHUNK = 5000;

export async function rollbackMigration(
  db: SqlClient,
  migrationId: string,
  options: { budgetMs: number; clock: () => number },
): Promise<RollbackResult> {
  const started = options.clock();
  const migration = await loadMigration(db, migrationId);
  if (!migration) throw new AppError("not_found", `migration ${migrationId} does not exist`);
  await db.query(
    `UPDATE migration_states
     SET status = 'rolled_back', rolled_back_at = coalesce(rolled_back_at, now()), updated_at = now()
     WHERE id = $1 AND status <> 'rolled_back'`,
    [migrationId],
  );
  let removed = 0;
  for (;;) {
    const { rows } = await db.query<{ victims: number; users: number }>(
      `WITH victims AS (
         SELECT new_auth_id FROM migrated_users
         WHERE migration_id = $1 AND migrated_via = 'batch'
         ORDER BY new_auth_id LIMIT $2
         FOR UPDATE SKIP LOCKED
       ),
       removed_users AS (
         DELETE FROM "user" u USING victims v WHERE u.id = v.new_auth_id RETURNING u.id
       ),
       removed_status AS (
         DELETE FROM user_migration_status s USING victims v
         WHERE s.user_id = v.new_auth_id AND s.created_by_migration = $1
         RETURNING 1
       ),
       reset_status AS (
         UPDATE user_migration_status s
         SET better_auth_migrated = false, better_auth_migrated_at = NULL,
             data_validated = false, validated_at = NULL, updated_at = now()
         FROM victims v
         WHERE s.user_id = v.new_auth_id AND s.created_by_migration IS DISTINCT FROM $1
         RETURNING 1
       ),
       removed_tracking AS (
         DELETE FROM migrated_users m USING victims v WHERE m.new_auth_id = v.new_auth_id
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM victims) AS victims,
              (SELECT count(*) FROM removed_users) AS users`,
      [migrationId, CHUNK],
    );
    const chunk = rows[0] ?? { victims: 0, users: 0 };
    removed += chunk.users;
    if (chunk.victims < CHUNK) break;
    if (options.clock() - started >= options.budgetMs) break;
  }
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*) AS n FROM migrated_users WHERE migration_id = $1 AND migrated_via = 'batch'`,
    [migrationId],
  );
  const remaining = rows[0]?.n ?? 0;
  const after = await loadMigration(db, migrationId);
  return {
    migration_id: migrationId,
    status: after?.status ?? "rolled_back",
    removed,
    remaining,
    done: remaining === 0,
  };
}
