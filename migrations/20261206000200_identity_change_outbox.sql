-- The identity change outbox: one row per change to a user on either side during the migration
-- window, applied to the other side in order per user (shared/sync/). Written by database
-- triggers (auth.users / auth.identities on the Supabase side, Better Auth's tables on the
-- other) and read by one idempotent applier per direction. A user is "in sync" in a direction
-- when it has no unapplied row in that direction; the login rule (shared/identity/) relies on it
-- before letting the non-authoritative system answer for that user.
CREATE TABLE IF NOT EXISTS identity_change_outbox (
  id          bigserial PRIMARY KEY,
  direction   text NOT NULL CHECK (direction IN ('to_better_auth', 'to_supabase')),
  user_id     uuid NOT NULL,
  -- what changed: 'user' (a row of auth.users / "user"), 'identity', 'password', 'session', ...
  entity      text NOT NULL,
  op          text NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
  -- the new state of the changed row (secrets included: never logged, never compared)
  payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
  captured_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  applied_at  timestamptz,
  attempts    integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error  text
);
CREATE INDEX IF NOT EXISTS identity_change_outbox_pending_idx
  ON identity_change_outbox (direction, id) WHERE applied_at IS NULL;
CREATE INDEX IF NOT EXISTS identity_change_outbox_user_pending_idx
  ON identity_change_outbox (user_id, direction, id) WHERE applied_at IS NULL;
