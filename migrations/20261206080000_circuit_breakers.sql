-- Circuit breakers of the abstracted path (shared/migrator/circuit-breaker.ts), shared by every
-- instance of a function. One row per breaker name ("coordinator", "signup:better_auth", ...).
-- Instances count failures on their own; the one that trips publishes the open state here, and
-- every other instance adopts it on its next read (at most one cache TTL later). After open_until
-- exactly one instance wins the half-open probe lease (probe_until) with a conditional UPDATE, so
-- a hanging dependency costs one timeout per probe interval across all instances.
CREATE TABLE IF NOT EXISTS circuit_breakers (
  name         text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_:-]{0,99}$'),
  state        text NOT NULL CHECK (state IN ('open', 'closed')),
  -- When the open interval ends and a probe may be tried (NULL when closed).
  open_until   timestamptz,
  -- A probe is in flight until this time (its lease; a crashed prober's lease simply expires).
  probe_until  timestamptz,
  opened_count bigint NOT NULL DEFAULT 0 CHECK (opened_count >= 0),
  reason       text,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (state = 'closed' OR open_until IS NOT NULL)
);

ALTER TABLE circuit_breakers ENABLE ROW LEVEL SECURITY;
