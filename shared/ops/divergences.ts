/**
 * The operator's view of `auth_divergences` (one-sided dual writes, data mismatches, id
 * conflicts): list with filters, send a row back to reconciliation (retry), or close it by hand
 * with a note. `data_mismatch` and `id_conflict` rows "need a human": reconciliation never closes
 * them, an operator does, here.
 *
 * - list: filters kind, status, user (id or e-mail), since (created at or after); newest first,
 *   keyset-paginated by id (`cursor` = the last id of the previous page); never returns the
 *   stored bcrypt hash.
 * - retry: a `failed` (or still open) row becomes `open` with its attempts reset, so the next
 *   reconciliation run (after every migrate-batch run, or POST /signup/reconcile) tries it again.
 * - resolve: `resolved` with the note (redacted like every stored operator text), who and when
 *   in `details.resolution`; the hash is dropped (the table's CHECK requires it).
 * Retry and resolve are audited in migration_log in the same transaction.
 */
import { z } from "zod";
import type { SqlClient } from "../db/sql-client.ts";
import { redactString } from "../observability/redact.ts";
import { AppError, err, ok, type Result } from "../result.ts";
import { parseInput } from "./analysis.ts";
import { writeOpsLog } from "./audit.ts";
import type { OpsContext } from "./context.ts";
import type { Actor } from "./types.ts";

export const DIVERGENCE_KINDS = [
  "missing_user",
  "aborted_signup",
  "data_mismatch",
  "id_conflict",
] as const;
export const DIVERGENCE_STATUSES = ["open", "resolved", "failed"] as const;

export const divergenceListSchema = z.strictObject({
  kind: z.enum(DIVERGENCE_KINDS).optional(),
  status: z.enum(DIVERGENCE_STATUSES).optional(),
  user: z.union([z.uuid(), z.email().max(320)]).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.coerce.number().int().min(1).optional(),
});

export type DivergenceListQuery = z.output<typeof divergenceListSchema>;

const noteSchema = z.strictObject({
  note: z.string().trim().min(1).max(500).transform((text) => redactString(text)),
});
const retrySchema = z.strictObject({
  reason: z.string().trim().min(1).max(500).transform((text) => redactString(text)).optional(),
});

export interface DivergenceView {
  readonly id: number;
  readonly userId: string;
  readonly email: string;
  readonly kind: string;
  readonly missingSide: string | null;
  readonly operation: string;
  readonly reason: string;
  readonly details: Record<string, unknown>;
  readonly status: string;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly resolvedAt: string | null;
}

export interface DivergenceCounts {
  readonly open: number;
  readonly failed: number;
  readonly resolved: number;
  /** Open rows per kind. */
  readonly openByKind: Readonly<Record<string, number>>;
}

export interface DivergencePage {
  readonly items: readonly DivergenceView[];
  /** Pass as `cursor` for the next page; null on the last page. */
  readonly nextCursor: number | null;
  readonly counts: DivergenceCounts;
}

const COLUMNS = `id, user_id::text AS user_id, email, kind, missing_side, operation, reason,
  details, status, attempts, last_error, created_at, updated_at, resolved_at`;

const iso = (value: unknown) =>
  value === null || value === undefined
    ? null
    : (value instanceof Date ? value : new Date(String(value))).toISOString();

function toView(row: Record<string, unknown>): DivergenceView {
  return {
    id: Number(row.id),
    userId: String(row.user_id),
    email: String(row.email),
    kind: String(row.kind),
    missingSide: (row.missing_side as string | null) ?? null,
    operation: String(row.operation),
    reason: String(row.reason),
    details: (row.details as Record<string, unknown> | null) ?? {},
    status: String(row.status),
    attempts: Number(row.attempts),
    lastError: (row.last_error as string | null) ?? null,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    resolvedAt: iso(row.resolved_at),
  };
}

/** Rows per status (and open rows per kind). */
export async function divergenceCounts(sql: SqlClient): Promise<DivergenceCounts> {
  const { rows } = await sql.query<{ status: string; kind: string; n: number }>(
    `SELECT status, kind, count(*) AS n FROM auth_divergences GROUP BY status, kind`,
  );
  const sum = (status: string) =>
    rows.filter((row) => row.status === status).reduce((total, row) => total + Number(row.n), 0);
  return {
    open: sum("open"),
    failed: sum("failed"),
    resolved: sum("resolved"),
    openByKind: Object.fromEntries(
      rows.filter((row) => row.status === "open").map((row) => [row.kind, Number(row.n)]),
    ),
  };
}

