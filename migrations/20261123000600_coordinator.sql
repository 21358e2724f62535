-- Agent task coordination (TrustStream's coordinator): agents, tasks, task_assignments and the
-- database functions that assign, complete and measure them.
--
-- Why the assignment lives in the database: "no agent ever exceeds max_load and no task is
-- assigned twice, even under concurrent requests" needs row locks held across read and write, and
-- the supabase provider (PostgREST) cannot hold a transaction across HTTP calls. A plpgsql
-- function is one transaction on every provider: `rpc/<fn>` through PostgREST, `SELECT * FROM
-- fn(...)` on PGlite and PostgreSQL.
--
-- Selection rules, implemented once in SQL (coordinator_rank_candidates) and mirrored exactly by
-- shared/coordinator/strategies.ts, which the original supabase-js path uses; tests prove both
-- rank identically:
--   candidates: status = 'active', capabilities contain EVERY required capability,
--               current_load < max_load.
--   round_robin:      last_assigned_seq ASC NULLS FIRST (never-assigned first, then least
--                     recently assigned), id ASC
--   least_loaded:     current_load ASC, max_load DESC, trust_score DESC, id ASC
--   highest_trust:    trust_score DESC, current_load ASC, id ASC
--   capability_match: cardinality(capabilities) ASC (the most specialised agent, keeping
--                     generalists free), trust_score DESC, current_load ASC, id ASC
-- Every ordering ends with id, so the choice is a pure function of the committed state.
--
-- Public functions (service_role only): coordinator_assign_task (select + write, or plan),
-- coordinator_commit_assignment (write a client-side selection after re-validating it),
-- coordinator_complete_assignment, coordinator_agent_metrics. Expected outcomes are returned as
-- an `outcome` column, never raised, so every provider reads them alike.

CREATE SEQUENCE IF NOT EXISTS coordinator_assignment_seq AS bigint;

CREATE TABLE IF NOT EXISTS agents (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name              text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  type              text NOT NULL CHECK (char_length(type) BETWEEN 1 AND 100),
  status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
  -- Normalised by trigger: trimmed, distinct, sorted (C collation), so cardinality() counts
  -- distinct capabilities on every provider.
  capabilities      text[] NOT NULL DEFAULT '{}'
                    CHECK (cardinality(capabilities) <= 100 AND array_position(capabilities, NULL) IS NULL),
  trust_score       numeric(3, 2) NOT NULL DEFAULT 0 CHECK (trust_score BETWEEN 0 AND 5),
  current_load      integer NOT NULL DEFAULT 0,
  max_load          integer NOT NULL DEFAULT 1 CHECK (max_load BETWEEN 0 AND 10000),
  -- Round-robin cursor: position of this agent's latest assignment in one global sequence.
  -- A sequence (not a timestamp) because every agent of one assignment shares now(), and clocks
  -- of concurrent transactions do not order their commits.
  last_assigned_seq bigint,
  last_assigned_at  timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT agents_load_within_capacity CHECK (current_load BETWEEN 0 AND max_load)
);
-- Candidate scans: active agents by required capabilities (GIN for @>), and lock order by id.
CREATE INDEX IF NOT EXISTS agents_active_capabilities_idx
  ON agents USING gin (capabilities) WHERE status = 'active';
CREATE INDEX IF NOT EXISTS agents_active_spare_capacity_idx
  ON agents (id) WHERE status = 'active' AND current_load < max_load;
CREATE INDEX IF NOT EXISTS agents_list_idx ON agents (created_at, id);

CREATE TABLE IF NOT EXISTS tasks (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name                  text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  type                  text NOT NULL CHECK (char_length(type) BETWEEN 1 AND 100),
  status                text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'assigned', 'completed', 'failed')),
  required_capabilities text[] NOT NULL DEFAULT '{}'
                        CHECK (cardinality(required_capabilities) <= 100
                               AND array_position(required_capabilities, NULL) IS NULL),
  -- The strategy the task was assigned with.
  strategy              text CHECK (strategy IN ('round_robin', 'least_loaded', 'highest_trust', 'capability_match')),
  assigned_at           timestamptz,
  completed_at          timestamptz,
  duration_ms           integer CHECK (duration_ms >= 0),
  -- The request that assigned the task (x-request-id) and the candidates it ranked, kept so the
  -- migrator's shadow plan of that same request can replay the choice (coordinator_assign_task).
  assignment_request_id text,
  assignment_snapshot   jsonb,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT tasks_assigned_state CHECK ((status = 'pending') = (assigned_at IS NULL)),
  CONSTRAINT tasks_assigned_strategy CHECK (status = 'pending' OR strategy IS NOT NULL),
  CONSTRAINT tasks_finished_state
    CHECK ((status IN ('completed', 'failed')) = (completed_at IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS tasks_status_idx ON tasks (status, created_at);

CREATE TABLE IF NOT EXISTS task_assignments (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id      uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  -- RESTRICT: an agent with assignment history is deactivated, not deleted (no data loss).
  agent_id     uuid NOT NULL REFERENCES agents (id) ON DELETE RESTRICT,
  status       text NOT NULL DEFAULT 'assigned' CHECK (status IN ('assigned', 'completed', 'failed')),
  assigned_at  timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  success      boolean,
  duration_ms  integer CHECK (duration_ms >= 0),
  CONSTRAINT task_assignments_once_per_agent UNIQUE (task_id, agent_id),
  CONSTRAINT task_assignments_finished_state CHECK (
    (status = 'assigned') = (completed_at IS NULL)
    AND (status = 'assigned') = (success IS NULL)
    AND (status = 'assigned' OR success = (status = 'completed'))
  )
);
-- Metrics per agent, and open assignments per agent.
CREATE INDEX IF NOT EXISTS task_assignments_agent_idx ON task_assignments (agent_id, status);

-- Trims, de-duplicates and sorts a capability list (C collation: identical on every server).
CREATE OR REPLACE FUNCTION coordinator_normalize_capabilities(p_values text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$
  SELECT coalesce(array_agg(c ORDER BY c COLLATE "C"), '{}')
  FROM (
    SELECT DISTINCT btrim(v) AS c
    FROM unnest(coalesce(p_values, '{}')) AS v
    WHERE v IS NOT NULL AND btrim(v) <> ''
  ) AS distinct_values
$$;

CREATE OR REPLACE FUNCTION coordinator_agents_touch() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.capabilities := coordinator_normalize_capabilities(NEW.capabilities);
  NEW.name := btrim(NEW.name);
  NEW.type := btrim(NEW.type);
  IF TG_OP = 'UPDATE' THEN
    NEW.updated_at := now();
  END IF;
  RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS coordinator_agents_touch ON agents;
CREATE TRIGGER coordinator_agents_touch BEFORE INSERT OR UPDATE ON agents
  FOR EACH ROW EXECUTE FUNCTION coordinator_agents_touch();

CREATE OR REPLACE FUNCTION coordinator_tasks_touch() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.required_capabilities := coordinator_normalize_capabilities(NEW.required_capabilities);
  NEW.name := btrim(NEW.name);
  NEW.type := btrim(NEW.type);
  IF TG_OP = 'UPDATE' THEN
    NEW.updated_at := now();
  END IF;
  RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS coordinator_tasks_touch ON tasks;
CREATE TRIGGER coordinator_tasks_touch BEFORE INSERT OR UPDATE ON tasks
  FOR EACH ROW EXECUTE FUNCTION coordinator_tasks_touch();

-- Candidates of a task, as one jsonb array ordered by id: [{id, name, trust_score, current_load,
-- max_load, last_assigned_seq, capabilities}]. With p_lock, every candidate row is first locked
-- in id order (FOR UPDATE) and the array is then read in a NEW statement, i.e. from the current
-- committed versions of the rows we now hold. Why lock all candidates in a stable order rather
-- than SKIP LOCKED: SKIP LOCKED would make the choice depend on timing; a stable order
-- serialises competing requests without deadlocks, so each ranks exactly what a serial run would.
CREATE OR REPLACE FUNCTION coordinator_candidate_snapshot(p_required text[], p_lock boolean)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
  v_snapshot jsonb;
BEGIN
  IF p_lock THEN
    PERFORM 1
    FROM agents AS a
    WHERE a.status = 'active' AND a.capabilities @> p_required AND a.current_load < a.max_load
    ORDER BY a.id
    FOR UPDATE;
  END IF;
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'id', a.id, 'name', a.name, 'trust_score', a.trust_score,
           'current_load', a.current_load, 'max_load', a.max_load,
           'last_assigned_seq', a.last_assigned_seq, 'capabilities', to_jsonb(a.capabilities))
           ORDER BY a.id), '[]'::jsonb)
  INTO v_snapshot
  FROM agents AS a
  WHERE a.status = 'active' AND a.capabilities @> p_required AND a.current_load < a.max_load;
  RETURN v_snapshot;
