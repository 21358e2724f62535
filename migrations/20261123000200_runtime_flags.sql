-- Runtime flags: per-function routing policy that overrides the environment. Every function
-- instance re-reads this table through a short cache, so an operator's change (or an emergency
-- rollback) reaches all running instances without a redeploy. NULL means "inherit the
-- environment"; the row with function_name '*' applies to every function (its force_original is
-- the emergency kill switch).
CREATE TABLE IF NOT EXISTS runtime_flags (
  function_name        text PRIMARY KEY CHECK (function_name ~ '^(\*|[a-z][a-z0-9-]{0,62})$'),
  rollout_percentage   numeric(5, 2) CHECK (rollout_percentage BETWEEN 0 AND 100),
  enable_fallback      boolean,
  enable_comparison    boolean,
  force_original       boolean,
  canary_enabled       boolean,
  canary_percentage    numeric(5, 2) CHECK (canary_percentage BETWEEN 0 AND 100),
  canary_selection     text CHECK (canary_selection IN ('random', 'whitelist', 'email_domain', 'user_id_hash')),
  canary_whitelist     text[],
  canary_email_domains text[],
  version              bigint NOT NULL DEFAULT 1,
  updated_by           text,
  reason               text,
  updated_at           timestamptz NOT NULL DEFAULT now()
);

-- Bumps version and updated_at on every change, so caches and audits can tell changes apart.
CREATE OR REPLACE FUNCTION runtime_flags_touch() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    NEW.version := OLD.version + 1;
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS runtime_flags_touch ON runtime_flags;
CREATE TRIGGER runtime_flags_touch BEFORE INSERT OR UPDATE ON runtime_flags
  FOR EACH ROW EXECUTE FUNCTION runtime_flags_touch();

ALTER TABLE runtime_flags ENABLE ROW LEVEL SECURITY;
