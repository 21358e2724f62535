-- Metric-gated rollout control (shared/ops/): one staged rollout per function, advanced by a
-- scheduled evaluation only while the abstracted path stays healthy, plus an outbox of operator
-- alerts (Sentry, Slack-compatible webhook) so an alert survives a failed delivery or a process
-- that ends right after the change that raised it.

CREATE TABLE IF NOT EXISTS rollouts (
  function_name        text PRIMARY KEY CHECK (function_name ~ '^[a-z][a-z0-9-]{0,62}$'),
  status               text NOT NULL CHECK (status IN (
                         'running', 'paused', 'aborted', 'completed', 'rolling_back',
                         'rolled_back')),
  -- The forward plan, e.g. {1,5,10,25,50,75,100}: strictly increasing percentages.
  steps                numeric(5, 2)[] NOT NULL
                       CHECK (cardinality(steps) BETWEEN 1 AND 20 AND 0 < ALL (steps)
                              AND 100 >= ALL (steps)),
  -- The planned-rollback sequence actually in use (below the percentage it started from).
  rollback_steps       numeric(5, 2)[] NOT NULL DEFAULT '{}'
                       CHECK (0 <= ALL (rollback_steps) AND 100 >= ALL (rollback_steps)),
  -- Index into steps (running, paused from running, completed, aborted) or into rollback_steps
  -- (rolling_back, paused from rolling_back, rolled_back).
  current_step         integer NOT NULL DEFAULT 0 CHECK (current_step >= 0),
  hold_seconds         integer NOT NULL CHECK (hold_seconds BETWEEN 0 AND 604800),
  -- Window, sample sizes, failure limit and thresholds (shared/ops/analysis.ts).
  analysis             jsonb NOT NULL,
  consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
  step_entered_at      timestamptz NOT NULL,
  last_evaluated_at    timestamptz,
  last_health          jsonb,
  -- What a paused rollout resumes into.
  paused_from          text CHECK (paused_from IN ('running', 'rolling_back')),
  abort_reason         text,
  -- 1 for the first start; retries and restarts count up.
  attempt              integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
  started_by           text,
  updated_by           text,
  started_at           timestamptz NOT NULL DEFAULT now(),
  finished_at          timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'paused') = (paused_from IS NOT NULL)),
  CHECK (status <> 'aborted' OR abort_reason IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS rollouts_active_idx ON rollouts (status)
  WHERE status IN ('running', 'rolling_back');

CREATE TABLE IF NOT EXISTS ops_alerts (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind            text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,62}$'),
  severity        text NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
  function_name   text,
  title           text NOT NULL,
  -- Figures and context; redacted before insert (never passwords, tokens or keys).
  details         jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Sinks ('sentry', 'webhook') that accepted the alert: a retry only goes to the others.
  delivered_to    text[] NOT NULL DEFAULT '{}',
  attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error      text,
  -- Also the delivery lease: a dispatcher pushes it forward before sending, so two dispatchers
  -- never send the same alert at once.
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  -- Set once every sink accepted it, or delivery was given up.
  done_at         timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ops_alerts_pending_idx ON ops_alerts (next_attempt_at)
  WHERE done_at IS NULL;
CREATE INDEX IF NOT EXISTS ops_alerts_created_idx ON ops_alerts (created_at DESC);

-- The dashboard's per-path charts read recent metrics per function and path.
CREATE INDEX IF NOT EXISTS performance_metrics_function_path_time_idx
  ON performance_metrics (function_name, path, recorded_at DESC);

ALTER TABLE rollouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE ops_alerts ENABLE ROW LEVEL SECURITY;

-- Production schedule: pg_cron calls the rollout evaluation route every minute through pg_net,
-- with the project URL and service-role key from Vault (the same secrets as the migrate-batch
-- job in 20261123000900). Guarded exactly like that job: without pg_cron, pg_net and Vault
-- (PGlite, plain PostgreSQL, CI) this only raises a NOTICE and the dev server's local cron calls
-- the route (or RolloutController.evaluateRollouts) instead.
DO $migration$
DECLARE
  job_command constant text := $job$
    SELECT net.http_post(
      url := (SELECT decrypted_secret FROM vault.decrypted_secrets WHERE name = 'project_url')
             || '/functions/v1/migrate-batch/admin/rollouts/evaluate',
      headers := jsonb_build_object(
        'Content-Type', 'application/json',
        'Authorization', 'Bearer ' || (SELECT decrypted_secret FROM vault.decrypted_secrets
                                        WHERE name = 'service_role_key')
      ),
      body := '{}'::jsonb,
      timeout_milliseconds := 30000
    ) AS request_id;
  $job$;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_cron')
     AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_net') THEN
    BEGIN
      CREATE EXTENSION IF NOT EXISTS pg_cron;
      CREATE EXTENSION IF NOT EXISTS pg_net;
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE 'pg_cron/pg_net could not be enabled (%): rollouts are not scheduled', SQLERRM;
    END;
  END IF;

  IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron')
     OR NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_net') THEN
    RAISE NOTICE 'pg_cron and pg_net are not both installed: rollout evaluation is not scheduled';
    RETURN;
  END IF;
  IF to_regclass('vault.decrypted_secrets') IS NULL THEN
    RAISE NOTICE 'Supabase Vault is not installed: rollout evaluation is not scheduled';
    RETURN;
  END IF;

  EXECUTE 'SELECT cron.schedule($1, $2, $3)'
    USING 'edge-migrator-rollout-evaluate', '* * * * *', job_command;
END
$migration$;
