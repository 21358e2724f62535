/**
 * Reads and writes runtime_flags rows over SqlClient. Operator input is validated here (the
 * coordinator's admin endpoint turns a validation error into a 4xx naming the field); column
 * names come from a fixed map, never from input, and every value is a bound parameter.
 */
import { z } from "zod";
import { CANARY_SELECTIONS } from "../config/env.ts";
import type { SqlClient } from "../db/sql-client.ts";
import { AppError, err, ok, type Result } from "../result.ts";
import { redactString } from "../observability/redact.ts";
import { readStageRow } from "../cutover/stage-store.ts";
import { isStagedFunction } from "../cutover/stages.ts";
import {
  type FlagsRows,
  FUNCTION_NAME_PATTERN,
  GLOBAL_FLAGS_NAME,
  type RuntimeFlagsPatch,
  type RuntimeFlagsRow,
} from "./types.ts";

/** numeric(5,2): at most two decimals, 0–100. */
const percentage = z.number().min(0).max(100).refine(
  (value) => Math.abs(value * 100 - Math.round(value * 100)) < 1e-7,
  "at most two decimals",
);

const domain = z.string().trim().toLowerCase().transform((value) => value.replace(/^@/, ""))
  .pipe(z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/, "expected an email domain like example.com"));

/** A partial update: an absent key keeps the column, `null` clears it back to "inherit". */
export const runtimeFlagsPatchSchema = z.strictObject({
  rolloutPercentage: percentage.nullable().optional(),
  enableFallback: z.boolean().nullable().optional(),
  enableComparison: z.boolean().nullable().optional(),
  forceOriginal: z.boolean().nullable().optional(),
  canaryEnabled: z.boolean().nullable().optional(),
  canaryPercentage: percentage.nullable().optional(),
  canarySelection: z.enum(CANARY_SELECTIONS).nullable().optional(),
  canaryWhitelist: z.array(z.string().trim().toLowerCase().min(1).max(320)).max(10_000)
    .nullable().optional(),
  canaryEmailDomains: z.array(domain).max(1000).nullable().optional(),
});

export interface FlagsChangeAudit {
  /** Who made the change (operator email, "ci", ...). */
  readonly updatedBy?: string;
  /** Why: shown in audits and in the emergency runbook. */
  readonly reason?: string;
}

/** Column of every patchable field, and how its parameter is cast. */
const COLUMNS: Record<keyof RuntimeFlagsPatch, { column: string; cast: string }> = {
  rolloutPercentage: { column: "rollout_percentage", cast: "$::numeric" },
  enableFallback: { column: "enable_fallback", cast: "$::boolean" },
  enableComparison: { column: "enable_comparison", cast: "$::boolean" },
  forceOriginal: { column: "force_original", cast: "$::boolean" },
  canaryEnabled: { column: "canary_enabled", cast: "$::boolean" },
  canaryPercentage: { column: "canary_percentage", cast: "$::numeric" },
  canarySelection: { column: "canary_selection", cast: "$::text" },
  // Arrays travel as JSON text: the same SQL then works on PGlite and postgres.js (with or
  // without prepared statements), and an empty list stays '{}' rather than NULL.
  canaryWhitelist: { column: "canary_whitelist", cast: textArrayFromJson("$") },
  canaryEmailDomains: { column: "canary_email_domains", cast: textArrayFromJson("$") },
};

function textArrayFromJson(param: string): string {
  return `CASE WHEN ${param}::text IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(${param}::text::jsonb)) END`;
}

const SELECT_COLUMNS = `function_name, rollout_percentage, enable_fallback, enable_comparison,
  force_original, canary_enabled, canary_percentage, canary_selection, canary_whitelist,
  canary_email_domains, version, updated_by, reason, updated_at`;

interface DbRow {
  function_name: string;
  rollout_percentage: number | string | null;
  enable_fallback: boolean | null;
  enable_comparison: boolean | null;
  force_original: boolean | null;
  canary_enabled: boolean | null;
  canary_percentage: number | string | null;
  canary_selection: RuntimeFlagsRow["canarySelection"];
  canary_whitelist: string[] | null;
  canary_email_domains: string[] | null;
  version: number | string;
  updated_by: string | null;
  reason: string | null;
  updated_at: Date | string;
}

function toRow(row: DbRow): RuntimeFlagsRow {
  const num = (value: number | string | null) => value === null ? null : Number(value);
  return {
    functionName: row.function_name,
    rolloutPercentage: num(row.rollout_percentage),
    enableFallback: row.enable_fallback,
    enableComparison: row.enable_comparison,
    forceOriginal: row.force_original,
    canaryEnabled: row.canary_enabled,
    canaryPercentage: num(row.canary_percentage),
    canarySelection: row.canary_selection,
    canaryWhitelist: row.canary_whitelist,
    canaryEmailDomains: row.canary_email_domains,
    version: Number(row.version),
    updatedBy: row.updated_by,
    reason: row.reason,
    updatedAt: row.updated_at instanceof Date ? row.updated_at : new Date(row.updated_at),
  };
}

function databaseError(action: string, cause: unknown): AppError {
  return new AppError("database_error", `could not ${action} runtime flags`, undefined, { cause });
}

