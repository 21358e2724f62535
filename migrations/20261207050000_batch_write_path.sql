-- The set-based batch's write path, made cheaper per row (issue 16 throughput):
--
-- 1. The batch now names its migration in user_migration_status.created_by_migration itself
--    (shared/batch/statements.ts), so the stamping trigger only needs to run for inserts that do
--    not (dual write, lazy migration, signups): a WHEN clause skips the PL/pgSQL call per row
--    for the batch's 5,000-row inserts. What the trigger does when it runs is unchanged.
-- 2. user_migration_status_created_by_idx is dropped: no query reads it (the rollback finds a
--    migration's status rows through migrated_users, by user_id, then checks the column), and
--    every batch-created row entered it, one more index insertion per user.
DROP TRIGGER IF EXISTS user_migration_status_stamp_creator ON user_migration_status;
CREATE TRIGGER user_migration_status_stamp_creator
  BEFORE INSERT ON user_migration_status
  FOR EACH ROW WHEN (NEW.created_by_migration IS NULL)
  EXECUTE FUNCTION user_migration_status_stamp_creator();

DROP INDEX IF EXISTS user_migration_status_created_by_idx;
