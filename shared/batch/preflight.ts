/**
 * Pre-flight validation (POST /validate, `deno task migrate validate`): classifies the whole
 * source with the same SQL as a run — invalid rows, duplicate emails, users already present in
 * the target — in keyset chunks, and writes nothing at all. When the budget runs out it returns
 * next_after_id to continue from.
 */
import type { SqlClient } from "../db/sql-client.ts";
import type { MigrationRules } from "./config.ts";
import { EMAIL_PATTERN, PASSWORD_HASH_PATTERN } from "./rules.ts";
import { type Coverage, emptyCoverage, mergeCoverage } from "./coverage.ts";
import type { TotpCarrier } from "./mfa.ts";
import type { SourceAdapter } from "./source.ts";
import { type PreflightRow, preflightStatement } from "./statements.ts";
import { LEASE_PLANNER_SETTINGS } from "./created-rows.ts";

export interface PreflightResult {
  /** Users examined by this call. */
  readonly checked: number;
  readonly would_migrate: number;
  readonly would_skip: number;
  readonly invalid: number;
  readonly duplicate_emails: number;
  /** Users per skip or rejection reason. */
  readonly by_reason: Record<string, number>;
  /** Up to max_failures rejected users (id, email, reason). */
  readonly failures: PreflightRow["failures"];
  readonly complete: boolean;
  /** Pass as after_id to continue when the budget ran out. */
  readonly next_after_id: string | null;
  /** Per source field: how many users have it, how many will carry it over, why not. */
  readonly coverage: Coverage;
}

export async function preflight(
  db: SqlClient,
  source: SourceAdapter,
  options: {
    rules: MigrationRules;
    batchSize: number;
    afterId: string | null;
    maxFailures: number;
    budgetMs: number;
    clock: () => number;
    totp?: TotpCarrier;
  },
): Promise<PreflightResult> {
  const started = options.clock();
  const asOf = new Date();
  const duplicates = await source.duplicateEmails({
    rules: options.rules,
    asOf,
    emailPattern: EMAIL_PATTERN,
    passwordHashPattern: PASSWORD_HASH_PATTERN,
  });
  const context = {
    migrationId: null,
    source,
    rules: options.rules,
    asOf,
    totp: options.totp,
    duplicates: { kind: "inline" as const, rows: duplicates },
  };
  const byReason: Record<string, number> = {};
  const failures: PreflightRow["failures"] = [];
  const coverage: Coverage = emptyCoverage();
  let checked = 0;
  let wouldMigrate = 0;
  let wouldSkip = 0;
  let after = options.afterId;
  let complete = false;
  for (;;) {
    const ids = await source.idsAfter(after, options.batchSize);
    if (ids.length === 0) {
      complete = true;
      break;
    }
    const upper = ids.at(-1)!;
    const statement = await preflightStatement(
      context,
      { kind: "range", range: { lower: after, upper } },
      Math.max(0, options.maxFailures - failures.length),
    );
    const row = await db.transaction(async (tx) => {
      await tx.query(LEASE_PLANNER_SETTINGS);
      return (await tx.query<PreflightRow>(statement.sql, statement.params)).rows[0]!;
    });
    checked += row.processed;
    wouldMigrate += row.to_migrate;
    wouldSkip += row.skipped;
    for (const [reason, n] of Object.entries(row.by_reason)) {
      byReason[reason] = (byReason[reason] ?? 0) + n;
    }
    failures.push(...row.failures);
    mergeCoverage(coverage, row.coverage);
    after = upper;
    if (ids.length < options.batchSize) {
      complete = true;
      break;
    }
    if (options.clock() - started >= options.budgetMs) break;
  }
  return {
    checked,
    would_migrate: wouldMigrate,
    would_skip: wouldSkip,
    invalid: checked - wouldMigrate - wouldSkip,
    duplicate_emails: duplicates.length,
    by_reason: byReason,
    failures,
    complete,
    next_after_id: complete ? null : after,
    coverage,
  };
}
