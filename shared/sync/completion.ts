/**
 * "Declared complete": the operator's statement that the migration is over and Supabase Auth is
 * no longer a place to roll back to (one row, identity_sync_state, migration
 * 20261206020000). Until then:
 * - changes made on the Better Auth side are captured for Supabase (the triggers read the row);
 * - new Better Auth passwords are bcrypt, which GoTrue's admin API imports as `password_hash`;
 * - a verified bcrypt hash is NOT re-hashed to scrypt on login (the Supabase copy would keep a
 *   hash the Better Auth side no longer has, and a scrypt hash cannot go back to Supabase).
 * After it, all three switch to Better Auth's native behaviour. Reading the row is cached (like
 * the runtime flags); an unreadable row counts as "not complete", the side that loses nothing.
 */
import type { SqlClient } from "../db/sql-client.ts";

export interface CompletionState {
  readonly complete: boolean;
  readonly completedAt: string | null;
  readonly completedBy: string | null;
}

/** What password hashing and the re-hash ask. */
export interface CompletionSource {
  isComplete(): Promise<boolean>;
}

const NOT_COMPLETE: CompletionState = { complete: false, completedAt: null, completedBy: null };

interface StateRow {
  completed_at: Date | string | null;
  completed_by: string | null;
}

function stateOf(row: StateRow | undefined): CompletionState {
  if (!row?.completed_at) return NOT_COMPLETE;
  const at = row.completed_at instanceof Date ? row.completed_at : new Date(row.completed_at);
  return { complete: true, completedAt: at.toISOString(), completedBy: row.completed_by };
}

export class SyncCompletion implements CompletionSource {
  #cached: { state: CompletionState; at: number } | null = null;

  constructor(
    private readonly db: SqlClient,
    private readonly ttlMs = 5_000,
  ) {}

  async state(): Promise<CompletionState> {
    const { rows } = await this.db.query<StateRow>(
      `SELECT completed_at, completed_by FROM identity_sync_state WHERE id`,
    );
    const state = stateOf(rows[0]);
    this.#cached = { state, at: Date.now() };
    return state;
  }

  async isComplete(): Promise<boolean> {
    if (this.#cached && Date.now() - this.#cached.at < this.ttlMs) {
      return this.#cached.state.complete;
    }
    try {
      return (await this.state()).complete;
    } catch {
      return false;
    }
  }

  /** Idempotent: a second declaration keeps the first time and operator. */
  async declareComplete(by: string): Promise<CompletionState> {
    const { rows } = await this.db.query<StateRow>(
      `INSERT INTO identity_sync_state AS s (id, completed_at, completed_by, updated_at)
       VALUES (true, now(), $1, now())
       ON CONFLICT (id) DO UPDATE
         SET completed_at = coalesce(s.completed_at, now()),
             completed_by = coalesce(s.completed_by, EXCLUDED.completed_by),
             updated_at = now()
       RETURNING completed_at, completed_by`,
      [by],
    );
    const state = stateOf(rows[0]);
    this.#cached = { state, at: Date.now() };
    return state;
  }

  /**
   * Takes the declaration back (capture resumes, new hashes are bcrypt again). Changes made on
   * the Better Auth side while it was declared were not captured: run a resync of those users.
   */
  async reopen(): Promise<CompletionState> {
    await this.db.query(
      `UPDATE identity_sync_state SET completed_at = NULL, completed_by = NULL, updated_at = now()
        WHERE id`,
    );
    this.#cached = { state: NOT_COMPLETE, at: Date.now() };
    return NOT_COMPLETE;
  }
}
