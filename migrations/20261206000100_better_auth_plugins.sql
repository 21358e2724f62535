-- Schema of the Better Auth plugins configured in shared/auth/better-auth-plugins.ts (admin,
-- anonymous, phone number, two-factor), as their schema.ts files declare them in better-auth
-- 1.7 (dist/plugins/<name>/schema.mjs), with uuid ids like the core tables.
ALTER TABLE "user"
  ADD COLUMN IF NOT EXISTS "role"                text,
  ADD COLUMN IF NOT EXISTS "banned"              boolean DEFAULT false,
  ADD COLUMN IF NOT EXISTS "banReason"           text,
  ADD COLUMN IF NOT EXISTS "banExpires"          timestamptz,
  ADD COLUMN IF NOT EXISTS "isAnonymous"         boolean DEFAULT false,
  ADD COLUMN IF NOT EXISTS "phoneNumber"         text UNIQUE,
  ADD COLUMN IF NOT EXISTS "phoneNumberVerified" boolean,
  ADD COLUMN IF NOT EXISTS "twoFactorEnabled"    boolean DEFAULT false;

ALTER TABLE "session" ADD COLUMN IF NOT EXISTS "impersonatedBy" text;

CREATE TABLE IF NOT EXISTS "twoFactor" (
  "id"                      uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
  "secret"                  text NOT NULL,
  "backupCodes"             text NOT NULL,
  "userId"                  uuid NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE,
  "verified"                boolean DEFAULT true,
  "failedVerificationCount" integer DEFAULT 0,
  "lockedUntil"             timestamptz
);
CREATE INDEX IF NOT EXISTS "twoFactor_secret_idx" ON "twoFactor" ("secret");
CREATE INDEX IF NOT EXISTS "twoFactor_userId_idx" ON "twoFactor" ("userId");
