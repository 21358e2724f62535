/**
 * auth_divergences: the record of every disagreement between the two auth systems, so a
 * one-sided write is never silent and the reconciler knows what to repair.
 */
import type { SqlClient } from "../db/sql-client.ts";
import { redactSecrets, redactString } from "../observability/redact.ts";
import type { AuthSystem, JsonObject } from "./types.ts";

export type DivergenceKind = "missing_user" | "aborted_signup" | "data_mismatch" | "id_conflict";
export type DivergenceOperation = "signup" | "login" | "validation" | "reconciliation";
export type DivergenceStatus = "open" | "resolved" | "failed";

export interface NewDivergence {
  readonly userId: string;
  readonly email: string;
  readonly kind: DivergenceKind;
  /** Required for missing_user: the system that lacks the user. */
  readonly missingSide?: AuthSystem;
  readonly operation: DivergenceOperation;
  /** Why (an error message or a description); redacted before it is stored. */
  readonly reason: string;
  readonly details?: JsonObject;
  /** A bcrypt hash to create a missing Supabase user with. Never a password. */
  readonly passwordHash?: string;
}

export interface Divergence extends NewDivergence {
  readonly id: number;
  readonly status: DivergenceStatus;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly createdAt: Date;
  readonly resolvedAt: Date | null;
}

const SELECT_COLUMNS = `id, user_id::text AS user_id, email, kind, missing_side, operation, reason,
  details, password_hash, status, attempts, last_error, created_at, resolved_at`;

function fromRow(row: Record<string, unknown>): Divergence {
  return {
    id: Number(row.id),
    userId: String(row.user_id),
    email: String(row.email),
    kind: row.kind as DivergenceKind,
    missingSide: (row.missing_side as AuthSystem | null) ?? undefined,
    operation: row.operation as DivergenceOperation,
    reason: String(row.reason),
    details: (row.details as JsonObject | null) ?? {},
    passwordHash: (row.password_hash as string | null) ?? undefined,
    status: row.status as DivergenceStatus,
    attempts: Number(row.attempts),
    lastError: (row.last_error as string | null) ?? null,
    createdAt: row.created_at as Date,
    resolvedAt: (row.resolved_at as Date | null) ?? null,
  };
}

export class DivergenceRepository {
  constructor(private readonly db: SqlClient) {}

  /**
   * Records a divergence; a second report of the same open (user, kind) only refreshes its reason
   * and keeps the first password hash it was given.
   */
  async record(divergence: NewDivergence): Promise<void> {
    await this.db.query(
      `INSERT INTO auth_divergences
         (user_id, email, kind, missing_side, operation, reason, details, password_hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8)
       ON CONFLICT (user_id, kind) WHERE status = 'open' DO UPDATE SET
         reason = EXCLUDED.reason, details = EXCLUDED.details,
         missing_side = EXCLUDED.missing_side,
         password_hash = COALESCE(auth_divergences.password_hash, EXCLUDED.password_hash),
         updated_at = now()`,
      [
        divergence.userId,
        divergence.email,
        divergence.kind,
        divergence.missingSide ?? null,
        divergence.operation,
        redactString(divergence.reason).slice(0, 2000),
        JSON.stringify(redactSecrets(divergence.details ?? {})),
        divergence.passwordHash ?? null,
      ],
    );
  }

  /** Open rows the reconciler can act on, oldest first; rows retried `maxAttempts` times wait. */
  async listOpen(
    options: { limit?: number; kinds?: readonly DivergenceKind[]; maxAttempts?: number } = {},
  ): Promise<Divergence[]> {
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT ${SELECT_COLUMNS} FROM auth_divergences
        WHERE status = 'open' AND kind = ANY($1::text[]) AND attempts < $2
        ORDER BY created_at, id LIMIT $3`,
      [
        options.kinds ?? ["missing_user", "aborted_signup", "data_mismatch", "id_conflict"],
        options.maxAttempts ?? 2147483647,
        options.limit ?? 100,
      ],
    );
    return rows.map(fromRow);
  }

  async listForUser(userId: string): Promise<Divergence[]> {
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT ${SELECT_COLUMNS} FROM auth_divergences WHERE user_id = $1 ORDER BY id`,
      [userId],
    );
    return rows.map(fromRow);
  }

  /** Resolves the open row of (user, kind), if any: the disagreement went away by itself. */
  async resolveOpen(userId: string, kind: DivergenceKind, note: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE auth_divergences
          SET status = 'resolved', resolved_at = now(), password_hash = NULL,
              last_error = NULL, details = details || jsonb_build_object('resolution', $3::text),
              updated_at = now()
        WHERE user_id = $1 AND kind = $2 AND status = 'open'`,
      [userId, kind, note],
    );
    return rowCount > 0;
  }

  async markResolved(id: number, note: string): Promise<void> {
    await this.db.query(
      `UPDATE auth_divergences
          SET status = 'resolved', resolved_at = now(), password_hash = NULL, last_error = NULL,
              attempts = attempts + 1,
              details = details || jsonb_build_object('resolution', $2::text), updated_at = now()
        WHERE id = $1 AND status = 'open'`,
      [id, note],
    );
  }

  /** A failed repair attempt; after `maxAttempts` the row is parked as 'failed' for an operator. */
  async markAttemptFailed(id: number, error: string, maxAttempts: number): Promise<void> {
    await this.db.query(
      `UPDATE auth_divergences
          SET attempts = attempts + 1, last_error = $2,
              status = CASE WHEN attempts + 1 >= $3 THEN 'failed' ELSE status END,
              updated_at = now()
        WHERE id = $1 AND status = 'open'`,
      [id, redactString(error).slice(0, 2000), maxAttempts],
    );
  }

  async countOpen(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      `SELECT count(*) AS n FROM auth_divergences WHERE status = 'open'`,
    );
    return Number(rows[0]?.n ?? 0);
  }
}
