-- Indexes another index already covers (as its leading columns) only cost a write per row in
-- the batch migration's hot path:
-- - account_user_provider_key (UNIQUE "userId", "providerId") serves every lookup by "userId"
--   (about 15 % of the account insert in a 5,000-user batch);
-- - migrated_users_migration_auth_idx (migration_id, new_auth_id) serves every lookup by
--   migration_id.
DROP INDEX IF EXISTS "account_userId_idx";
DROP INDEX IF EXISTS migrated_users_migration_idx;
