-- The batch's tracking rows, made cheaper per row (issue 16 throughput, second round; measured with
-- bench/profile-batch.ts on PostgreSQL 15, figures in README's fidelity section).
--
-- 1. migrated_users.migration_id → migration_states(id) is checked once per STATEMENT instead of
--    once per row. PostgreSQL 15 runs the foreign key's RI query (SELECT 1 … FOR KEY SHARE) for
--    every inserted row: 5,000 identical look-ups of the same migration per batch, ≈ 8% of the
--    batch statement under EXPLAIN ANALYZE. A DEFERRABLE constraint would still queue one check
--    per row, so the constraint is replaced by two triggers that keep the same invariant —
--    every non-NULL migration_id names an existing migration, and a migration cannot be deleted
--    (or its id changed) while rows name it (the old ON DELETE RESTRICT):
--    - an AFTER … FOR EACH STATEMENT trigger on migrated_users reads the statement's new rows
--      (transition table), takes FOR KEY SHARE on each DISTINCT migration they name — the lock
--      the foreign key took, so a concurrent DELETE of that migration waits for this transaction
--      — and raises 23503 (foreign_key_violation, as the constraint did) when one does not
--      exist. A batch names one migration, so that is one look-up per batch; the per-user paths
--      (lazy migration, dual write: migration_id NULL; the per-user original: one row) do one
--      or none.
--    - a BEFORE DELETE OR UPDATE OF id row trigger on migration_states refuses (23503) while
--      migrated_users rows name the migration (migrated_users_migration_auth_idx leads with
--      migration_id). Deleting migrations is rare (nothing in the product deletes one; the
--      rollback marks it rolled_back and removes its migrated_users rows, after which a delete
--      succeeds, as before).
--    An AFTER TRUNCATE trigger on migration_states refuses emptying it while rows name a
--    migration (TRUNCATE fires no row triggers).
--    Concurrency, READ COMMITTED: if the insert runs first, its FOR KEY SHARE makes the DELETE
--    wait on the row, and the delete trigger's query (a fresh snapshot) then sees the committed
--    rows and refuses; if the DELETE runs first, the insert's FOR KEY SHARE waits for it, finds
--    the row gone after it commits, and the insert fails. Tested in
--    tests/migrations/20261207060000_tracking_checks_per_statement.test.ts.
-- 2. user_migration_status_email_idx (lower(email)) is dropped: no query reads
--    user_migration_status by email (its readers look rows up by user_id or count them all;
--    searched in shared/, functions/, local/ and the migrations' functions), and every status
--    row written — one per migrated user — paid an index insertion and a lower() for it.

ALTER TABLE migrated_users DROP CONSTRAINT IF EXISTS migrated_users_migration_id_fkey;

CREATE OR REPLACE FUNCTION migrated_users_check_migration() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  missing text;
BEGIN
  -- Lock what the rows reference, as the foreign key did, before checking it exists.
  PERFORM 1 FROM migration_states m
  WHERE m.id IN (SELECT DISTINCT n.migration_id FROM migrated_users_new n)
  FOR KEY SHARE OF m;
  SELECT n.migration_id INTO missing
  FROM (SELECT DISTINCT migration_id FROM migrated_users_new WHERE migration_id IS NOT NULL) n
  WHERE NOT EXISTS (SELECT 1 FROM migration_states m WHERE m.id = n.migration_id)
  LIMIT 1;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'insert or update on table "migrated_users" violates foreign key to migration_states'
      USING ERRCODE = 'foreign_key_violation',
            DETAIL = format('Key (migration_id)=(%s) is not present in table "migration_states".', missing);
  END IF;
  RETURN NULL;
END
$$;

-- Transition tables allow one event per trigger: one for INSERT, one for UPDATE.
DROP TRIGGER IF EXISTS migrated_users_migration_exists_insert ON migrated_users;
CREATE TRIGGER migrated_users_migration_exists_insert
  AFTER INSERT ON migrated_users
  REFERENCING NEW TABLE AS migrated_users_new
  FOR EACH STATEMENT EXECUTE FUNCTION migrated_users_check_migration();

DROP TRIGGER IF EXISTS migrated_users_migration_exists_update ON migrated_users;
CREATE TRIGGER migrated_users_migration_exists_update
  AFTER UPDATE ON migrated_users
  REFERENCING NEW TABLE AS migrated_users_new
  FOR EACH STATEMENT EXECUTE FUNCTION migrated_users_check_migration();

CREATE OR REPLACE FUNCTION migration_states_restrict_tracked() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.id IS NOT DISTINCT FROM OLD.id THEN
    RETURN NEW;
  END IF;
  IF EXISTS (SELECT 1 FROM migrated_users WHERE migration_id = OLD.id) THEN
    RAISE EXCEPTION 'update or delete on table "migration_states" violates foreign key on table "migrated_users"'
      USING ERRCODE = 'foreign_key_violation',
            DETAIL = format('Key (id)=(%s) is still referenced from table "migrated_users".', OLD.id);
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

DROP TRIGGER IF EXISTS migration_states_restrict_tracked ON migration_states;
CREATE TRIGGER migration_states_restrict_tracked
  BEFORE DELETE OR UPDATE OF id ON migration_states
  FOR EACH ROW EXECUTE FUNCTION migration_states_restrict_tracked();

-- TRUNCATE fires no row trigger: as the constraint did, refuse emptying migration_states while
-- migrated_users rows still name a migration. AFTER, so one TRUNCATE of both tables (the tests'
-- reset) passes: its AFTER triggers run once every table in it has been emptied.
CREATE OR REPLACE FUNCTION migration_states_restrict_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM migrated_users WHERE migration_id IS NOT NULL) THEN
    RAISE EXCEPTION 'cannot truncate "migration_states": "migrated_users" rows still name a migration'
      USING ERRCODE = 'foreign_key_violation',
            HINT = 'Truncate table "migrated_users" at the same time.';
  END IF;
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS migration_states_restrict_truncate ON migration_states;
CREATE TRIGGER migration_states_restrict_truncate
  AFTER TRUNCATE ON migration_states
  FOR EACH STATEMENT EXECUTE FUNCTION migration_states_restrict_truncate();

DROP INDEX IF EXISTS user_migration_status_email_idx;
