-- Tracking tables for the Supabase Auth -> Better Auth migration.
-- Improves on the guides' sketches: timestamptz everywhere, foreign keys, CHECK constraints and
-- indexes for the queries the functions and the dashboard run. Row-level security is enabled with
-- no policies, so only the service role (which bypasses RLS) can touch them through PostgREST.

CREATE TABLE IF NOT EXISTS migration_states (
  id                text PRIMARY KEY,
  kind              text NOT NULL DEFAULT 'users' CHECK (kind IN ('users')),
  source            text NOT NULL DEFAULT 'supabase_auth',
  status            text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'rolled_back')),
  dry_run           boolean NOT NULL DEFAULT false,
  batch_size        integer NOT NULL DEFAULT 1000 CHECK (batch_size BETWEEN 1 AND 50000),
  total_count       bigint NOT NULL DEFAULT 0 CHECK (total_count >= 0),
  processed_count   bigint NOT NULL DEFAULT 0 CHECK (processed_count >= 0),
  migrated_count    bigint NOT NULL DEFAULT 0 CHECK (migrated_count >= 0),
  skipped_count     bigint NOT NULL DEFAULT 0 CHECK (skipped_count >= 0),
  error_count       bigint NOT NULL DEFAULT 0 CHECK (error_count >= 0),
  last_processed_id text,
  config            jsonb NOT NULL DEFAULT '{}'::jsonb,
  last_error        text,
  started_at        timestamptz,
  completed_at      timestamptz,
  rolled_back_at    timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS migration_states_status_idx ON migration_states (status, created_at DESC);

CREATE TABLE IF NOT EXISTS migrated_users (
  original_id  text PRIMARY KEY,
  new_auth_id  uuid NOT NULL UNIQUE,
  email        text NOT NULL,
  -- How the user reached Better Auth: only 'batch' rows are ever removed by a batch rollback.
  migrated_via text NOT NULL DEFAULT 'batch'
               CHECK (migrated_via IN ('batch', 'lazy', 'dual_write', 'reconciliation')),
  migration_id text REFERENCES migration_states (id) ON DELETE RESTRICT,
  migrated_at  timestamptz NOT NULL DEFAULT now(),
  CHECK (migrated_via <> 'batch' OR migration_id IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS migrated_users_migration_idx ON migrated_users (migration_id);

CREATE TABLE IF NOT EXISTS migration_errors (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  migration_id  text REFERENCES migration_states (id) ON DELETE CASCADE,
  user_id       text,
  email         text,
  error_code    text NOT NULL,
  error_message text NOT NULL,
  error_details jsonb NOT NULL DEFAULT '{}'::jsonb,
  retryable     boolean NOT NULL DEFAULT false,
  attempts      integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS migration_errors_migration_idx ON migration_errors (migration_id, created_at);
CREATE UNIQUE INDEX IF NOT EXISTS migration_errors_one_per_user
  ON migration_errors (migration_id, user_id, error_code) WHERE user_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS user_migration_status (
  user_id                 uuid PRIMARY KEY,
  email                   text NOT NULL,
  supabase_migrated       boolean NOT NULL DEFAULT false,
  better_auth_migrated    boolean NOT NULL DEFAULT false,
  data_validated          boolean NOT NULL DEFAULT false,
  supabase_migrated_at    timestamptz,
  better_auth_migrated_at timestamptz,
  validated_at            timestamptz,
  last_error              text,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  CHECK (supabase_migrated = (supabase_migrated_at IS NOT NULL)),
  CHECK (better_auth_migrated = (better_auth_migrated_at IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS user_migration_status_email_idx ON user_migration_status (lower(email));

CREATE TABLE IF NOT EXISTS migration_log (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  component     text NOT NULL,
  phase         text NOT NULL,
  status        text NOT NULL CHECK (status IN ('started', 'completed', 'failed', 'aborted', 'info')),
  started_at    timestamptz NOT NULL DEFAULT now(),
  completed_at  timestamptz,
  failed_at     timestamptz,
  duration_ms   integer CHECK (duration_ms >= 0),
  error_message text,
  metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS migration_log_component_phase_idx
  ON migration_log (component, phase, started_at DESC);

-- Latest entry per component and phase.
CREATE OR REPLACE VIEW migration_status AS
SELECT DISTINCT ON (component, phase)
  component, phase, status, started_at, completed_at, failed_at, duration_ms, error_message, metadata
FROM migration_log
ORDER BY component, phase, started_at DESC, created_at DESC;

CREATE TABLE IF NOT EXISTS performance_metrics (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  function_name text NOT NULL,
  operation     text NOT NULL,
  -- Which implementation answered the client.
  path          text NOT NULL CHECK (path IN ('original', 'abstracted')),
  duration_ms   double precision NOT NULL CHECK (duration_ms >= 0),
  status        integer NOT NULL CHECK (status BETWEEN 100 AND 599),
  success       boolean NOT NULL,
  fallback      boolean NOT NULL DEFAULT false,
  mismatch      boolean,
  canary        boolean NOT NULL DEFAULT false,
  request_id    text,
  error_message text,
  metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
  recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS performance_metrics_function_time_idx
  ON performance_metrics (function_name, recorded_at DESC);
CREATE INDEX IF NOT EXISTS performance_metrics_recorded_at_idx ON performance_metrics (recorded_at);

CREATE OR REPLACE FUNCTION record_performance_metric(
  p_function_name text,
  p_operation     text,
  p_path          text,
  p_duration_ms   double precision,
  p_status        integer,
  p_success       boolean,
  p_fallback      boolean DEFAULT false,
  p_mismatch      boolean DEFAULT NULL,
  p_canary        boolean DEFAULT false,
  p_request_id    text DEFAULT NULL,
  p_error_message text DEFAULT NULL,
  p_metadata      jsonb DEFAULT '{}'::jsonb
) RETURNS bigint
LANGUAGE sql
AS $$
  INSERT INTO performance_metrics (
    function_name, operation, path, duration_ms, status, success, fallback, mismatch, canary,
    request_id, error_message, metadata
  ) VALUES (
    p_function_name, p_operation, p_path, p_duration_ms, p_status, p_success, p_fallback,
    p_mismatch, p_canary, p_request_id, p_error_message, COALESCE(p_metadata, '{}'::jsonb)
  )
  RETURNING id;
$$;

CREATE TABLE IF NOT EXISTS shadow_comparisons (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  request_id      text NOT NULL,
  function_name   text NOT NULL,
  operation       text NOT NULL,
  primary_path    text NOT NULL CHECK (primary_path IN ('original', 'abstracted')),
  shadow_path     text NOT NULL CHECK (shadow_path IN ('original', 'abstracted')),
  matched         boolean NOT NULL,
  primary_status  integer,
  shadow_status   integer,
  differing_paths text[] NOT NULL DEFAULT '{}',
  -- Bodies are stored redacted (passwords, tokens, keys replaced) and only for mismatches.
  primary_body    jsonb,
  shadow_body     jsonb,
  shadow_error    text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  CHECK (primary_path <> shadow_path)
);
CREATE INDEX IF NOT EXISTS shadow_comparisons_function_time_idx
  ON shadow_comparisons (function_name, created_at DESC);

ALTER TABLE migration_states ENABLE ROW LEVEL SECURITY;
ALTER TABLE migrated_users ENABLE ROW LEVEL SECURITY;
ALTER TABLE migration_errors ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_migration_status ENABLE ROW LEVEL SECURITY;
ALTER TABLE migration_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE performance_metrics ENABLE ROW LEVEL SECURITY;
ALTER TABLE shadow_comparisons ENABLE ROW LEVEL SECURITY;