function checkFunctionName(name: string): AppError | null {
  return FUNCTION_NAME_PATTERN.test(name) ? null : new AppError(
    "validation_failed",
    "functionName must be '*' or a function name (lower-case letters, digits, '-')",
    { field: "functionName" },
  );
}

export class RuntimeFlagsStore {
  constructor(private readonly sql: SqlClient) {}

  /** The global '*' row and the function's row, in one round trip. */
  async rowsFor(functionName: string): Promise<Result<FlagsRows, AppError>> {
    const invalid = checkFunctionName(functionName);
    if (invalid) return err(invalid);
    try {
      const { rows } = await this.sql.query<DbRow>(
        `SELECT ${SELECT_COLUMNS} FROM runtime_flags WHERE function_name IN ($1, $2)`,
        [GLOBAL_FLAGS_NAME, functionName],
      );
      const mapped = rows.map(toRow);
      return ok({
        global: mapped.find((row) => row.functionName === GLOBAL_FLAGS_NAME) ?? null,
        function: functionName === GLOBAL_FLAGS_NAME
          ? null
          : mapped.find((row) => row.functionName === functionName) ?? null,
        // Stages live beside the flags and travel through the same cache (shared/cutover).
        ...(isStagedFunction(functionName) &&
          { stage: await readStageRow(this.sql, functionName) }),
      });
    } catch (cause) {
      return err(databaseError("read", cause));
    }
  }

  async get(functionName: string): Promise<Result<RuntimeFlagsRow | null, AppError>> {
    const invalid = checkFunctionName(functionName);
    if (invalid) return err(invalid);
    try {
      const { rows } = await this.sql.query<DbRow>(
        `SELECT ${SELECT_COLUMNS} FROM runtime_flags WHERE function_name = $1`,
        [functionName],
      );
      return ok(rows[0] ? toRow(rows[0]) : null);
    } catch (cause) {
      return err(databaseError("read", cause));
    }
  }

  async list(): Promise<Result<RuntimeFlagsRow[], AppError>> {
    try {
      const { rows } = await this.sql.query<DbRow>(
        `SELECT ${SELECT_COLUMNS} FROM runtime_flags ORDER BY function_name`,
      );
      return ok(rows.map(toRow));
    } catch (cause) {
      return err(databaseError("list", cause));
    }
  }

  /**
   * Creates or updates a row. `patch` is validated (unknown keys are rejected); keys it omits
   * keep their current value. Returns the row as stored (version bumped by the trigger).
   */
  async upsert(
    functionName: string,
    patch: unknown,
    audit: FlagsChangeAudit = {},
  ): Promise<Result<RuntimeFlagsRow, AppError>> {
    const invalid = checkFunctionName(functionName);
    if (invalid) return err(invalid);
    const parsed = runtimeFlagsPatchSchema.safeParse(patch);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join(".") || "flags";
      return err(
        new AppError("validation_failed", `${field}: ${issue?.message ?? "invalid"}`, {
          field,
          issues: parsed.error.issues.map((i) => ({ field: i.path.join("."), message: i.message })),
        }),
      );
    }
    // Operator text is stored and shown again: redacted like every other sink (logs, Sentry).
    const params: unknown[] = [
      functionName,
      audit.updatedBy === undefined ? null : redactString(audit.updatedBy),
      audit.reason === undefined ? null : redactString(audit.reason),
    ];
    const columns: string[] = [];
    const values: string[] = [];
    for (const [key, value] of Object.entries(parsed.data)) {
      if (value === undefined) continue;
      const spec = COLUMNS[key as keyof RuntimeFlagsPatch];
      params.push(Array.isArray(value) ? JSON.stringify(value) : value);
      columns.push(spec.column);
      values.push(spec.cast.replaceAll("$", `$${params.length}`));
    }
    const updates = ["updated_by = EXCLUDED.updated_by", "reason = EXCLUDED.reason"]
      .concat(columns.map((column) => `${column} = EXCLUDED.${column}`));
    try {
      const { rows } = await this.sql.query<DbRow>(
        `INSERT INTO runtime_flags (function_name, updated_by, reason${
          columns.map((c) => `, ${c}`).join("")
        })
         VALUES ($1, $2, $3${values.map((v) => `, ${v}`).join("")})
         ON CONFLICT (function_name) DO UPDATE SET ${updates.join(", ")}
         RETURNING ${SELECT_COLUMNS}`,
        params,
      );
      return ok(toRow(rows[0]!));
    } catch (cause) {
      return err(databaseError("write", cause));
    }
  }

  /** Removes a row (the function then inherits everything). Returns whether a row existed. */
  async delete(functionName: string): Promise<Result<boolean, AppError>> {
    const invalid = checkFunctionName(functionName);
    if (invalid) return err(invalid);
    try {
      const { rowCount } = await this.sql.query(
        "DELETE FROM runtime_flags WHERE function_name = $1",
        [functionName],
      );
      return ok(rowCount > 0);
    } catch (cause) {
      return err(databaseError("delete", cause));
    }
  }

  /** The emergency kill switch: every function serves the original implementation. */
  setKillSwitch(on: boolean, audit: FlagsChangeAudit = {}) {
    return this.upsert(GLOBAL_FLAGS_NAME, { forceOriginal: on }, audit);
  }
}
