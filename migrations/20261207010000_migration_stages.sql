-- Migration stages of the auth functions (shared/cutover/stages.ts): which systems a function
-- writes and reads, moved by an operator through gates. One row per function; no row means the
-- stage the environment seeds (MIGRATION_MODE × USE_BETTER_AUTH). Read beside runtime_flags
-- through the same short cache (shared/flags/store.ts), so a move reaches every instance within
-- FLAGS_CACHE_TTL_MS.
CREATE TABLE IF NOT EXISTS migration_stages (
  function_name text PRIMARY KEY CHECK (function_name ~ '^[a-z][a-z0-9-]{0,62}$'),
  stage         text NOT NULL CHECK (stage IN ('supabase_only', 'shadow', 'dual_write',
                                               'better_auth_primary', 'better_auth_only',
                                               'complete')),
  -- When the function entered this stage (the quiet period before `complete` counts from here).
  entered_at    timestamptz NOT NULL DEFAULT now(),
  version       bigint NOT NULL DEFAULT 1,
  updated_by    text,
  reason        text
);
ALTER TABLE migration_stages ENABLE ROW LEVEL SECURITY;

-- `complete` is final: no statement, whatever its origin, moves a function out of it.
CREATE OR REPLACE FUNCTION migration_stages_guard() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.stage = 'complete' THEN
      RAISE EXCEPTION 'migration stage of % is complete, which is final', OLD.function_name
        USING ERRCODE = 'check_violation';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.stage = 'complete' AND NEW.stage IS DISTINCT FROM 'complete' THEN
    RAISE EXCEPTION 'migration stage of % is complete, which is final', OLD.function_name
      USING ERRCODE = 'check_violation';
  END IF;
  NEW.version := OLD.version + 1;
  RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS migration_stages_guard ON migration_stages;
CREATE TRIGGER migration_stages_guard BEFORE UPDATE OR DELETE ON migration_stages
  FOR EACH ROW EXECUTE FUNCTION migration_stages_guard();

-- One row per move (and per refused move): who, when, from, to, why, and the gate's figures.
CREATE TABLE IF NOT EXISTS migration_stage_audit (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  function_name text NOT NULL,
  from_stage    text NOT NULL,
  to_stage      text NOT NULL,
  outcome       text NOT NULL CHECK (outcome IN ('moved', 'refused')),
  actor         text NOT NULL,
  reason        text NOT NULL,
  gate          jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS migration_stage_audit_function_idx
  ON migration_stage_audit (function_name, created_at DESC);
ALTER TABLE migration_stage_audit ENABLE ROW LEVEL SECURITY;
