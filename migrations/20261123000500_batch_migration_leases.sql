-- Work distribution for the batch migration (migrate-batch function, `deno task migrate`).
--
-- A migration's source id space is cut into contiguous keyset ranges when the migration is
-- created: lease k covers (lower_id, upper_id], the first range starts at -infinity and the last
-- ends at +infinity, so the ranges cover every possible id and no user can fall into a gap.
-- Workers claim a pending (or expired) range with FOR UPDATE SKIP LOCKED, so any number of
-- concurrent invocations never claim the same range; a range claimed by a worker that died is
-- re-taken once leased_until has passed. A range is marked done in the same transaction that
-- writes its users, so a range is either fully applied with its counts or not at all.
CREATE TABLE IF NOT EXISTS batch_leases (
  migration_id    text NOT NULL REFERENCES migration_states (id) ON DELETE CASCADE,
  lease_no        integer NOT NULL CHECK (lease_no >= 1),
  lower_id        uuid,
  upper_id        uuid,
  planned_count   integer NOT NULL DEFAULT 0 CHECK (planned_count >= 0),
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'leased', 'done')),
  -- A fresh token per claim: a worker whose lease was re-taken can no longer complete it.
  lease_token     uuid,
  worker_id       text,
  leased_until    timestamptz,
  attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  processed_count integer NOT NULL DEFAULT 0 CHECK (processed_count >= 0),
  migrated_count  integer NOT NULL DEFAULT 0 CHECK (migrated_count >= 0),
  skipped_count   integer NOT NULL DEFAULT 0 CHECK (skipped_count >= 0),
  error_count     integer NOT NULL DEFAULT 0 CHECK (error_count >= 0),
  -- Highest source id seen in the range (feeds migration_states.last_processed_id).
  last_id         uuid,
  last_error      text,
  completed_at    timestamptz,
  PRIMARY KEY (migration_id, lease_no),
  CHECK (lower_id IS NULL OR upper_id IS NULL OR lower_id < upper_id),
  CHECK ((status = 'leased') = (lease_token IS NOT NULL AND leased_until IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS batch_leases_open_idx
  ON batch_leases (migration_id, lease_no) WHERE status <> 'done';

-- Source emails held by more than one user (case-insensitively), computed once when the migration
-- is created so every worker applies the same rule whatever order ranges are processed in.
-- keeper_id is the one user allowed to migrate (the earliest), NULL when every holder is rejected.
CREATE TABLE IF NOT EXISTS batch_duplicate_emails (
  migration_id text NOT NULL REFERENCES migration_states (id) ON DELETE CASCADE,
  email_lower  text NOT NULL,
  keeper_id    uuid,
  PRIMARY KEY (migration_id, email_lower)
);

-- Verify and rollback walk one migration's users in id order (keyset).
CREATE INDEX IF NOT EXISTS migrated_users_migration_auth_idx
  ON migrated_users (migration_id, new_auth_id);

-- At most one real (non-dry-run) migration in progress per source: overlapping cron invocations
-- join it instead of starting a second one.
CREATE UNIQUE INDEX IF NOT EXISTS migration_states_one_active_per_source
  ON migration_states (source) WHERE status IN ('pending', 'running') AND NOT dry_run;

ALTER TABLE batch_leases ENABLE ROW LEVEL SECURITY;
ALTER TABLE batch_duplicate_emails ENABLE ROW LEVEL SECURITY;
