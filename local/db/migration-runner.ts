import { AppError } from "../../shared/result.ts";
import { sha256Hex } from "../../shared/crypto/sha256.ts";
import type { SqlClient } from "../../shared/db/sql-client.ts";

/** One SQL migration file. */
export interface MigrationFile {
  readonly name: string;
  readonly sql: string;
}

export interface AppliedMigration {
  readonly name: string;
  readonly checksum: string;
  readonly appliedAt: Date;
}

export interface MigrationRunResult {
  readonly applied: string[];
  readonly skipped: string[];
}

/** Supabase CLI's naming rule (`<digits>_<name>.sql`), so `supabase db push` takes the same files. */
const MIGRATION_NAME = /^\d{14}_[a-z0-9_]+\.sql$/;

/** The project's migrations directory, resolved from this module (works from any cwd). */
export const DEFAULT_MIGRATIONS_DIR = new URL("../../migrations/", import.meta.url);

export { sha256Hex };

/** Reads `*.sql` files of a directory in name order. */
export async function loadMigrationFiles(
  dir: URL | string = DEFAULT_MIGRATIONS_DIR,
): Promise<MigrationFile[]> {
  const files: MigrationFile[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".sql")) continue;
    if (!MIGRATION_NAME.test(entry.name)) {
      throw new AppError(
        "validation_failed",
        `migration file ${entry.name} must be named <14 digits>_<snake_case>.sql`,
      );
    }
    const url = new URL(
      entry.name,
      dir instanceof URL ? dir : `file://${dir.replace(/\/?$/, "/")}`,
    );
    files.push({ name: entry.name, sql: await Deno.readTextFile(url) });
  }
  return files.sort((a, b) => a.name.localeCompare(b.name));
}

const LEDGER_DDL = `
CREATE TABLE IF NOT EXISTS edge_migrator_schema_migrations (
  name       text PRIMARY KEY,
  checksum   text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/** Arbitrary constant key: every runner (dev servers, CI, workers) serialises on it. */
const LOCK_KEY = 7_424_611_001;

/**
 * Applies pending migrations in order, each in its own transaction together with its ledger row.
 * Applied files are verified by SHA-256: an edited applied file is refused, never re-run.
 * Concurrent runners serialise on an advisory lock and re-check the ledger after taking it.
 */
export async function runMigrations(
  db: SqlClient,
  files: readonly MigrationFile[],
): Promise<MigrationRunResult> {
  await db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY]);
    await tx.exec(LEDGER_DDL);
  });
  const applied: string[] = [];
  const skipped: string[] = [];
  for (const file of files) {
    const checksum = await sha256Hex(file.sql);
    const wasApplied = await db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY]);
      const { rows } = await tx.query<{ checksum: string }>(
        "SELECT checksum FROM edge_migrator_schema_migrations WHERE name = $1",
        [file.name],
      );
      const existing = rows[0];
      if (existing) {
        if (existing.checksum !== checksum) {
          throw new AppError(
            "conflict",
            `migration ${file.name} was edited after it was applied ` +
              `(applied ${existing.checksum.slice(0, 12)}, file ${checksum.slice(0, 12)}); ` +
              "add a new migration instead",
          );
        }
        return true;
      }
      await tx.exec(file.sql);
      await tx.query(
        "INSERT INTO edge_migrator_schema_migrations (name, checksum) VALUES ($1, $2)",
        [file.name, checksum],
      );
      return false;
    });
    (wasApplied ? skipped : applied).push(file.name);
  }
  return { applied, skipped };
}

export async function listAppliedMigrations(db: SqlClient): Promise<AppliedMigration[]> {
  const { rows } = await db.query<{ name: string; checksum: string; applied_at: Date }>(
    "SELECT name, checksum, applied_at FROM edge_migrator_schema_migrations ORDER BY name",
  );
  return rows.map((row) => ({ name: row.name, checksum: row.checksum, appliedAt: row.applied_at }));
}