END;
$$;

-- THE ranking (see the header): the first p_max_agents candidates of a snapshot in rank order,
-- as [{id, name, trust_score}]. Pure, so a recorded snapshot ranks the same later.
CREATE OR REPLACE FUNCTION coordinator_rank_candidates(
  p_candidates jsonb,
  p_strategy   text,
  p_max_agents integer
) RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = public, pg_temp
AS $$
  SELECT coalesce(jsonb_agg(
           jsonb_build_object('id', ranked.id, 'name', ranked.name, 'trust_score', ranked.trust_score)
           ORDER BY ranked.rank), '[]'::jsonb)
  FROM (
    SELECT c.id, c.name, c.trust_score,
           row_number() OVER (ORDER BY
             CASE WHEN p_strategy = 'round_robin' THEN c.last_assigned_seq END ASC NULLS FIRST,
             CASE WHEN p_strategy = 'least_loaded' THEN c.current_load END ASC,
             CASE WHEN p_strategy = 'least_loaded' THEN c.max_load END DESC,
             CASE WHEN p_strategy = 'least_loaded' THEN c.trust_score END DESC,
             CASE WHEN p_strategy = 'highest_trust' THEN c.trust_score END DESC,
             CASE WHEN p_strategy = 'highest_trust' THEN c.current_load END ASC,
             CASE WHEN p_strategy = 'capability_match' THEN jsonb_array_length(c.capabilities) END ASC,
             CASE WHEN p_strategy = 'capability_match' THEN c.trust_score END DESC,
             CASE WHEN p_strategy = 'capability_match' THEN c.current_load END ASC,
             c.id ASC
           ) AS rank
    FROM jsonb_to_recordset(coalesce(p_candidates, '[]'::jsonb)) AS c(
      id uuid, name text, trust_score numeric, current_load integer, max_load integer,
      last_assigned_seq bigint, capabilities jsonb)
  ) AS ranked
  WHERE ranked.rank <= p_max_agents
