import type { SqlClient } from "../db/sql-client.ts";
import { redactSecrets } from "../observability/redact.ts";
import type { ComparisonSink, ShadowComparison } from "./types.ts";

/**
 * Stores shadow comparisons in shadow_comparisons. Bodies are redacted again here, the last
 * step before they leave the process, so a caller that forgot cannot leak a secret.
 */
export class SqlComparisonSink implements ComparisonSink {
  constructor(
    private readonly sql: SqlClient,
    private readonly options: { readonly redactKeys?: readonly string[] } = {},
  ) {}

  async save(comparison: ShadowComparison): Promise<void> {
    const body = (value: unknown) =>
      value === undefined || value === null
        ? null
        : JSON.stringify(redactSecrets(value, { extraKeys: this.options.redactKeys }));
    await this.sql.query(
      `INSERT INTO shadow_comparisons (
         request_id, function_name, operation, primary_path, shadow_path, matched,
         primary_status, shadow_status, differing_paths, primary_body, shadow_body, shadow_error,
         noise_paths, disagreement
       ) VALUES (
         $1, $2, $3, $4, $5, $6, $7, $8,
         ARRAY(SELECT jsonb_array_elements_text($9::text::jsonb)),
         $10::text::jsonb, $11::text::jsonb, $12,
         ARRAY(SELECT jsonb_array_elements_text($13::text::jsonb)), $14
       )`,
      [
        comparison.requestId,
        comparison.functionName,
        comparison.operation,
        comparison.primaryPath,
        comparison.shadowPath,
        comparison.matched,
        comparison.primaryStatus,
        comparison.shadowStatus,
        JSON.stringify(comparison.differingPaths),
        body(comparison.primaryBody),
        body(comparison.shadowBody),
        comparison.shadowError,
        JSON.stringify(comparison.noisePaths ?? []),
        // Rows from before the noise floor: every mismatch is a disagreement.
        comparison.disagreement === undefined ? !comparison.matched : comparison.disagreement,
      ],
    );
  }
}

/** Keeps comparisons in memory (tests, benchmarks). */
export class MemoryComparisonSink implements ComparisonSink {
  readonly comparisons: ShadowComparison[] = [];
  save(comparison: ShadowComparison): Promise<void> {
    this.comparisons.push(comparison);
    return Promise.resolve();
  }
}
