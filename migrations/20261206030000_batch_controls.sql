-- Operator levers of the batch migration (shared/ops/batch-levers.ts), one row: pause, a
-- throttle in users per second, and an allowed time-of-day window (UTC; may wrap midnight).
-- Read by every engine call before each batch; an engaged emergency rollback (runtime_flags '*'
-- force_original) stops Better Auth writes by the batch as well.
CREATE TABLE IF NOT EXISTS batch_controls (
  id                   boolean PRIMARY KEY DEFAULT true CHECK (id),
  paused               boolean NOT NULL DEFAULT false,
  max_users_per_second double precision CHECK (max_users_per_second IS NULL OR max_users_per_second > 0),
  window_start         time,
  window_end           time,
  reason               text,
  updated_by           text,
  updated_at           timestamptz NOT NULL DEFAULT now(),
  CHECK ((window_start IS NULL) = (window_end IS NULL)),
  CHECK (window_start IS NULL OR window_start <> window_end)
);
ALTER TABLE batch_controls ENABLE ROW LEVEL SECURITY;
