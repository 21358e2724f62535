/**
 * The drain loop both appliers share (one per direction of identity_change_outbox):
 *
 * 1. Walk the pending rows of the direction in id order (keyset, so a long backlog is read
 *    once per run) and collect users in order of their oldest pending row.
 * 2. Lease those users (identity_sync_leases, one row per user, shared by both directions): a
 *    user leased by another applier — or by the other direction — is left for the next run.
 * 3. Read each leased user's pending rows in order and hand them to the direction's applier,
 *    which settles them (applied / echo / noop / skipped_absent) or defers them.
 *    Changes of one user are applied in capture order ACROSS directions: rows newer than the
 *    other direction's oldest pending row for that user wait until that one is applied, so a
 *    Supabase change and a Better Auth change of the same user land in the order they happened.
 * 4. An applier error leaves the user's rows pending: the oldest gets attempts + 1 and
 *    last_error (message only, never row data); after `maxAttempts` the user is skipped (stuck,
 *    visible in status) so a poison row costs nothing on later runs and never blocks anyone else.
 *
 * A run stops when the budget is spent, the signal aborts, or nothing is left.
 */
import type { SqlClient } from "../db/sql-client.ts";

export type Direction = "to_better_auth" | "to_supabase";
export type Outcome = "applied" | "echo" | "noop" | "skipped_absent";

export interface OutboxRow {
  readonly id: number;
  readonly userId: string;
  readonly entity: string;
  readonly op: "insert" | "update" | "delete";
  readonly payload: Record<string, unknown>;
  readonly capturedAt: Date;
  readonly attempts: number;
  readonly deferredAt: Date | null;
}

/** One user's pending rows (oldest first) that may be applied now. */
export interface UserWork {
  readonly userId: string;
  readonly rows: readonly OutboxRow[];
}

/** Settled (rows marked), deferred (left pending on purpose), or failed (left pending). */
export type UserResult = "settled" | "deferred" | { readonly error: unknown };

/** What a direction does with a batch of leased users. */
export interface DirectionApplier {
  readonly direction: Direction;
  applyUsers(work: readonly UserWork[]): Promise<Map<string, UserResult>>;
}

/** Runs `fn` over `items`, at most `limit` at a time. */
export async function withConcurrency<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(Math.max(1, limit), queue.length) }, async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) await fn(next);
    }),
  );
}

export interface DrainOptions {
  /** Wall-clock budget of the run (default 5 s). */
  readonly budgetMs?: number;
  /** Users leased per round (default 100). */
  readonly batchUsers?: number;
  /** A user whose oldest row failed this often is skipped (default 10). */
  readonly maxAttempts?: number;
  /** Lease length; longer than any one user's apply (default 60 s). */
  readonly leaseMs?: number;
  readonly signal?: AbortSignal;
}

export interface DrainReport {
  readonly direction: Direction;
  readonly users: number;
  readonly settledUsers: number;
  readonly deferredUsers: number;
  readonly failedUsers: number;
  readonly busyUsers: number;
  /** Users whose rows wait for an older change in the other direction. */
  readonly waitingUsers: number;
  readonly rowsSettled: number;
  readonly durationMs: number;
  /** True when the run stopped with pending rows left unvisited (budget or signal). */
  readonly incomplete: boolean;
}

interface RowRecord {
  id: number | string;
  user_id: string;
  entity: string;
  op: "insert" | "update" | "delete";
  payload: Record<string, unknown> | string | null;
  captured_at: Date | string;
  attempts: number;
  deferred_at: Date | string | null;
}

const asDate = (value: Date | string) => value instanceof Date ? value : new Date(value);

function rowOf(record: RowRecord): OutboxRow {
  const payload = typeof record.payload === "string"
    ? JSON.parse(record.payload)
    : record.payload ?? {};
  return {
    id: Number(record.id),
    userId: record.user_id,
    entity: record.entity,
    op: record.op,
    payload,
    capturedAt: asDate(record.captured_at),
    attempts: record.attempts,
    deferredAt: record.deferred_at === null ? null : asDate(record.deferred_at),
  };
}

/** Marks rows settled. Only still-pending rows change, so a repeat is harmless. */
export async function settleRows(
  db: SqlClient,
  ids: readonly number[],
  outcome: Outcome,
): Promise<number> {
  if (ids.length === 0) return 0;
  const { rowCount } = await db.query(
    `UPDATE identity_change_outbox SET applied_at = now(), outcome = $2, last_error = NULL
      WHERE id = ANY($1::bigint[]) AND applied_at IS NULL`,
    [ids, outcome],
  );
  return rowCount;
}

/** Notes the first time the target side lacked the user (the skip horizon starts there). */
export async function deferRows(db: SqlClient, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `UPDATE identity_change_outbox SET deferred_at = coalesce(deferred_at, now())
      WHERE id = ANY($1::bigint[]) AND applied_at IS NULL`,
    [ids],
  );
}

const errorText = (error: unknown) =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 300);

export class OutboxDrain {
  readonly #holder = `applier-${crypto.randomUUID()}`;

  constructor(private readonly db: SqlClient) {}

