-- Which batch migration CREATED a user_migration_status row, so its rollback removes the rows it
-- created and leaves the rows it found (signups, lazy migration, other migrations) in place.
-- The batch writers name their migration in the transaction-local setting
-- edge_migrator.batch_migration_id (shared/batch/created-rows.ts); the BEFORE INSERT trigger
-- stamps it on new rows only: an INSERT ... ON CONFLICT DO UPDATE that finds the row keeps the
-- row's own value, as the column is never in the SET list.
ALTER TABLE user_migration_status ADD COLUMN IF NOT EXISTS created_by_migration text;

CREATE OR REPLACE FUNCTION user_migration_status_stamp_creator() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.created_by_migration IS NULL THEN
    NEW.created_by_migration := nullif(current_setting('edge_migrator.batch_migration_id', true), '');
  END IF;
  RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS user_migration_status_stamp_creator ON user_migration_status;
CREATE TRIGGER user_migration_status_stamp_creator
  BEFORE INSERT ON user_migration_status
  FOR EACH ROW EXECUTE FUNCTION user_migration_status_stamp_creator();

CREATE INDEX IF NOT EXISTS user_migration_status_created_by_idx
  ON user_migration_status (created_by_migration) WHERE created_by_migration IS NOT NULL;
