-- Change capture in both directions for the migration window (shared/sync/ applies the rows).
--
-- Supabase → Better Auth: triggers on auth.users and auth.identities append 'to_better_auth'
-- rows to identity_change_outbox. They run inside GoTrue's own transactions, so they must never
-- fail or stall a GoTrue write: every capture runs in its own exception block with a short
-- lock_timeout; a capture that fails is recorded in identity_change_capture_failures (the
-- applier re-captures that user's current state from auth.users), and if even that fails a
-- WARNING goes to the PostgreSQL log and `resync` (a full re-capture) repairs it.
--
-- Better Auth → Supabase: triggers on "user" and account append 'to_supabase' rows for changes
-- made on the Better Auth side, in the same transaction as the change (a lost capture would lose
-- a signup or a password on rollback, so here capture and change commit together). Copies that
-- come FROM Supabase are not captured: the Supabase → Better Auth applier marks its transaction
-- with set_config('edge_migrator.sync_origin', 'supabase', true), and inserts of a user that
-- already exists in auth.users (batch copy, lazy migration, dual write) with the same hash are
-- copies too. Once the migration is declared complete (identity_sync_state.completed_at) this
-- direction stops capturing.
--
-- Hosted Supabase: schema auth belongs to supabase_auth_admin. Since 2025-04-21 a project may
-- still create triggers on auth.users and auth.identities but may not create tables or functions
-- in schema auth (supabase.com/changelog/34270); and postgres cannot DROP a trigger on auth.users
-- (not the table's owner: supabase/auth#1067). So the trigger functions live in public, the
-- triggers are only ever CREATEd (never dropped or replaced; a changed function body is picked
-- up by CREATE OR REPLACE FUNCTION), and SECURITY DEFINER makes them run as their owner
-- (postgres), because GoTrue's role has no rights on schema public (supabase/supabase#21825).
-- Where auth.users does not exist yet when this runs (a plain database; the local stand-in
-- creates it after migrations in tests), identity_sync_install_auth_triggers() is a no-op that
-- can be called again once it does.

ALTER TABLE identity_change_outbox
  -- first time the applier found the user missing on the target side (see shared/sync/)
  ADD COLUMN IF NOT EXISTS deferred_at timestamptz,
  -- how the row was settled: 'applied', 'skipped_absent', 'echo', 'noop'
  ADD COLUMN IF NOT EXISTS outcome text;

-- The outbox carries password hashes: never readable through the REST API (anon/authenticated
-- get no policy; the service role and the table owner bypass RLS).
ALTER TABLE identity_change_outbox ENABLE ROW LEVEL SECURITY;

CREATE TABLE IF NOT EXISTS identity_sync_state (
  id           boolean PRIMARY KEY DEFAULT true CHECK (id),
  -- set by an operator ("declared complete"): Better Auth → Supabase capture stops, new
  -- passwords are hashed with scrypt and bcrypt hashes are re-hashed on login
  completed_at timestamptz,
  completed_by text,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO identity_sync_state (id) VALUES (true) ON CONFLICT DO NOTHING;
ALTER TABLE identity_sync_state ENABLE ROW LEVEL SECURITY;

CREATE TABLE IF NOT EXISTS identity_change_capture_failures (
  id          bigserial PRIMARY KEY,
  source      text NOT NULL,
  op          text NOT NULL,
  user_ids    uuid[] NOT NULL DEFAULT '{}',
  sqlstate    text,
  message     text,
  failed_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  resolved_at timestamptz
);
CREATE INDEX IF NOT EXISTS identity_change_capture_failures_open_idx
  ON identity_change_capture_failures (id) WHERE resolved_at IS NULL;
ALTER TABLE identity_change_capture_failures ENABLE ROW LEVEL SECURITY;

-- One applier at a time per user, whichever direction: a lease row (a killed applier's lease
-- expires). Leases, not transactions, because the Better Auth → Supabase applier calls GoTrue
-- over HTTP between its reads and its writes.
CREATE TABLE IF NOT EXISTS identity_sync_leases (
  user_id    uuid PRIMARY KEY,
  holder     text NOT NULL,
  expires_at timestamptz NOT NULL
);
ALTER TABLE identity_sync_leases ENABLE ROW LEVEL SECURITY;

-- What the Better Auth copy needs from a row of auth.users (no tokens, no churn columns).
CREATE OR REPLACE FUNCTION public.identity_sync_user_payload(r jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
  SELECT jsonb_build_object(
    'email', r -> 'email',
    'encrypted_password', r -> 'encrypted_password',
    'email_confirmed_at', r -> 'email_confirmed_at',
    'phone', r -> 'phone',
    'phone_confirmed_at', r -> 'phone_confirmed_at',
    'banned_until', r -> 'banned_until',
    'deleted_at', r -> 'deleted_at',
    'raw_user_meta_data', r -> 'raw_user_meta_data',
    'raw_app_meta_data', r -> 'raw_app_meta_data',
    'is_anonymous', r -> 'is_anonymous')
$$;

CREATE OR REPLACE FUNCTION public.identity_sync_identity_payload(r jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
  SELECT jsonb_build_object(
    'identity_id', r -> 'id',
    'provider', r -> 'provider',
    'provider_id', r -> 'provider_id')
$$;

-- `after` plus "changed": the keys whose values differ from `before`.
CREATE OR REPLACE FUNCTION public.identity_sync_changed(before jsonb, after jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
  SELECT after || jsonb_build_object('changed', coalesce(
    (SELECT jsonb_agg(key ORDER BY key) FROM jsonb_each(after)
     WHERE value IS DISTINCT FROM before -> key), '[]'::jsonb))
$$;

-- auth.users: INSERT and DELETE per statement (transition tables: a bulk import costs one
-- capture), UPDATE per row behind a WHEN clause (churn never even calls the function).
CREATE OR REPLACE FUNCTION public.identity_sync_capture_auth_users() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' SET lock_timeout = '500ms' AS $$
DECLARE
  ids uuid[];
BEGIN
  IF coalesce(current_setting('edge_migrator.sync_origin', true), '') = 'better_auth' THEN
    RETURN NULL;
  END IF;
  BEGIN
    IF TG_OP = 'UPDATE' THEN
      -- The full new state plus which of its keys this write changed: the applier writes only
      -- those, so an older Supabase row can never undo a newer Better Auth change elsewhere.
      INSERT INTO public.identity_change_outbox (direction, user_id, entity, op, payload)
      VALUES ('to_better_auth', NEW.id, 'user', 'update',
              public.identity_sync_changed(public.identity_sync_user_payload(to_jsonb(OLD)),
                                           public.identity_sync_user_payload(to_jsonb(NEW))));
    ELSIF TG_OP = 'INSERT' THEN
      INSERT INTO public.identity_change_outbox (direction, user_id, entity, op, payload)
      SELECT 'to_better_auth', n.id, 'user', 'insert', public.identity_sync_user_payload(to_jsonb(n))
      FROM new_rows n;
    ELSE
      INSERT INTO public.identity_change_outbox (direction, user_id, entity, op, payload)
      SELECT 'to_better_auth', o.id, 'user', 'delete', '{}'::jsonb FROM old_rows o;
    END IF;
  EXCEPTION WHEN OTHERS THEN
    BEGIN
      -- One branch per operation: a statement naming new_rows cannot even be parsed in a
      -- trigger call that has no such transition table.
      IF TG_OP = 'UPDATE' THEN
        ids := ARRAY[NEW.id];
      ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(id) INTO ids FROM new_rows;
      ELSE
        SELECT array_agg(id) INTO ids FROM old_rows;
      END IF;
      INSERT INTO public.identity_change_capture_failures (source, op, user_ids, sqlstate, message)
      VALUES ('auth.users', lower(TG_OP), coalesce(ids, '{}'), SQLSTATE, left(SQLERRM, 300));
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'identity change capture lost a % on auth.users (%); run sync resync',
        lower(TG_OP), SQLSTATE;
    END;
  END;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION public.identity_sync_capture_auth_identities() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' SET lock_timeout = '500ms' AS $$
DECLARE
  ids uuid[];
BEGIN
  IF coalesce(current_setting('edge_migrator.sync_origin', true), '') = 'better_auth' THEN
    RETURN NULL;
  END IF;
  BEGIN
    IF TG_OP = 'UPDATE' THEN
      -- A changed provider id is an unlink of the old one and a link of the new one.
      INSERT INTO public.identity_change_outbox (direction, user_id, entity, op, payload)
      VALUES ('to_better_auth', OLD.user_id, 'identity', 'delete',
              public.identity_sync_identity_payload(to_jsonb(OLD))),
             ('to_better_auth', NEW.user_id, 'identity', 'insert',
              public.identity_sync_identity_payload(to_jsonb(NEW)));
    ELSIF TG_OP = 'INSERT' THEN
      INSERT INTO public.identity_change_outbox (direction, user_id, entity, op, payload)
      SELECT 'to_better_auth', n.user_id, 'identity', 'insert',
             public.identity_sync_identity_payload(to_jsonb(n))
      FROM new_rows n;
    ELSE
      INSERT INTO public.identity_change_outbox (direction, user_id, entity, op, payload)
      SELECT 'to_better_auth', o.user_id, 'identity', 'delete',
             public.identity_sync_identity_payload(to_jsonb(o))
      FROM old_rows o;
    END IF;
  EXCEPTION WHEN OTHERS THEN
    BEGIN
      IF TG_OP = 'UPDATE' THEN
        ids := ARRAY[OLD.user_id, NEW.user_id];
      ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(user_id) INTO ids FROM new_rows;
      ELSE
        SELECT array_agg(user_id) INTO ids FROM old_rows;
      END IF;
      INSERT INTO public.identity_change_capture_failures (source, op, user_ids, sqlstate, message)
      VALUES ('auth.identities', lower(TG_OP), coalesce(ids, '{}'), SQLSTATE, left(SQLERRM, 300));
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'identity change capture lost a % on auth.identities (%); run sync resync',
        lower(TG_OP), SQLSTATE;
    END;
  END;
  RETURN NULL;
END
$$;

-- Creates the auth triggers that are missing (never drops one: see the header). True when
-- auth.users and auth.identities exist.
CREATE OR REPLACE FUNCTION public.identity_sync_install_auth_triggers() RETURNS boolean
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  wanted constant text[][] := ARRAY[
    ['auth.users', 'identity_sync_users_insert',
     'AFTER INSERT ON auth.users REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT '
     'EXECUTE FUNCTION public.identity_sync_capture_auth_users()'],
    ['auth.users', 'identity_sync_users_delete',
     'AFTER DELETE ON auth.users REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT '
     'EXECUTE FUNCTION public.identity_sync_capture_auth_users()'],
    -- Only what the Better Auth copy holds. last_sign_in_at, updated_at, the token columns and
    -- confirmation_sent_at change on every login or mail: capturing them would add a row per
    -- login and keep every active user "not in sync" for no change Better Auth could use.
    ['auth.users', 'identity_sync_users_update',
     'AFTER UPDATE ON auth.users FOR EACH ROW WHEN ('
     'OLD.encrypted_password IS DISTINCT FROM NEW.encrypted_password OR '
     'OLD.email IS DISTINCT FROM NEW.email OR '
     'OLD.email_confirmed_at IS DISTINCT FROM NEW.email_confirmed_at OR '
     'OLD.phone IS DISTINCT FROM NEW.phone OR '
     'OLD.phone_confirmed_at IS DISTINCT FROM NEW.phone_confirmed_at OR '
     'OLD.banned_until IS DISTINCT FROM NEW.banned_until OR '
     'OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR '
     'OLD.raw_user_meta_data IS DISTINCT FROM NEW.raw_user_meta_data OR '
     'OLD.raw_app_meta_data IS DISTINCT FROM NEW.raw_app_meta_data OR '
     'OLD.is_anonymous IS DISTINCT FROM NEW.is_anonymous) '
     'EXECUTE FUNCTION public.identity_sync_capture_auth_users()'],
    ['auth.identities', 'identity_sync_identities_insert',
     'AFTER INSERT ON auth.identities REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT '
     'EXECUTE FUNCTION public.identity_sync_capture_auth_identities()'],
    ['auth.identities', 'identity_sync_identities_delete',
     'AFTER DELETE ON auth.identities REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT '
     'EXECUTE FUNCTION public.identity_sync_capture_auth_identities()'],
    -- identity_data and last_sign_in_at change on every OAuth login; only the link matters.
    ['auth.identities', 'identity_sync_identities_update',
     'AFTER UPDATE ON auth.identities FOR EACH ROW WHEN ('
     'OLD.provider IS DISTINCT FROM NEW.provider OR '
     'OLD.provider_id IS DISTINCT FROM NEW.provider_id OR '
     'OLD.user_id IS DISTINCT FROM NEW.user_id) '
     'EXECUTE FUNCTION public.identity_sync_capture_auth_identities()']
  ];
  i int;
BEGIN
  IF to_regclass('auth.users') IS NULL OR to_regclass('auth.identities') IS NULL THEN
    RETURN false;
  END IF;
  FOR i IN 1 .. array_length(wanted, 1) LOOP
    IF NOT EXISTS (
      SELECT 1 FROM pg_catalog.pg_trigger
      WHERE tgrelid = wanted[i][1]::regclass AND tgname = wanted[i][2]
    ) THEN
      EXECUTE format('CREATE TRIGGER %I %s', wanted[i][2], wanted[i][3]);
    END IF;
  END LOOP;
  RETURN true;
END
$$;

SELECT public.identity_sync_install_auth_triggers();

-- Better Auth side. Payloads carry no secrets: the applier reads the current Better Auth state.
CREATE OR REPLACE FUNCTION public.identity_sync_capture_better_auth() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  with_auth constant boolean := to_regclass('auth.users') IS NOT NULL;
BEGIN
  IF coalesce(current_setting('edge_migrator.sync_origin', true), '') = 'supabase' THEN
    RETURN NULL;
  END IF;
  IF EXISTS (SELECT 1 FROM public.identity_sync_state WHERE completed_at IS NOT NULL) THEN
    RETURN NULL;
  END IF;
  IF TG_TABLE_NAME = 'user' THEN
    IF TG_OP = 'UPDATE' THEN
      INSERT INTO public.identity_change_outbox (direction, user_id, entity, op, payload)
      VALUES ('to_supabase', NEW.id, 'user', 'update', public.identity_sync_changed(
        jsonb_build_object('email', OLD.email, 'emailVerified', OLD."emailVerified",
                           'userMetadata', OLD."userMetadata", 'banned', OLD.banned,
                           'banExpires', OLD."banExpires"),
        jsonb_build_object('email', NEW.email, 'emailVerified', NEW."emailVerified",
                           'userMetadata', NEW."userMetadata", 'banned', NEW.banned,
                           'banExpires', NEW."banExpires")) - 'userMetadata');
    ELSIF TG_OP = 'DELETE' THEN
      INSERT INTO public.identity_change_outbox (direction, user_id, entity, op)
      SELECT 'to_supabase', o.id, 'user', 'delete' FROM old_rows o;
    ELSIF with_auth THEN
      -- A user that exists in auth.users was copied from there (batch, lazy, dual write).
      INSERT INTO public.identity_change_outbox (direction, user_id, entity, op)
      SELECT 'to_supabase', n.id, 'user', 'insert' FROM new_rows n
      WHERE NOT EXISTS (SELECT 1 FROM auth.users u WHERE u.id = n.id);
    ELSE
      INSERT INTO public.identity_change_outbox (direction, user_id, entity, op)
      SELECT 'to_supabase', n.id, 'user', 'insert' FROM new_rows n;
    END IF;
  ELSE
    -- account: only the credential password matters to Supabase Auth.
    IF TG_OP = 'UPDATE' THEN
      INSERT INTO public.identity_change_outbox (direction, user_id, entity, op)
      VALUES ('to_supabase', NEW."userId", 'password', 'update');
    ELSIF with_auth THEN
      -- Supabase's own hash copied over is not a change; any other password is.
      INSERT INTO public.identity_change_outbox (direction, user_id, entity, op)
      SELECT 'to_supabase', n."userId", 'password', 'insert' FROM new_rows n
      WHERE n."providerId" = 'credential' AND n.password IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM auth.users u
                        WHERE u.id = n."userId" AND u.encrypted_password = n.password);
    ELSE
      INSERT INTO public.identity_change_outbox (direction, user_id, entity, op)
      SELECT 'to_supabase', n."userId", 'password', 'insert' FROM new_rows n
      WHERE n."providerId" = 'credential' AND n.password IS NOT NULL;
    END IF;
  END IF;
  RETURN NULL;
END
$$;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'identity_sync_ba_user_insert') THEN
    CREATE TRIGGER identity_sync_ba_user_insert AFTER INSERT ON "user"
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
      EXECUTE FUNCTION public.identity_sync_capture_better_auth();
    CREATE TRIGGER identity_sync_ba_user_delete AFTER DELETE ON "user"
      REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
      EXECUTE FUNCTION public.identity_sync_capture_better_auth();
    CREATE TRIGGER identity_sync_ba_user_update AFTER UPDATE ON "user" FOR EACH ROW
      WHEN (OLD.email IS DISTINCT FROM NEW.email
            OR OLD."emailVerified" IS DISTINCT FROM NEW."emailVerified"
            OR OLD."userMetadata" IS DISTINCT FROM NEW."userMetadata"
            OR OLD.banned IS DISTINCT FROM NEW.banned
            OR OLD."banExpires" IS DISTINCT FROM NEW."banExpires")
      EXECUTE FUNCTION public.identity_sync_capture_better_auth();
    CREATE TRIGGER identity_sync_ba_account_insert AFTER INSERT ON account
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
      EXECUTE FUNCTION public.identity_sync_capture_better_auth();
    CREATE TRIGGER identity_sync_ba_account_update AFTER UPDATE ON account FOR EACH ROW
      WHEN (NEW."providerId" = 'credential' AND OLD.password IS DISTINCT FROM NEW.password)
      EXECUTE FUNCTION public.identity_sync_capture_better_auth();
  END IF;
END $$;