$$;

-- Writes an assignment (internal: callers hold the task and candidate locks and have checked
-- that every agent is a candidate). Agents are updated in rank order, so the round-robin cursor
-- orders the agents of one assignment as they were ranked. The snapshot the choice was made from
-- is kept with the request id, so a shadow plan of the same request can replay it (see below).
CREATE OR REPLACE FUNCTION coordinator_write_assignment(
  p_task_id    uuid,
  p_strategy   text,
  p_agent_ids  uuid[],
  p_snapshot   jsonb,
  p_request_id text
) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
  v_agent_id uuid;
  v_agent    jsonb;
  v_agents   jsonb := '[]'::jsonb;
BEGIN
  FOREACH v_agent_id IN ARRAY p_agent_ids LOOP
    UPDATE agents AS a
    SET current_load = a.current_load + 1,
        last_assigned_seq = nextval('coordinator_assignment_seq'),
        last_assigned_at = now()
    WHERE a.id = v_agent_id
    RETURNING jsonb_build_object('id', a.id, 'name', a.name, 'trust_score', a.trust_score)
    INTO v_agent;
    INSERT INTO task_assignments (task_id, agent_id) VALUES (p_task_id, v_agent_id);
    v_agents := v_agents || jsonb_build_array(v_agent);
  END LOOP;
  UPDATE tasks AS t
  SET status = 'assigned', strategy = p_strategy, assigned_at = now(),
      assignment_request_id = p_request_id,
      assignment_snapshot = CASE WHEN p_request_id IS NULL THEN NULL ELSE p_snapshot END
  WHERE t.id = p_task_id;
  RETURN v_agents;
END;
$$;

-- Writes a selection made elsewhere (the original path ranks client-side from a possibly stale
-- read): locks the task and the candidates like coordinator_assign_task, then requires every
-- chosen agent to still be a candidate (active, capable, below max_load). All or nothing: a
-- changed agent yields 'stale_selection', never an over-assignment.
-- Outcomes: assigned | task_not_found | task_not_pending | stale_selection | invalid_strategy |
-- invalid_agents.
CREATE OR REPLACE FUNCTION coordinator_commit_assignment(
  p_task_id    uuid,
  p_strategy   text,
  p_agent_ids  uuid[],
  p_request_id text DEFAULT NULL
) RETURNS TABLE (outcome text, task_id uuid, strategy text, task_status text, agents jsonb)
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  v_task     tasks%ROWTYPE;
  v_snapshot jsonb;
