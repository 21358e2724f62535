-- The Supabase → Better Auth applier's per-row work, in the database (shared/sync/
-- to-better-auth.ts calls identity_sync_apply_to_better_auth once per batch of users): one round
-- trip per batch instead of ~6 per user, which is what lets one applier keep up with a steady
-- stream of changes. Each user runs in its own subtransaction: a failing user is reported and
-- rolled back alone. The transaction is marked sync_origin = 'supabase', so the Better Auth
-- triggers do not capture these writes back (echo suppression).
--
-- Mapping (auth.users → Better Auth): encrypted_password → credential account (a changed hash
-- revokes the sessions); email / email_confirmed_at → email / emailVerified; phone /
-- phone_confirmed_at → phoneNumber / phoneNumberVerified; banned_until in the future → banned,
-- banExpires, banReason and the sessions revoked; deleted_at (soft delete) or a deleted row → the
-- user is deleted; raw_user_meta_data / raw_app_meta_data → userMetadata / appMetadata keeping
-- the batch copy's keys; is_anonymous → isAnonymous; identities → non-credential accounts. An
-- update row lists the keys it changed ("changed") and only those are written, so an older
-- Supabase row never undoes a newer Better Auth change of another field.

CREATE OR REPLACE FUNCTION public.identity_sync_link(p_user uuid, p_provider text, p_account text)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  owner uuid;
BEGIN
  IF p_provider IS NULL OR p_provider = '' OR p_account IS NULL OR p_account = '' THEN
    RAISE EXCEPTION 'identity row without provider / provider_id';
  END IF;
  -- One account per provider and user (account_user_provider_key): a re-link moves it.
  UPDATE public.account SET "accountId" = p_account, "updatedAt" = now()
   WHERE "userId" = p_user AND "providerId" = p_provider;
  IF NOT FOUND THEN
    INSERT INTO public.account (id, "accountId", "providerId", "userId", "createdAt", "updatedAt")
    VALUES (gen_random_uuid(), p_account, p_provider, p_user, now(), now())
    ON CONFLICT ("providerId", "accountId") DO NOTHING;
  END IF;
  SELECT "userId" INTO owner FROM public.account
   WHERE "providerId" = p_provider AND "accountId" = p_account;
  IF owner IS DISTINCT FROM p_user THEN
    RAISE EXCEPTION 'the % identity belongs to another Better Auth user', p_provider;
  END IF;
END
$$;

-- Applies one outbox row; true when the user is gone afterwards (later rows have nothing to do).
CREATE OR REPLACE FUNCTION public.identity_sync_apply_row(p_user uuid, p_row jsonb,
                                                          p_copy_keys text[])
RETURNS boolean LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  entity  constant text := p_row ->> 'entity';
  op      constant text := p_row ->> 'op';
  j       constant jsonb := coalesce(p_row -> 'payload', '{}'::jsonb);
  changed text[];
  banned_until timestamptz;
  phone   text;
  hash    text;
  item    jsonb;
