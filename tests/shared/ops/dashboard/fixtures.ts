/**
 * A database with something to show: users in both auth systems, migration bookkeeping, metric
 * traffic on both paths, shadow mismatches, migration errors, canary flags and a rollout.
 */
import type { SqlClient } from "../../../../shared/db/sql-client.ts";
import { simulateTraffic } from "../helpers.ts";

const AUTH_SCHEMA = new URL("../../../../local/standin/auth-schema.sql", import.meta.url);

export async function seedDashboard(db: SqlClient, now: Date): Promise<void> {
  await db.exec(await Deno.readTextFile(AUTH_SCHEMA));
  const ago = (minutes: number) => new Date(now.getTime() - minutes * 60_000);

  // 12 Supabase users, 7 of them in Better Auth; 5 fully migrated (both + validated).
  await db.query(
    `INSERT INTO auth.users (id, email, created_at)
     SELECT ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid,
            'user' || g || '@example.com', now()
     FROM generate_series(1, 12) g`,
  );
  await db.query(
    `INSERT INTO "user" (id, name, email, "emailVerified")
     SELECT ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'User ' || g,
            'user' || g || '@example.com', true
     FROM generate_series(1, 7) g`,
  );
  await db.query(
    `INSERT INTO user_migration_status (user_id, email, supabase_migrated, supabase_migrated_at,
       better_auth_migrated, better_auth_migrated_at, data_validated, validated_at)
     SELECT ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid,
            'user' || g || '@example.com', true, now(),
            g <= 7, CASE WHEN g <= 7 THEN now() END, g <= 5, CASE WHEN g <= 5 THEN now() END
     FROM generate_series(1, 12) g`,
  );
  await db.query(
    `INSERT INTO migration_states (id, status, total_count) VALUES ('batch-1', 'running', 12)`,
  );
  await db.query(
    `INSERT INTO migrated_users (original_id, new_auth_id, email, migrated_via, migration_id)
     SELECT '00000000-0000-4000-8000-' || lpad(g::text, 12, '0'),
            ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid,
            'user' || g || '@example.com',
            CASE WHEN g <= 4 THEN 'batch' ELSE 'lazy' END,
            CASE WHEN g <= 4 THEN 'batch-1' END
     FROM generate_series(1, 7) g`,
  );
  await db.query(
    `INSERT INTO migration_errors (migration_id, user_id, email, error_code, error_message)
     VALUES ('batch-1', 'u-err-1', 'bad1@example.com', 'invalid_email', 'email is not valid'),
            ('batch-1', 'u-err-2', 'bad2@example.com', 'duplicate', 'password=hunter2 rejected')`,
  );
  await db.query(
    `INSERT INTO shadow_comparisons (request_id, function_name, operation, primary_path,
       shadow_path, matched, primary_status, shadow_status, differing_paths, created_at)
     VALUES ('r1', 'login', 'login', 'original', 'abstracted', false, 200, 200,
             ARRAY['user.user_metadata.name', 'session.expires_in'], $1::timestamptz),
            ('r2', 'signup', 'signup', 'abstracted', 'original', false, 201, 409,
             ARRAY['status'], $2::timestamptz),
            ('r3', 'signup', 'signup', 'abstracted', 'original', true, 201, 201, '{}', now())`,
    [ago(3).toISOString(), ago(2).toISOString()],
  );

  // login: traffic on both paths over the last hour; some abstracted 5xx and fallbacks.
  for (const minutes of [50, 35, 20, 5]) {
    await simulateTraffic(db, "login", { path: "original", count: 30, at: ago(minutes) });
    await simulateTraffic(db, "login", {
      path: "abstracted",
      count: 10,
      at: ago(minutes),
      durationMs: 120,
    });
  }
  await simulateTraffic(db, "login", { path: "abstracted", count: 3, at: ago(4), status: 503 });
  await simulateTraffic(db, "login", { path: "original", count: 2, at: ago(4), fallback: true });
  await simulateTraffic(db, "signup", { path: "original", count: 25, at: ago(10), durationMs: 80 });
  // Outside the 60-minute window: not shown.
  await simulateTraffic(db, "login", { path: "abstracted", count: 100, at: ago(120), status: 500 });

  // Divergences: two open (one a data mismatch that needs a human), one parked as failed.
  await db.query(
    `INSERT INTO auth_divergences (user_id, email, kind, missing_side, operation, reason, status,
                                   attempts, last_error)
     VALUES ('00000000-0000-4000-8000-000000000008', 'user8@example.com', 'data_mismatch', NULL,
             'validation', 'user_metadata.name differs', 'open', 0, NULL),
            ('00000000-0000-4000-8000-000000000009', 'user9@example.com', 'missing_user',
             'better_auth', 'signup', 'better_auth timed out', 'open', 1, NULL),
            ('00000000-0000-4000-8000-000000000010', 'user10@example.com', 'id_conflict', NULL,
             'reconciliation', 'two ids for one e-mail', 'failed', 5, 'still conflicting')`,
  );
  await db.query(
    `INSERT INTO runtime_flags (function_name, rollout_percentage, canary_enabled,
       canary_selection, canary_email_domains)
     VALUES ('login', 25, true, 'email_domain', ARRAY['staff.example.com'])`,
  );
}
