-- Dual-write bookkeeping for the signup and login functions (shared/auth/).
--
-- auth_divergences: every time the two auth systems disagree, a row says who, which side and
-- why, until the reconciliation step (POST /signup/reconcile, and migrate-batch) repairs it.
--   missing_user   one system has the user and the other does not (a one-sided dual write, or a
--                  user found on one side only); the reconciler creates the missing side.
--   aborted_signup both writes of a signup failed, but at least one timed out and may still land;
--                  the reconciler removes whatever landed, so a failed signup leaves nothing.
--   data_mismatch  MIGRATION_VALIDATION found the two copies differ (email, metadata).
--   id_conflict    the same email belongs to different ids in the two systems.
-- password_hash is only ever a bcrypt hash (never a password), kept so a missing Supabase user can
-- be created with the password the user chose; it is cleared when the row is resolved.
CREATE TABLE IF NOT EXISTS auth_divergences (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id       uuid NOT NULL,
  email         text NOT NULL,
  kind          text NOT NULL
                CHECK (kind IN ('missing_user', 'aborted_signup', 'data_mismatch', 'id_conflict')),
  missing_side  text CHECK (missing_side IN ('supabase', 'better_auth')),
  operation     text NOT NULL CHECK (operation IN ('signup', 'login', 'validation', 'reconciliation')),
  reason        text NOT NULL,
  details       jsonb NOT NULL DEFAULT '{}'::jsonb,
  password_hash text CHECK (password_hash IS NULL OR password_hash ~ '^\$2[aby]\$'),
  status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'failed')),
  attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error    text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  resolved_at   timestamptz,
  CHECK ((kind = 'missing_user') = (missing_side IS NOT NULL)),
  CHECK (status <> 'resolved' OR (resolved_at IS NOT NULL AND password_hash IS NULL))
);
-- At most one open row per user and kind: recording the same divergence twice is a no-op.
CREATE UNIQUE INDEX IF NOT EXISTS auth_divergences_open_key
  ON auth_divergences (user_id, kind) WHERE status = 'open';
CREATE INDEX IF NOT EXISTS auth_divergences_status_idx ON auth_divergences (status, created_at);

-- Failed-login counters shared by every function instance. bucket is 'login:email:<sha256>' or
-- 'login:ip:<sha256>' (hashed: no address or email in clear).
CREATE TABLE IF NOT EXISTS auth_rate_limits (
  bucket        text PRIMARY KEY,
  failures      integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
  window_start  timestamptz NOT NULL DEFAULT now(),
  blocked_until timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS auth_rate_limits_updated_idx ON auth_rate_limits (updated_at);

-- One in-flight dual-write signup per email. Without it two concurrent signups for one email
-- could each win a different system (A in Supabase, B in Better Auth), both be refused by the
-- other and both be undone. The claim is a lease, not a held lock: an instance that dies mid-signup
-- blocks that email only until expires_at.
CREATE TABLE IF NOT EXISTS auth_signup_claims (
  email      text PRIMARY KEY,
  user_id    uuid NOT NULL,
  expires_at timestamptz NOT NULL
);

ALTER TABLE auth_divergences ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth_rate_limits ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth_signup_claims ENABLE ROW LEVEL SECURITY;