  async run(applier: DirectionApplier, options: DrainOptions = {}): Promise<DrainReport> {
    const started = performance.now();
    const budgetMs = options.budgetMs ?? 5_000;
    const batchUsers = options.batchUsers ?? 100;
    const maxAttempts = options.maxAttempts ?? 10;
    const leaseMs = options.leaseMs ?? 60_000;
    const counts = {
      users: 0,
      settled: 0,
      deferred: 0,
      failed: 0,
      busy: 0,
      waiting: 0,
      rows: 0,
    };
    const seen = new Set<string>();
    let cursor = 0;
    let incomplete = false;
    const timeLeft = () => performance.now() - started < budgetMs && !options.signal?.aborted;

    while (true) {
      if (!timeLeft()) {
        incomplete = true;
        break;
      }
      const { users, lastId } = await this.#nextUsers(applier.direction, cursor, batchUsers, seen);
      if (lastId === null) break;
      cursor = lastId;
      if (users.length === 0) continue;
      users.forEach((user) => seen.add(user));
      const leased = await this.#lease(users, leaseMs);
      counts.busy += users.length - leased.length;
      if (leased.length === 0) continue;
      try {
        const rows = await this.#pendingRows(applier.direction, leased);
        const otherHeads = await this.#otherHeads(applier.direction, leased);
        const work: UserWork[] = [];
        for (const userId of leased) {
          const head = otherHeads.get(userId);
          const all = rows.get(userId) ?? [];
          const mine = head === undefined ? all : all.filter((row) => row.id < head);
          counts.users += 1;
          if (all.length === 0) continue;
          if (mine.length === 0) counts.waiting += 1;
          else if (mine[0]!.attempts >= maxAttempts) counts.failed += 1;
          else work.push({ userId, rows: mine });
        }
        const results = work.length > 0 ? await applier.applyUsers(work) : new Map();
        for (const { userId, rows: mine } of work) {
          const result: UserResult = results.get(userId) ?? { error: "no result" };
          if (result === "settled") {
            counts.settled += 1;
            counts.rows += mine.length;
          } else if (result === "deferred") {
            counts.deferred += 1;
          } else {
            counts.failed += 1;
            await this.db.query(
              `UPDATE identity_change_outbox SET attempts = attempts + 1, last_error = $2
                WHERE id = $1`,
              [mine[0]!.id, errorText(result.error)],
            );
          }
        }
      } finally {
        await this.db.query(
          `DELETE FROM identity_sync_leases WHERE user_id = ANY($1::uuid[]) AND holder = $2`,
          [leased, this.#holder],
        );
      }
    }
    return {
      direction: applier.direction,
      users: counts.users,
      settledUsers: counts.settled,
      deferredUsers: counts.deferred,
      failedUsers: counts.failed,
      busyUsers: counts.busy,
      waitingUsers: counts.waiting,
      rowsSettled: counts.rows,
      durationMs: Math.round(performance.now() - started),
      incomplete,
    };
  }

  /** The next users in order of their oldest pending row after `cursor`, skipping `seen`. */
  async #nextUsers(
    direction: Direction,
    cursor: number,
    limit: number,
    seen: ReadonlySet<string>,
  ): Promise<{ users: string[]; lastId: number | null }> {
    const { rows } = await this.db.query<{ id: number | string; user_id: string }>(
      `SELECT id, user_id::text AS user_id FROM identity_change_outbox
        WHERE direction = $1 AND applied_at IS NULL AND id > $2
        ORDER BY id LIMIT $3`,
      [direction, cursor, limit * 4],
    );
    if (rows.length === 0) return { users: [], lastId: null };
    const users: string[] = [];
    let lastId = cursor;
    for (const row of rows) {
      lastId = Number(row.id);
      if (!seen.has(row.user_id) && !users.includes(row.user_id)) users.push(row.user_id);
      if (users.length >= limit) break;
    }
    return { users, lastId };
  }

  async #lease(users: readonly string[], leaseMs: number): Promise<string[]> {
    const { rows } = await this.db.query<{ user_id: string }>(
      `INSERT INTO identity_sync_leases AS l (user_id, holder, expires_at)
       SELECT u, $2, now() + $3::int * interval '1 millisecond' FROM unnest($1::uuid[]) AS u
       ON CONFLICT (user_id) DO UPDATE
         SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
         WHERE l.expires_at < now()
       RETURNING user_id::text AS user_id`,
      [users, this.#holder, leaseMs],
    );
    const granted = new Set(rows.map((row) => row.user_id));
    return users.filter((user) => granted.has(user));
  }

  /** The oldest pending row id of each user in the other direction. */
  async #otherHeads(direction: Direction, users: readonly string[]): Promise<Map<string, number>> {
    const { rows } = await this.db.query<{ user_id: string; head: number | string }>(
      `SELECT user_id::text AS user_id, min(id) AS head FROM identity_change_outbox
        WHERE user_id = ANY($1::uuid[]) AND direction = $2 AND applied_at IS NULL
        GROUP BY user_id`,
      [users, direction === "to_better_auth" ? "to_supabase" : "to_better_auth"],
    );
    return new Map(rows.map((row) => [row.user_id, Number(row.head)]));
  }

  async #pendingRows(
    direction: Direction,
    users: readonly string[],
  ): Promise<Map<string, OutboxRow[]>> {
    const { rows } = await this.db.query<RowRecord>(
      `SELECT id, user_id::text AS user_id, entity, op, payload, captured_at, attempts, deferred_at
         FROM identity_change_outbox
        WHERE user_id = ANY($1::uuid[]) AND direction = $2 AND applied_at IS NULL
        ORDER BY user_id, id`,
      [users, direction],
    );
    const byUser = new Map<string, OutboxRow[]>();
    for (const record of rows) {
      const row = rowOf(record);
      const list = byUser.get(row.userId) ?? [];
      list.push(row);
      byUser.set(row.userId, list);
    }
    return byUser;
  }
}