BEGIN
  IF p_strategy IS NULL
     OR p_strategy NOT IN ('round_robin', 'least_loaded', 'highest_trust', 'capability_match') THEN
    RETURN QUERY SELECT 'invalid_strategy'::text, p_task_id, p_strategy, NULL::text, '[]'::jsonb;
    RETURN;
  END IF;
  IF p_agent_ids IS NULL OR cardinality(p_agent_ids) NOT BETWEEN 1 AND 50
     OR array_position(p_agent_ids, NULL) IS NOT NULL
     OR (SELECT count(DISTINCT x) FROM unnest(p_agent_ids) AS x) <> cardinality(p_agent_ids) THEN
    RETURN QUERY SELECT 'invalid_agents'::text, p_task_id, p_strategy, NULL::text, '[]'::jsonb;
    RETURN;
  END IF;

  SELECT * INTO v_task FROM tasks AS t WHERE t.id = p_task_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'task_not_found'::text, p_task_id, p_strategy, NULL::text, '[]'::jsonb;
    RETURN;
  END IF;
  IF v_task.status <> 'pending' THEN
    RETURN QUERY SELECT 'task_not_pending'::text, p_task_id, p_strategy, v_task.status, '[]'::jsonb;
    RETURN;
  END IF;

  v_snapshot := coordinator_candidate_snapshot(v_task.required_capabilities, true);
  IF EXISTS (
    SELECT 1 FROM unnest(p_agent_ids) AS chosen(id)
    WHERE NOT EXISTS (
      SELECT 1 FROM jsonb_array_elements(v_snapshot) AS c WHERE (c ->> 'id')::uuid = chosen.id)
  ) THEN
    RETURN QUERY SELECT 'stale_selection'::text, p_task_id, p_strategy, v_task.status, '[]'::jsonb;
    RETURN;
  END IF;

  RETURN QUERY SELECT 'assigned'::text, p_task_id, p_strategy, 'assigned'::text,
    coordinator_write_assignment(p_task_id, p_strategy, p_agent_ids, v_snapshot, p_request_id);
END;
$$;

-- Selects and assigns up to p_max_agents agents to a pending task in one transaction: lock the
-- task (a second request for it waits, then sees it assigned), lock and read the candidates,
-- rank them, write. p_plan_only computes the same answer without locking or writing.
--
-- Shadow replay: the EdgeFunctionMigrator runs the shadow plan AFTER the primary answered, when
-- the primary has already assigned the task. So a plan for a task assigned by the SAME request
-- (p_request_id equals the recorded one) ranks the snapshot that assignment was made from,
-- answering what this implementation would have chosen from the same state.
-- Outcomes: assigned | planned | task_not_found | task_not_pending | no_capacity |
-- invalid_strategy | invalid_max_agents.
CREATE OR REPLACE FUNCTION coordinator_assign_task(
  p_task_id    uuid,
  p_strategy   text,
  p_max_agents integer DEFAULT 1,
  p_plan_only  boolean DEFAULT false,
  p_request_id text DEFAULT NULL
) RETURNS TABLE (outcome text, task_id uuid, strategy text, task_status text, agents jsonb)
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  v_plan     boolean := coalesce(p_plan_only, false);
  v_task     tasks%ROWTYPE;
  v_snapshot jsonb;
  v_ranked   jsonb;
  v_chosen   uuid[];
