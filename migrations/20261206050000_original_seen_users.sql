-- Which users the per-user original (shared/batch/original.ts) has handled, per migration.
-- GoTrue's admin listUsers pages by OFFSET over `ORDER BY created_at DESC` with no tiebreaker
-- (supabase/auth internal/models/user.go FindUsersInAudience), so users sharing a created_at can
-- be skipped or repeated across pages, and signups/deletions between pages shift them. The
-- original counts a user only the first time it lands here, and after the listing ends it
-- handles every auth.users row not in this set (reconciliation by set difference).
CREATE TABLE IF NOT EXISTS batch_original_seen (
  migration_id text NOT NULL REFERENCES migration_states (id) ON DELETE CASCADE,
  user_id      uuid NOT NULL,
  seen_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (migration_id, user_id)
);
