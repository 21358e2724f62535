/**
 * The migration_stages rows and their audit (migrations/20261207010000_migration_stages.sql).
 * A move is one transaction: the row is locked, checked against the stage the operator's gate
 * was computed for (a concurrent move in between fails the second one instead of skipping a
 * gate), written, and its audit row inserted. Values are always bound parameters.
 */
import type { SqlClient } from "../db/sql-client.ts";
import { isStage, type MigrationStage } from "./stages.ts";

export interface StageRow {
  readonly functionName: string;
  readonly stage: MigrationStage;
  readonly enteredAt: Date;
  readonly version: number;
  readonly updatedBy: string | null;
  readonly reason: string | null;
}

export interface StageAuditRow {
  readonly id: number;
  readonly functionName: string;
  readonly from: MigrationStage;
  readonly to: MigrationStage;
  readonly outcome: "moved" | "refused";
  readonly actor: string;
  readonly reason: string;
  readonly gate: Record<string, unknown>;
  readonly at: Date;
}

interface DbStageRow {
  function_name: string;
  stage: string;
  entered_at: Date | string;
  version: number | string;
  updated_by: string | null;
  reason: string | null;
}

function toRow(row: DbStageRow): StageRow {
  if (!isStage(row.stage)) throw new Error(`unknown migration stage ${row.stage}`);
  return {
    functionName: row.function_name,
    stage: row.stage,
    enteredAt: new Date(row.entered_at),
    version: Number(row.version),
    updatedBy: row.updated_by,
    reason: row.reason,
  };
}

const COLUMNS = "function_name, stage, entered_at, version, updated_by, reason";

export async function readStageRow(sql: SqlClient, functionName: string): Promise<StageRow | null> {
  const { rows } = await sql.query<DbStageRow>(
    `SELECT ${COLUMNS} FROM migration_stages WHERE function_name = $1`,
    [functionName],
  );
  return rows[0] ? toRow(rows[0]) : null;
}

export async function listStageRows(sql: SqlClient): Promise<StageRow[]> {
  const { rows } = await sql.query<DbStageRow>(
    `SELECT ${COLUMNS} FROM migration_stages ORDER BY function_name`,
  );
  return rows.map(toRow);
}

export interface StageMove {
  readonly functionName: string;
  /** The stage the gate was evaluated against (the row's, or the env seed without a row). */
  readonly from: MigrationStage;
  readonly to: MigrationStage;
  readonly actor: string;
  readonly reason: string;
  readonly gate: Record<string, unknown>;
}

/** Thrown when the row changed between the gate and the write. */
export class StageConflictError extends Error {
  constructor(readonly current: MigrationStage) {
    super(`the stage changed to ${current} while this move was being checked`);
  }
}

/** Writes the move and its audit row in one transaction. */
export async function writeStageMove(sql: SqlClient, move: StageMove): Promise<StageRow> {
  return await sql.transaction(async (tx) => {
    const { rows } = await tx.query<DbStageRow>(
      `SELECT ${COLUMNS} FROM migration_stages WHERE function_name = $1 FOR UPDATE`,
      [move.functionName],
    );
    const current = rows[0] ? toRow(rows[0]) : null;
    if (current && current.stage !== move.from) throw new StageConflictError(current.stage);
    const written = await tx.query<DbStageRow>(
      `INSERT INTO migration_stages (function_name, stage, entered_at, updated_by, reason)
       VALUES ($1, $2, now(), $3, $4)
       ON CONFLICT (function_name) DO UPDATE
         SET stage = EXCLUDED.stage, entered_at = EXCLUDED.entered_at,
             updated_by = EXCLUDED.updated_by, reason = EXCLUDED.reason
       RETURNING ${COLUMNS}`,
      [move.functionName, move.to, move.actor, move.reason],
    );
    await insertAudit(tx, move, "moved");
    return toRow(written.rows[0]!);
  });
}

/** A refused move is audited too: who tried, and the figures that refused it. */
export async function writeStageRefusal(sql: SqlClient, move: StageMove): Promise<void> {
  await insertAudit(sql, move, "refused");
}

async function insertAudit(
  sql: Pick<SqlClient, "query">,
  move: StageMove,
  outcome: "moved" | "refused",
): Promise<void> {
  await sql.query(
    `INSERT INTO migration_stage_audit
       (function_name, from_stage, to_stage, outcome, actor, reason, gate)
     VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb)`,
    [
      move.functionName,
      move.from,
      move.to,
      outcome,
      move.actor,
      move.reason,
      JSON.stringify(move.gate),
    ],
  );
}

export async function readStageAudit(
  sql: SqlClient,
  functionName: string | null,
  limit = 50,
): Promise<StageAuditRow[]> {
  const { rows } = await sql.query<Record<string, unknown>>(
    `SELECT id, function_name, from_stage, to_stage, outcome, actor, reason, gate, created_at
       FROM migration_stage_audit
      WHERE $1::text IS NULL OR function_name = $1::text
      ORDER BY id DESC LIMIT $2`,
    [functionName, limit],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    functionName: String(row.function_name),
    from: row.from_stage as MigrationStage,
    to: row.to_stage as MigrationStage,
    outcome: row.outcome as "moved" | "refused",
    actor: String(row.actor),
    reason: String(row.reason),
    gate: (typeof row.gate === "string" ? JSON.parse(row.gate) : row.gate) as Record<
      string,
      unknown
    >,
    at: new Date(row.created_at as string),
  }));
}