BEGIN
  IF p_strategy IS NULL
     OR p_strategy NOT IN ('round_robin', 'least_loaded', 'highest_trust', 'capability_match') THEN
    RETURN QUERY SELECT 'invalid_strategy'::text, p_task_id, p_strategy, NULL::text, '[]'::jsonb;
    RETURN;
  END IF;
  IF p_max_agents IS NULL OR p_max_agents NOT BETWEEN 1 AND 50 THEN
    RETURN QUERY SELECT 'invalid_max_agents'::text, p_task_id, p_strategy, NULL::text, '[]'::jsonb;
    RETURN;
  END IF;

  IF v_plan THEN
    SELECT * INTO v_task FROM tasks AS t WHERE t.id = p_task_id;
  ELSE
    SELECT * INTO v_task FROM tasks AS t WHERE t.id = p_task_id FOR UPDATE;
  END IF;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'task_not_found'::text, p_task_id, p_strategy, NULL::text, '[]'::jsonb;
    RETURN;
  END IF;

  IF v_task.status = 'pending' THEN
    v_snapshot := coordinator_candidate_snapshot(v_task.required_capabilities, NOT v_plan);
  ELSIF v_plan AND p_request_id IS NOT NULL AND v_task.assignment_request_id = p_request_id
        AND v_task.assignment_snapshot IS NOT NULL THEN
    v_snapshot := v_task.assignment_snapshot;
  ELSE
    RETURN QUERY SELECT 'task_not_pending'::text, p_task_id, p_strategy, v_task.status, '[]'::jsonb;
    RETURN;
  END IF;

  v_ranked := coordinator_rank_candidates(v_snapshot, p_strategy, p_max_agents);
  IF jsonb_array_length(v_ranked) = 0 THEN
    RETURN QUERY SELECT 'no_capacity'::text, p_task_id, p_strategy, v_task.status, '[]'::jsonb;
    RETURN;
  END IF;
  IF v_plan THEN
    RETURN QUERY SELECT 'planned'::text, p_task_id, p_strategy, v_task.status, v_ranked;
    RETURN;
  END IF;

  SELECT array_agg((e.value ->> 'id')::uuid ORDER BY e.ordinality) INTO v_chosen
  FROM jsonb_array_elements(v_ranked) WITH ORDINALITY AS e;
  RETURN QUERY SELECT 'assigned'::text, p_task_id, p_strategy, 'assigned'::text,
    coordinator_write_assignment(p_task_id, p_strategy, v_chosen, v_snapshot, p_request_id);
END;
$$;

-- Finishes one agent's assignment: frees its capacity and, when the task's last open assignment
-- finishes, completes the task (completed if any agent succeeded, else failed).
-- Outcomes: recorded | assignment_not_found | already_finished | invalid_duration.
CREATE OR REPLACE FUNCTION coordinator_complete_assignment(
  p_task_id     uuid,
  p_agent_id    uuid,
  p_success     boolean,
  p_duration_ms integer DEFAULT NULL
) RETURNS TABLE (outcome text, task_id uuid, agent_id uuid, task_status text)
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  v_task       tasks%ROWTYPE;
  v_assignment task_assignments%ROWTYPE;
  v_open       integer;
  v_status     text;
BEGIN
  IF p_success IS NULL OR (p_duration_ms IS NOT NULL AND p_duration_ms < 0) THEN
    RETURN QUERY SELECT 'invalid_duration'::text, p_task_id, p_agent_id, NULL::text;
    RETURN;
  END IF;
  SELECT * INTO v_task FROM tasks AS t WHERE t.id = p_task_id FOR UPDATE;
  SELECT * INTO v_assignment FROM task_assignments AS ta
  WHERE ta.task_id = p_task_id AND ta.agent_id = p_agent_id FOR UPDATE;
  IF v_task.id IS NULL OR v_assignment.id IS NULL THEN
    RETURN QUERY SELECT 'assignment_not_found'::text, p_task_id, p_agent_id, v_task.status;
    RETURN;
  END IF;
  IF v_assignment.status <> 'assigned' THEN
    RETURN QUERY SELECT 'already_finished'::text, p_task_id, p_agent_id, v_task.status;
    RETURN;
  END IF;

  UPDATE task_assignments AS ta
  SET status = CASE WHEN p_success THEN 'completed' ELSE 'failed' END,
      success = p_success,
      completed_at = now(),
      duration_ms = coalesce(
        p_duration_ms,
        greatest(0, round(extract(epoch FROM (clock_timestamp() - ta.assigned_at)) * 1000))::integer)
  WHERE ta.id = v_assignment.id;
  UPDATE agents AS a SET current_load = a.current_load - 1 WHERE a.id = p_agent_id;

  SELECT count(*) INTO v_open FROM task_assignments AS ta
  WHERE ta.task_id = p_task_id AND ta.status = 'assigned';
  v_status := v_task.status;
  IF v_open = 0 THEN
    SELECT CASE WHEN bool_or(ta.success) THEN 'completed' ELSE 'failed' END INTO v_status
    FROM task_assignments AS ta WHERE ta.task_id = p_task_id;
    UPDATE tasks AS t
    SET status = v_status,
        completed_at = now(),
        duration_ms = (SELECT max(ta.duration_ms) FROM task_assignments AS ta WHERE ta.task_id = p_task_id)
    WHERE t.id = p_task_id;
  END IF;
  RETURN QUERY SELECT 'recorded'::text, p_task_id, p_agent_id, v_status;
END;
$$;

