-- Schedules the production migrate-batch run the way Supabase documents scheduling Edge
-- Functions: pg_cron runs a job every minute that calls the function through pg_net, with the
-- project URL and the service-role key read from Vault at run time (never stored here).
--
-- Before this job can succeed, store both secrets once per project (SQL editor):
--   select vault.create_secret('https://<project-ref>.supabase.co', 'project_url');
--   select vault.create_secret('<service-role key>', 'service_role_key');
--
-- Guarded: when pg_cron and pg_net are not both available (PGlite, plain PostgreSQL, CI) — or
-- Vault is missing — this migration does nothing but raise a NOTICE. There the dev server's local
-- cron (shared/standin/cron.ts) calls migrate-batch instead. Re-applying is harmless:
-- cron.schedule() replaces a job of the same name.
DO $migration$
DECLARE
  job_command constant text := $job$
    SELECT net.http_post(
      url := (SELECT decrypted_secret FROM vault.decrypted_secrets WHERE name = 'project_url')
             || '/functions/v1/migrate-batch',
      headers := jsonb_build_object(
        'Content-Type', 'application/json',
        'Authorization', 'Bearer ' || (SELECT decrypted_secret FROM vault.decrypted_secrets
                                        WHERE name = 'service_role_key')
      ),
      body := '{}'::jsonb,
      -- migrate-batch works for up to ~50 s per call; do not cut the request off before that.
      timeout_milliseconds := 60000
    ) AS request_id;
  $job$;
BEGIN
  -- On Supabase both extensions are available but off until enabled; enable them here when
  -- possible. Elsewhere (e.g. pg_cron installed but not in shared_preload_libraries) enabling
  -- fails: that failure is contained in this sub-block and only reported.
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_cron')
     AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_net') THEN
    BEGIN
      CREATE EXTENSION IF NOT EXISTS pg_cron;
      CREATE EXTENSION IF NOT EXISTS pg_net;
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE 'pg_cron/pg_net could not be enabled (%): migrate-batch is not scheduled', SQLERRM;
    END;
  END IF;

  IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron')
     OR NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_net') THEN
    RAISE NOTICE 'pg_cron and pg_net are not both installed: migrate-batch is not scheduled';
    RETURN;
  END IF;
  IF to_regclass('vault.decrypted_secrets') IS NULL THEN
    RAISE NOTICE 'Supabase Vault is not installed: migrate-batch is not scheduled';
    RETURN;
  END IF;

  -- Dynamic so that databases without pg_cron never even resolve cron.schedule.
  EXECUTE 'SELECT cron.schedule($1, $2, $3)'
    USING 'edge-migrator-migrate-batch', '* * * * *', job_command;
END
$migration$;
