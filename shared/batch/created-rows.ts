/**
 * A batch migration's writes name their migration in the transaction, so the
 * user_migration_status rows it CREATES carry it (trigger in
 * migrations/20261206010000_user_migration_status_created_by.sql) and its rollback removes those
 * rows, and only those.
 */
import type { SqlClient } from "../db/sql-client.ts";

export const BATCH_MIGRATION_SETTING = "edge_migrator.batch_migration_id";

/** Call inside the batch's transaction, before its first write (transaction-local). */
export async function nameBatchWrites(tx: SqlClient, migrationId: string): Promise<void> {
  await tx.query(`SELECT set_config($1, $2, true)`, [BATCH_MIGRATION_SETTING, migrationId]);
}

/**
 * The planner settings of a statement over one lease (or pre-flight chunk) of users, transaction
 * local: JIT off (batch-writer.ts NO_JIT) and nested-loop joins off. A lease is a range of
 * uuids, and PostgreSQL cannot interpolate inside a histogram bucket for uuid (selfuncs.c
 * convert_to_scalar has no uuid case), so once auth.users holds more than ~100 leases' worth of
 * users (default_statistics_target 100) a lease's range falls inside one bucket and is estimated
 * at 1 row. The planner then joined
 * the lease's users to their aggregated identities with a nested loop that re-ran the aggregate
 * for every user: 47 s instead of ≈ 0.4 s for 5,000 users of a 1,000,000-user source. Every join
 * in these statements is between one lease's rows, which a hash or merge join handles in linear
 * time whatever the estimate; the per-row look-ups are sub-selects, which this does not touch.
 * (tests/shared/batch/lease-plans.test.ts)
 */
const LEASE_PLANNER_CONFIG =
  "set_config('jit', 'off', true), set_config('enable_nestloop', 'off', true)";

/** The lease planner settings in a statement of their own (dry run, pre-flight). */
export const LEASE_PLANNER_SETTINGS = `SELECT ${LEASE_PLANNER_CONFIG}`;

/**
 * work_mem for the batch statement's transaction. The statement keeps its classified and
 * planned rows in CTE tuplestores that every insert re-reads (≈ 0.5 KB per user each): at the
 * default 4 MB a lease above ~8,000 users spills them to temporary files and each re-read goes
 * through the file (≈ 3 % of a 10,000-user batch's CPU). 32 MB holds them for leases up to the
 * maximum (50,000). It is a ceiling, not an allocation — nothing in the statement grows with
 * the size of a table, only with the lease: the look-ups into the target tables are scalar
 * sub-selects on unique indexes or hashed reads of the lease's own id range (statements.ts), so
 * a larger work_mem cannot turn them into hashes of a whole table.
 */
export const BATCH_WORK_MEM = "32MB";

/**
 * Everything the batch statement's transaction needs set, in one round trip (transaction-local):
 * the lease planner settings (JIT and nested loops off), work_mem (BATCH_WORK_MEM), the
 * migration named for the rows it creates, and, for a source that IS Supabase Auth, the write
 * marked as a copy from Supabase (edge_migrator.sync_origin = 'supabase',
 * shared/sync/to-better-auth.ts SYNC_ORIGIN_SETTING).
 * The Better Auth capture triggers (migration 20261206020000) record nothing for such a batch
 * anyway — they skip users that exist in auth.users and credential hashes equal to auth.users' —
 * but find that out with one auth.users probe per inserted user and account; marked, they return
 * at once. Marking is also the right answer in the one case the probes differ: a password
 * changed in auth.users after the batch's snapshot would otherwise be captured as a Better Auth
 * change and pushed back, undoing the newer Supabase password (that change reaches Better Auth
 * through its own auth.users capture instead). A source outside Supabase Auth (legacy table) is
 * never marked: its users are new to Supabase and must be captured.
 */
export async function prepareBatchWrites(
  tx: SqlClient,
  migrationId: string,
  fromSupabase: boolean,
): Promise<void> {
  await tx.query(
    `SELECT ${LEASE_PLANNER_CONFIG}, set_config('work_mem', '${BATCH_WORK_MEM}', true),
            set_config($1, $2, true),
            set_config('edge_migrator.sync_origin', CASE WHEN $3::boolean THEN 'supabase' ELSE
                       coalesce(current_setting('edge_migrator.sync_origin', true), '') END, true)`,
    [BATCH_MIGRATION_SETTING, migrationId, fromSupabase],
  );
}
