-- Supabase Auth's auth.users.invited_at and last_sign_in_at have no column in Better Auth's core
-- schema or in the admin, anonymous, phone-number and two-factor plugins (@better-auth/core 1.7
-- dist/db/get-tables.mjs, better-auth dist/plugins/<name>/schema.mjs), so the batch migration keeps them
-- here. Better Auth ignores columns it does not declare.
ALTER TABLE "user"
  ADD COLUMN IF NOT EXISTS "invitedAt"    timestamptz,
  ADD COLUMN IF NOT EXISTS "lastSignInAt" timestamptz;
