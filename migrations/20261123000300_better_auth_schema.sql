-- Better Auth 1.7 core schema (as its own migration generator emits it for PostgreSQL with
-- generateId "uuid"), extended for the migration:
-- * ids are uuid, so a migrated user keeps the Supabase user id;
-- * user_metadata / app_metadata carry Supabase's raw_user_meta_data / raw_app_meta_data;
-- * one account per (provider, account id) and one credential account per user, so re-running a
--   migration can never create a second account row.
CREATE TABLE IF NOT EXISTS "user" (
  "id"            uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
  "name"          text NOT NULL,
  "email"         text NOT NULL UNIQUE,
  "emailVerified" boolean NOT NULL,
  "image"         text,
  "userMetadata"  jsonb NOT NULL DEFAULT '{}'::jsonb,
  "appMetadata"   jsonb NOT NULL DEFAULT '{}'::jsonb,
  "createdAt"     timestamptz DEFAULT CURRENT_TIMESTAMP NOT NULL,
  "updatedAt"     timestamptz DEFAULT CURRENT_TIMESTAMP NOT NULL,
  CHECK ("email" = lower("email"))
);

CREATE TABLE IF NOT EXISTS "session" (
  "id"        uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
  "expiresAt" timestamptz NOT NULL,
  "token"     text NOT NULL UNIQUE,
  "createdAt" timestamptz DEFAULT CURRENT_TIMESTAMP NOT NULL,
  "updatedAt" timestamptz NOT NULL,
  "ipAddress" text,
  "userAgent" text,
  "userId"    uuid NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "session_userId_idx" ON "session" ("userId");

CREATE TABLE IF NOT EXISTS "account" (
  "id"                    uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
  "accountId"             text NOT NULL,
  "providerId"            text NOT NULL,
  "userId"                uuid NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE,
  "accessToken"           text,
  "refreshToken"          text,
  "idToken"               text,
  "accessTokenExpiresAt"  timestamptz,
  "refreshTokenExpiresAt" timestamptz,
  "scope"                 text,
  "password"              text,
  "createdAt"             timestamptz DEFAULT CURRENT_TIMESTAMP NOT NULL,
  "updatedAt"             timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS "account_userId_idx" ON "account" ("userId");
CREATE UNIQUE INDEX IF NOT EXISTS "account_provider_account_key" ON "account" ("providerId", "accountId");
CREATE UNIQUE INDEX IF NOT EXISTS "account_user_provider_key" ON "account" ("userId", "providerId");

CREATE TABLE IF NOT EXISTS "verification" (
  "id"         uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
  "identifier" text NOT NULL,
  "value"      text NOT NULL,
  "expiresAt"  timestamptz NOT NULL,
  "createdAt"  timestamptz DEFAULT CURRENT_TIMESTAMP NOT NULL,
  "updatedAt"  timestamptz DEFAULT CURRENT_TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS "verification_identifier_idx" ON "verification" ("identifier");

ALTER TABLE "user" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "session" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "account" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "verification" ENABLE ROW LEVEL SECURITY;
