/**
 * The shadow disagreement rate of one function: comparisons whose differences the noise floor
 * (noise-floor.ts) does not explain, over all comparisons. This, not the raw mismatch rate, is
 * what health judges: a write landing between the primary's read and the shadow's is noise.
 *
 * Read from performance_metrics (every compared request has one row there; shadow_comparisons
 * keeps only the mismatches, with their noise_paths and disagreement verdict). Rows from before
 * the noise floor (disagreement NULL) count every mismatch as a disagreement.
 */
import type { SqlClient } from "../db/sql-client.ts";

/** The SQL aggregate of disagreements over performance_metrics rows (health.ts uses it too). */
export const DISAGREEMENTS_SQL = "count(*) FILTER (WHERE coalesce(disagreement, mismatch))";

export interface ShadowAgreement {
  readonly compared: number;
  /** Any difference (raw). */
  readonly mismatches: number;
  /** Mismatches entirely explained by noise. */
  readonly noiseOnly: number;
  readonly disagreements: number;
  /** disagreements / compared; null without comparisons. */
  readonly disagreementRate: number | null;
}

/** Figures of `functionName` for metrics recorded in (from, to]. */
export async function measureShadowAgreement(
  sql: SqlClient,
  functionName: string,
  from: Date,
  to: Date,
): Promise<ShadowAgreement> {
  const { rows } = await sql.query<Record<string, number | string | null>>(
    `SELECT count(*) FILTER (WHERE mismatch IS NOT NULL) AS compared,
            count(*) FILTER (WHERE mismatch) AS mismatches,
            ${DISAGREEMENTS_SQL} AS disagreements
     FROM performance_metrics
     WHERE function_name = $1 AND recorded_at > $2::timestamptz AND recorded_at <= $3::timestamptz`,
    [functionName, from.toISOString(), to.toISOString()],
  );
  const row = rows[0] ?? {};
  const compared = Number(row.compared ?? 0);
  const mismatches = Number(row.mismatches ?? 0);
  const disagreements = Number(row.disagreements ?? 0);
  return {
    compared,
    mismatches,
    noiseOnly: mismatches - disagreements,
    disagreements,
    disagreementRate: compared > 0 ? disagreements / compared : null,
  };
}
