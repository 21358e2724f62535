/**
 * Operator-visible history in migration_log: every rollout step, failed check, abort, retry,
 * rollback and kill-switch change, with the figures that caused it. Component names:
 * `rollout:<function>` for a function's rollout, `ops` for suite-wide actions (emergency
 * rollback). The migration_status view then shows the latest entry per component and phase.
 */
import type { SqlClient } from "../db/sql-client.ts";
import { redactSecrets, redactString } from "../observability/redact.ts";

export type LogStatus = "started" | "completed" | "failed" | "aborted" | "info";

export interface OpsLogEntry {
  readonly component: string;
  readonly phase: string;
  readonly status: LogStatus;
  readonly message?: string | null;
  readonly metadata?: Record<string, unknown>;
  /** Defaults to the database clock. */
  readonly at?: Date;
}

export function rolloutComponent(functionName: string): string {
  return `rollout:${functionName}`;
}

export const OPS_COMPONENT = "ops";

/** Writes one entry (inside the caller's transaction when `sql` is one). */
export async function writeOpsLog(sql: SqlClient, entry: OpsLogEntry): Promise<void> {
  const at = entry.at?.toISOString() ?? null;
  const failed = entry.status === "failed" || entry.status === "aborted";
  await sql.query(
    `INSERT INTO migration_log
       (component, phase, status, started_at, completed_at, failed_at, error_message, metadata)
     VALUES ($1, $2, $3, COALESCE($4::timestamptz, now()),
             CASE WHEN $3 = 'completed' THEN COALESCE($4::timestamptz, now()) END,
             CASE WHEN $5 THEN COALESCE($4::timestamptz, now()) END,
             $6, $7::text::jsonb)`,
    [
      entry.component,
      entry.phase,
      entry.status,
      at,
      failed,
      // error_message is for failures; every entry keeps its message in metadata.message.
      failed && entry.message ? redactString(entry.message) : null,
      JSON.stringify(
        redactSecrets({ ...(entry.message ? { message: entry.message } : {}), ...entry.metadata }),
      ),
    ],
  );
}
