/**
 * Repairs for changes the auth triggers could not capture (see migration 20261206020000):
 * - recaptureFailures(): every open row of identity_change_capture_failures becomes a fresh
 *   capture of those users' CURRENT state (their auth.users row, or a delete when it is gone,
 *   plus their full identity list), then the failure is resolved. Runs before every
 *   Supabase → Better Auth drain, so a failed capture costs at most one cron tick of lag.
 * - resync(): the same for every user (or every user changed since a time): the periodic full
 *   diff that also covers a change whose failure could not even be recorded (a WARNING in the
 *   PostgreSQL log). Applying a state Better Auth already has changes nothing, so it is safe.
 */
import type { SqlClient } from "../db/sql-client.ts";

/** Captures the current state of the users in `ids` (a SQL expression yielding uuid rows). */
function captureStatement(idsSql: string): string {
  return `
    WITH ids AS (${idsSql}),
    users AS (
      INSERT INTO identity_change_outbox (direction, user_id, entity, op, payload)
      SELECT 'to_better_auth', ids.id, 'user',
             CASE WHEN u.id IS NULL THEN 'delete' ELSE 'update' END,
             CASE WHEN u.id IS NULL THEN '{}'::jsonb
                  ELSE public.identity_sync_user_payload(to_jsonb(u)) END
      FROM ids LEFT JOIN auth.users u ON u.id = ids.id
      RETURNING user_id
    )
    INSERT INTO identity_change_outbox (direction, user_id, entity, op, payload)
    SELECT 'to_better_auth', u.id, 'identities', 'update', jsonb_build_object('identities',
             coalesce((SELECT jsonb_agg(public.identity_sync_identity_payload(to_jsonb(i))
                                        ORDER BY i.created_at, i.id)
                       FROM auth.identities i WHERE i.user_id = u.id), '[]'::jsonb))
    FROM ids JOIN auth.users u ON u.id = ids.id
    -- after the user rows (the CTE runs first), so identities apply to the updated user
    WHERE (SELECT count(*) FROM users) >= 0`;
}

/** Re-captures the users of every open capture failure; returns how many users. */
export async function recaptureFailures(db: SqlClient): Promise<number> {
  return await db.transaction(async (tx) => {
    const { rows } = await tx.query<{ user_ids: string[] }>(
      `UPDATE identity_change_capture_failures SET resolved_at = now()
        WHERE resolved_at IS NULL RETURNING user_ids::text[] AS user_ids`,
    );
    const ids = [...new Set(rows.flatMap((row) => row.user_ids ?? []))];
    if (ids.length === 0) return 0;
    await tx.query(captureStatement(`SELECT DISTINCT unnest($1::uuid[]) AS id`), [ids]);
    return ids.length;
  });
}

/** Re-captures every auth.users user (changed since `since`, when given); returns how many. */
export async function resync(db: SqlClient, options: { since?: Date } = {}): Promise<number> {
  // The main INSERT writes one 'identities' row per existing user: its count is the user count.
  const { rowCount } = await db.query(
    captureStatement(
      `SELECT id FROM auth.users WHERE $1::timestamptz IS NULL OR updated_at >= $1::timestamptz`,
    ),
    [options.since?.toISOString() ?? null],
  );
  return rowCount;
}