BEGIN
  IF entity = 'identity' THEN
    IF op = 'delete' THEN
      DELETE FROM public.account WHERE "userId" = p_user AND "providerId" = j ->> 'provider'
                                   AND "accountId" = j ->> 'provider_id';
    ELSE
      PERFORM public.identity_sync_link(p_user, j ->> 'provider', j ->> 'provider_id');
    END IF;
    RETURN false;
  ELSIF entity = 'identities' THEN
    DELETE FROM public.account a
     WHERE a."userId" = p_user AND a."providerId" <> 'credential'
       AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(j -> 'identities', '[]')) e
                       WHERE e ->> 'provider' = a."providerId"
                         AND e ->> 'provider_id' = a."accountId");
    FOR item IN SELECT * FROM jsonb_array_elements(coalesce(j -> 'identities', '[]')) LOOP
      PERFORM public.identity_sync_link(p_user, item ->> 'provider', item ->> 'provider_id');
    END LOOP;
    RETURN false;
  ELSIF entity IS DISTINCT FROM 'user' THEN
    RAISE EXCEPTION 'unknown outbox entity %', coalesce(entity, 'NULL');
  END IF;

  -- An update names the keys it changed; an insert or a re-capture carries the whole state.
  IF op = 'update' AND jsonb_typeof(j -> 'changed') = 'array' THEN
    changed := ARRAY(SELECT jsonb_array_elements_text(j -> 'changed'));
  END IF;
  IF op = 'delete' OR ((changed IS NULL OR 'deleted_at' = ANY(changed))
                       AND j ->> 'deleted_at' IS NOT NULL) THEN
    DELETE FROM public."user" WHERE id = p_user;
    RETURN true;
  END IF;
  banned_until := (j ->> 'banned_until')::timestamptz;
  phone := nullif(j ->> 'phone', '');
  UPDATE public."user" u SET
    email = CASE WHEN changed IS NULL OR 'email' = ANY(changed)
                 THEN coalesce(lower(nullif(j ->> 'email', '')), u.email) ELSE u.email END,
    "emailVerified" = CASE WHEN changed IS NULL OR 'email_confirmed_at' = ANY(changed)
                           THEN j ->> 'email_confirmed_at' IS NOT NULL ELSE u."emailVerified" END,
    "phoneNumber" = CASE WHEN changed IS NULL OR 'phone' = ANY(changed)
                         THEN phone ELSE u."phoneNumber" END,
    "phoneNumberVerified" = CASE WHEN changed IS NULL OR 'phone_confirmed_at' = ANY(changed)
                                 THEN CASE WHEN phone IS NULL THEN NULL
                                           ELSE j ->> 'phone_confirmed_at' IS NOT NULL END
                                 ELSE u."phoneNumberVerified" END,
    banned = CASE WHEN changed IS NULL OR 'banned_until' = ANY(changed)
                  THEN coalesce(banned_until > now(), false) ELSE u.banned END,
    "banExpires" = CASE WHEN changed IS NULL OR 'banned_until' = ANY(changed)
                        THEN CASE WHEN banned_until > now() THEN banned_until END
                        ELSE u."banExpires" END,
    "banReason" = CASE WHEN changed IS NULL OR 'banned_until' = ANY(changed)
                       THEN CASE WHEN banned_until > now()
                                 THEN coalesce(u."banReason", 'banned in Supabase Auth') END
                       ELSE u."banReason" END,
    "userMetadata" = CASE WHEN changed IS NULL OR 'raw_user_meta_data' = ANY(changed)
                          THEN CASE WHEN jsonb_typeof(j -> 'raw_user_meta_data') = 'object'
                                    THEN j -> 'raw_user_meta_data' ELSE '{}'::jsonb END
                               || (SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb)
                                   FROM jsonb_each(u."userMetadata")
                                   WHERE key = ANY(p_copy_keys))
                          ELSE u."userMetadata" END,
    "appMetadata" = CASE WHEN changed IS NULL OR 'raw_app_meta_data' = ANY(changed)
                         THEN CASE WHEN jsonb_typeof(j -> 'raw_app_meta_data') = 'object'
                                   THEN j -> 'raw_app_meta_data' ELSE '{}'::jsonb END
                              || CASE WHEN u."appMetadata" ? 'provider'
                                      THEN jsonb_build_object('provider',
                                                              u."appMetadata" -> 'provider')
                                      ELSE '{}'::jsonb END
                         ELSE u."appMetadata" END,
    "isAnonymous" = CASE WHEN changed IS NULL OR 'is_anonymous' = ANY(changed)
                         THEN coalesce((j ->> 'is_anonymous')::boolean, false)
                         ELSE u."isAnonymous" END,
    "updatedAt" = now()
  WHERE u.id = p_user;
  IF NOT FOUND THEN
    RETURN true;
  END IF;

  IF changed IS NULL OR 'encrypted_password' = ANY(changed) THEN
    hash := nullif(j ->> 'encrypted_password', '');
    IF hash IS NOT NULL THEN
      INSERT INTO public.account AS a (id, "accountId", "providerId", "userId", password,
                                       "createdAt", "updatedAt")
      VALUES (gen_random_uuid(), p_user::text, 'credential', p_user, hash, now(), now())
      ON CONFLICT ("userId", "providerId") DO UPDATE
        SET password = EXCLUDED.password, "updatedAt" = now()
        WHERE a.password IS DISTINCT FROM EXCLUDED.password;
    ELSE
      UPDATE public.account SET password = NULL, "updatedAt" = now()
       WHERE "userId" = p_user AND "providerId" = 'credential' AND password IS NOT NULL;
    END IF;
    IF FOUND THEN
      -- A new password ends every session the old one opened.
      DELETE FROM public."session" WHERE "userId" = p_user;
    END IF;
  END IF;
  IF (changed IS NULL OR 'banned_until' = ANY(changed)) AND banned_until > now() THEN
    DELETE FROM public."session" WHERE "userId" = p_user;
  END IF;
  RETURN false;
END
$$;

-- p_batch: [{"user_id": uuid, "rows": [{"id", "entity", "op", "payload"}, ...]}, ...], each
-- user's rows oldest first. Returns one row per user: error NULL when applied and settled.
CREATE OR REPLACE FUNCTION public.identity_sync_apply_to_better_auth(p_batch jsonb,
                                                                     p_copy_keys text[])
RETURNS TABLE (user_id uuid, error text) LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  item jsonb;
  row_ jsonb;
BEGIN
  PERFORM set_config('edge_migrator.sync_origin', 'supabase', true);
  FOR item IN SELECT * FROM jsonb_array_elements(p_batch) LOOP
    user_id := (item ->> 'user_id')::uuid;
    error := NULL;
    BEGIN
      FOR row_ IN SELECT * FROM jsonb_array_elements(item -> 'rows') LOOP
        EXIT WHEN public.identity_sync_apply_row(user_id, row_, p_copy_keys);
      END LOOP;
      UPDATE public.identity_change_outbox o
         SET applied_at = now(), outcome = 'applied', last_error = NULL
       WHERE o.id IN (SELECT (r ->> 'id')::bigint FROM jsonb_array_elements(item -> 'rows') r)
         AND o.applied_at IS NULL;
    EXCEPTION WHEN OTHERS THEN
      error := left(SQLERRM, 300);
    END;
    RETURN NEXT;
  END LOOP;
END
$$;
