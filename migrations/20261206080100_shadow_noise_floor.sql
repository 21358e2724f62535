-- Shadow noise floor (shared/migrator/noise-floor.ts): a mismatch on a path that also differs
-- between two runs of the same implementation is noise, not disagreement. Each comparison keeps
-- which of its differing paths were noise and whether anything is left (disagreement); each
-- request metric keeps the same verdict, so health can judge the disagreement rate (matches are
-- only counted in performance_metrics, never stored in shadow_comparisons).
-- Rows written before this migration have no verdict: every mismatch of theirs counts as a
-- disagreement (coalesce(disagreement, mismatch) / coalesce(disagreement, NOT matched)).
ALTER TABLE shadow_comparisons
  ADD COLUMN IF NOT EXISTS noise_paths text[] NOT NULL DEFAULT '{}',
  ADD COLUMN IF NOT EXISTS disagreement boolean;

ALTER TABLE performance_metrics ADD COLUMN IF NOT EXISTS disagreement boolean;

-- Per function and hour: comparisons, raw mismatches, noise-only mismatches, disagreements.
CREATE OR REPLACE VIEW shadow_disagreement_rates AS
SELECT
  function_name,
  date_trunc('hour', recorded_at) AS hour,
  count(*) FILTER (WHERE mismatch IS NOT NULL) AS compared,
  count(*) FILTER (WHERE mismatch) AS mismatches,
  count(*) FILTER (WHERE mismatch AND NOT coalesce(disagreement, mismatch)) AS noise_only,
  count(*) FILTER (WHERE coalesce(disagreement, mismatch)) AS disagreements,
  (count(*) FILTER (WHERE coalesce(disagreement, mismatch)))::double precision
    / NULLIF(count(*) FILTER (WHERE mismatch IS NOT NULL), 0) AS disagreement_rate
FROM performance_metrics
GROUP BY function_name, date_trunc('hour', recorded_at);