/** One page of divergences by the (already validated) filters, newest first. */
export async function listDivergences(
  sql: SqlClient,
  q: Omit<DivergenceListQuery, "limit"> & {
    readonly limit: number;
    /** Only rows that still need someone (open or failed). */
    readonly unresolved?: boolean;
  },
): Promise<DivergencePage> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replaceAll("$?", `$${params.length}`));
  };
  if (q.kind) add("kind = $?", q.kind);
  if (q.status) add("status = $?", q.status);
  if (q.unresolved) add("status <> $?", "resolved");
  if (q.user) {
    if (q.user.includes("@")) add("lower(email) = lower($?)", q.user);
    else add("user_id = $?::uuid", q.user);
  }
  if (q.since) add("created_at >= $?::timestamptz", q.since);
  if (q.cursor) add("id < $?", q.cursor);
  params.push(q.limit + 1);
  const { rows } = await sql.query<Record<string, unknown>>(
    `SELECT ${COLUMNS} FROM auth_divergences
      ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY id DESC LIMIT $${params.length}`,
    params,
  );
  const items = rows.slice(0, q.limit).map(toView);
  return {
    items,
    nextCursor: rows.length > q.limit ? items.at(-1)!.id : null,
    counts: await divergenceCounts(sql),
  };
}

export class DivergenceAdmin {
  constructor(private readonly ctx: OpsContext) {}

  async list(input: unknown): Promise<Result<DivergencePage, AppError>> {
    const parsed = parseInput(divergenceListSchema, input);
    if (!parsed.ok) return parsed;
    return ok(await listDivergences(this.ctx.sql, parsed.value));
  }

  /** Back to reconciliation: open, attempts reset. */
  retry(id: number, input: unknown, actor: Actor): Promise<Result<DivergenceView, AppError>> {
    const parsed = parseInput(retrySchema, input);
    if (!parsed.ok) return Promise.resolve(parsed);
    return this.ctx.transact("retry divergence", async (unit) => {
      const row = await this.#lock(unit.tx, id);
      if (!row.ok) return row;
      if (row.value.status === "resolved") {
        return err(new AppError("conflict", `divergence ${id} is already resolved`, { id }));
      }
      const { rows } = await unit.tx.query<Record<string, unknown>>(
        `UPDATE auth_divergences
            SET status = 'open', attempts = 0, last_error = NULL, updated_at = now()
          WHERE id = $1 RETURNING ${COLUMNS}`,
        [id],
      );
      await writeOpsLog(unit.tx, {
        component: "ops:divergences",
        phase: "retry",
        status: "completed",
        message: parsed.value.reason ?? `divergence ${id} sent back to reconciliation`,
        metadata: { id, kind: row.value.kind, from: row.value.status, by: actor.by },
      });
      return ok(toView(rows[0]!));
    });
  }

  /** Closed by an operator, with a note. */
  resolve(id: number, input: unknown, actor: Actor): Promise<Result<DivergenceView, AppError>> {
    const parsed = parseInput(noteSchema, input);
    if (!parsed.ok) return Promise.resolve(parsed);
    const note = parsed.value.note;
    return this.ctx.transact("resolve divergence", async (unit) => {
      const row = await this.#lock(unit.tx, id);
      if (!row.ok) return row;
      if (row.value.status === "resolved") {
        return err(new AppError("conflict", `divergence ${id} is already resolved`, { id }));
      }
      const resolution = { note, by: actor.by, at: new Date().toISOString() };
      const { rows } = await unit.tx.query<Record<string, unknown>>(
        `UPDATE auth_divergences
            SET status = 'resolved', resolved_at = now(), updated_at = now(),
                password_hash = NULL,
                details = details || jsonb_build_object('resolution', $2::text::jsonb)
          WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, JSON.stringify(resolution)],
      );
      await writeOpsLog(unit.tx, {
        component: "ops:divergences",
        phase: "resolve",
        status: "completed",
        message: note,
        metadata: { id, kind: row.value.kind, from: row.value.status, by: actor.by },
      });
      return ok(toView(rows[0]!));
    });
  }

  async #lock(
    tx: SqlClient,
    id: number,
  ): Promise<Result<{ status: string; kind: string }, AppError>> {
    const { rows } = await tx.query<{ status: string; kind: string }>(
      `SELECT status, kind FROM auth_divergences WHERE id = $1 FOR UPDATE`,
      [id],
    );
    return rows[0]
      ? ok(rows[0])
      : err(new AppError("not_found", `divergence ${id} not found`, { field: "id" }));
  }
}