-- TrustStream's getAgentMetrics, on task_assignments: task_count counts every assignment;
-- success_rate = successes / finished assignments (4 decimals; NULL until one finishes);
-- avg_duration_ms over finished assignments (whole ms). No row for an unknown agent.
CREATE OR REPLACE FUNCTION coordinator_agent_metrics(p_agent_id uuid)
RETURNS TABLE (
  agent_id        uuid,
  name            text,
  type            text,
  status          text,
  task_count      integer,
  active_count    integer,
  completed_count integer,
  failed_count    integer,
  success_rate    numeric,
  avg_duration_ms integer
)
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $$
  SELECT a.id, a.name, a.type, a.status,
         count(ta.id)::integer,
         count(ta.id) FILTER (WHERE ta.status = 'assigned')::integer,
         count(ta.id) FILTER (WHERE ta.status = 'completed')::integer,
         count(ta.id) FILTER (WHERE ta.status = 'failed')::integer,
         round(count(ta.id) FILTER (WHERE ta.success)::numeric
               / nullif(count(ta.id) FILTER (WHERE ta.status <> 'assigned'), 0), 4),
         round(avg(ta.duration_ms) FILTER (WHERE ta.status <> 'assigned'))::integer
  FROM agents AS a
  LEFT JOIN task_assignments AS ta ON ta.agent_id = a.id
  WHERE a.id = p_agent_id
  GROUP BY a.id, a.name, a.type, a.status
$$;

-- Privileges. The coordinator function talks to the database as service_role (which bypasses
-- RLS); signed-in users may read the agent directory directly; nothing else is exposed. The
-- Supabase roles exist only on Supabase and the local stand-in, so every statement naming them is
-- guarded and the migration also applies on plain PostgreSQL and PGlite. (When the stand-in's
-- schema is applied after this migration, it grants service_role everything in public itself.)
ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_assignments ENABLE ROW LEVEL SECURITY;

REVOKE ALL ON FUNCTION coordinator_candidate_snapshot(text[], boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION coordinator_write_assignment(uuid, text, uuid[], jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION coordinator_commit_assignment(uuid, text, uuid[], text) FROM PUBLIC;
REVOKE ALL ON FUNCTION coordinator_assign_task(uuid, text, integer, boolean, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION coordinator_complete_assignment(uuid, uuid, boolean, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION coordinator_agent_metrics(uuid) FROM PUBLIC;

DO $$
DECLARE
  v_role text;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON agents, tasks, task_assignments TO service_role;
    GRANT USAGE, SELECT ON SEQUENCE coordinator_assignment_seq TO service_role;
    GRANT EXECUTE ON FUNCTION
      coordinator_candidate_snapshot(text[], boolean),
      coordinator_rank_candidates(jsonb, text, integer),
      coordinator_write_assignment(uuid, text, uuid[], jsonb, text),
      coordinator_commit_assignment(uuid, text, uuid[], text),
      coordinator_assign_task(uuid, text, integer, boolean, text),
      coordinator_complete_assignment(uuid, uuid, boolean, integer),
      coordinator_agent_metrics(uuid),
      coordinator_normalize_capabilities(text[])
    TO service_role;
  END IF;
  -- Supabase's default privileges grant anon and authenticated everything on new objects:
  -- take writes and the mutating functions back explicitly.
  FOREACH v_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
      EXECUTE format('REVOKE ALL ON agents, tasks, task_assignments FROM %I', v_role);
      EXECUTE format('REVOKE ALL ON SEQUENCE coordinator_assignment_seq FROM %I', v_role);
      EXECUTE format(
        'REVOKE ALL ON FUNCTION coordinator_candidate_snapshot(text[], boolean), '
        'coordinator_write_assignment(uuid, text, uuid[], jsonb, text), '
        'coordinator_commit_assignment(uuid, text, uuid[], text), '
        'coordinator_assign_task(uuid, text, integer, boolean, text), '
        'coordinator_complete_assignment(uuid, uuid, boolean, integer), '
        'coordinator_agent_metrics(uuid) FROM %I', v_role);
    END IF;
  END LOOP;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    GRANT SELECT ON agents TO authenticated;
    IF NOT EXISTS (
      SELECT 1 FROM pg_policies
      WHERE schemaname = current_schema() AND tablename = 'agents'
        AND policyname = 'agents_readable_by_signed_in_users'
    ) THEN
      CREATE POLICY agents_readable_by_signed_in_users ON agents
        FOR SELECT TO authenticated USING (true);
    END IF;
  END IF;
END $$;
