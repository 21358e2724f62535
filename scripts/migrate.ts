/**
 * `deno task migrate <command>`: the batch migration (Supabase Auth -> Better Auth) from a
 * terminal, against DATABASE_URL (or SUPABASE_DB_URL), else the local stack's embedded PGlite
 * (PGLITE_DATA_DIR, default .data/pglite; stop the dev server first, PGlite is single-process).
 *
 *   dry-run              what a run would do: counts, sample, every validation failure; no user written
 *   run                  run (or continue) the migration until done
 *   resume ID            continue migration ID
 *   rollback ID --yes    remove exactly the users migration ID created
 *   status               every migration: progress, rate, ETA, errors; tracker totals
 *   verify ID            checksums of source vs target for the users ID migrated
 *   validate             pre-flight: invalid rows, duplicate emails, users already in the target
 *
 * Options: --batch-size N, --max-batches N, --lease-ttl-ms N, --json (machine output),
 * --source legacy --table NAME (a legacy table in OLD_DATABASE_URL instead of Supabase Auth).
 * Several `run`s may work on one migration at once (they share it through leases).
 * Exit code: 0 done, 1 failed or not finished, 2 usage error.
 */
import {
  type Coverage,
  emptyCoverage,
  formatCoverage,
  mergeCoverage,
} from "../shared/batch/coverage.ts";
import { parseArgs } from "node:util";
import { BatchMigrationEngine, type RunResult } from "../shared/batch/engine.ts";
import { LegacyTableSource } from "../shared/batch/legacy-source.ts";
import { ProgressReporter } from "../shared/batch/progress.ts";
import { BatchLevers } from "../shared/ops/batch-levers.ts";
import type { SourceAdapter } from "../shared/batch/source.ts";
import { SupabaseAuthSource } from "../shared/batch/supabase-source.ts";
import { openPostgres } from "../shared/db/postgres-client.ts";
import type { SqlClient } from "../shared/db/sql-client.ts";
import { listenForStopSignals } from "../local/process/stop-signals.ts";
import { dryRunFrom } from "../shared/config/env.ts";
import { redactString } from "../shared/observability/redact.ts";
import { AppError } from "../shared/result.ts";

const USAGE =
  `usage: deno task migrate <dry-run | run | resume ID | rollback ID --yes | status | verify ID | validate>
  [--batch-size N] [--max-batches N] [--lease-ttl-ms N] [--json] [--source supabase|legacy --table NAME]`;

export interface CliIo {
  readonly env: Record<string, string | undefined>;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly isTerminal: boolean;
  /** Aborted on SIGINT/SIGTERM: a run stops after its current batch and closes the database. */
  readonly signal?: AbortSignal;
}

const defaultIo: CliIo = {
  env: Deno.env.toObject(),
  out: (text) => Deno.stdout.writeSync(new TextEncoder().encode(text)),
  err: (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
  isTerminal: Deno.stdout.isTerminal(),
};

class UsageError extends Error {}

async function openTarget(io: CliIo): Promise<{ db: SqlClient; where: string }> {
  const url = io.env.DATABASE_URL ?? io.env.SUPABASE_DB_URL;
  if (url) return { db: openPostgres({ url, max: 4 }), where: redactString(url) };
  // The local stack: the dev server's data directory, with Supabase's auth schema and migrations.
  const { openStandinDatabase, DEFAULT_DATA_DIR } = await import("../local/standin/database.ts");
  const dataDir = io.env.PGLITE_DATA_DIR ?? DEFAULT_DATA_DIR;
  const opened = await openStandinDatabase({ dataDir });
  return { db: opened.db, where: `embedded PGlite at ${dataDir}` };
}

function sourceFor(db: SqlClient, values: Record<string, unknown>, io: CliIo): SourceAdapter {
  if ((values.source ?? "supabase") === "supabase") return new SupabaseAuthSource(db);
  if (values.source !== "legacy") throw new UsageError(`unknown --source ${String(values.source)}`);
  const url = io.env.OLD_DATABASE_URL;
  if (!url) throw new UsageError("--source legacy needs OLD_DATABASE_URL");
  return new LegacyTableSource(
    openPostgres({ url, max: 2 }),
    { table: String(values.table ?? "profiles") },
    true,
  );
}

function positiveInt(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer`);
  return n;
}

/** What this process did over every engine call of the command (not just the last call). */
interface WorkerTotals {
  processed: number;
  migrated: number;
  skipped: number;
  errors: number;
  batches: number;
  elapsedMs: number;
}

function addRun(totals: WorkerTotals, result: RunResult): void {
  totals.processed += result.processed;
  totals.migrated += result.migrated;
  totals.skipped += result.skipped;
  totals.errors += result.errors;
  totals.batches += result.batches;
  totals.elapsedMs += result.elapsed_ms;
}

function summary(result: RunResult, worker: WorkerTotals): string {
  const t = result.totals;
  return [
    `migration ${result.migration_id}${result.dry_run ? " (dry run)" : ""}: ${result.status}` +
    (result.done ? "" : ` (stopped: ${result.stopped_because})`) +
    (result.held_by ? ` — held by ${result.held_by}` : ""),
    `  this worker: ${worker.processed} processed, ${worker.migrated} migrated, ` +
    `${worker.skipped} skipped, ${worker.errors} errors in ${worker.batches} batches, ${
      (worker.elapsedMs / 1000).toFixed(1)
    } s`,
    `  overall:  ${t.processed}/${t.total} processed, ${t.migrated} migrated, ${t.skipped} skipped, ` +
    `${t.errors} errors, ${result.remaining} remaining`,
    ...(result.last_error ? [`  last error: ${result.last_error}`] : []),
  ].join("\n") + "\n";
}

/** "waiting for lease 3 (held by worker-ab12 until 10:02:11 UTC, 97 s)" for the earliest expiry. */
async function waitLine(
  db: SqlClient,
  migrationId: string,
): Promise<{ key: string; line: string } | null> {
  const { rows } = await db.query<{ lease_no: number; worker_id: string | null; until: string }>(
    `SELECT lease_no, worker_id, to_char(leased_until AT TIME ZONE 'UTC', 'HH24:MI:SS') AS until,
            ceil(extract(epoch FROM leased_until - clock_timestamp()))::int AS seconds
       FROM batch_leases
      WHERE migration_id = $1 AND status = 'leased'
      ORDER BY leased_until LIMIT 1`,
    [migrationId],
  );
  const lease = rows[0] as
    | { lease_no: number; worker_id: string | null; until: string; seconds: number }
    | undefined;
  if (!lease) return null;
  const holder = lease.worker_id ?? "another worker";
  return {
    key: `${lease.lease_no} ${holder} ${lease.until}`,
    line: `waiting for lease ${lease.lease_no} (held by ${holder} until ${lease.until} UTC, ` +
      `${Math.max(0, Number(lease.seconds))} s; re-taken when it expires)`,
  };
}

export async function main(args: readonly string[], io: CliIo = defaultIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        "batch-size": { type: "string" },
        "max-batches": { type: "string" },
        "lease-ttl-ms": { type: "string" },
        json: { type: "boolean" },
        yes: { type: "boolean" },
        source: { type: "string" },
        table: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    io.err(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, id] = positionals;
  if (values.help || !command) {
    (values.help ? io.out : io.err)(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const needsId = ["resume", "rollback", "verify"].includes(command);
  const known = ["dry-run", "run", "status", "validate", ...["resume", "rollback", "verify"]];
  if (!known.includes(command) || (needsId && !id)) {
    io.err(
      `${needsId ? `${command} needs a migration id` : `unknown command ${command}`}\n${USAGE}\n`,
    );
    return 2;
  }
  // DRY_RUN=true: this CLI only plans, as migrate-batch does (run/resume become dry runs).
  let dryRunOnly: boolean;
  try {
    dryRunOnly = dryRunFrom(io.env);
  } catch (error) {
    io.err(`${(error as Error).message}\n`);
    return 2;
  }
  if (dryRunOnly && command === "rollback") {
    io.err("DRY_RUN is set: this CLI only plans, and a rollback deletes migrated users\n");
    return 2;
  }
  if (command === "rollback" && !values.yes) {
    io.err(`rollback removes every user migration ${id} created; re-run with --yes to confirm\n`);
    return 2;
  }

  let batchSize: number | undefined;
  let maxBatches: number | undefined;
  let leaseTtlMs: number | undefined;
  try {
    // --batch-size wins; else MIGRATION_BATCH_SIZE, as the function uses it.
    batchSize = positiveInt(values["batch-size"], "batch-size") ??
      positiveInt(io.env.MIGRATION_BATCH_SIZE, "MIGRATION_BATCH_SIZE");
    maxBatches = positiveInt(values["max-batches"], "max-batches");
    leaseTtlMs = positiveInt(values["lease-ttl-ms"], "lease-ttl-ms");
  } catch (error) {
    io.err(`${(error as Error).message}\n`);
    return 2;
  }

  const { db, where } = await openTarget(io);
  let source: SourceAdapter | undefined;
  const json = values.json ?? false;
  const say = (text: string) => json ? undefined : io.out(text);
  try {
    source = sourceFor(db, values, io);
    say(`${command} against ${where} (source ${source.name})\n`);
    const reporter = new ProgressReporter({ write: io.out, isTerminal: io.isTerminal && !json });
    const engine = new BatchMigrationEngine({
      db,
      source,
      betterAuthSecret: Deno.env.get("BETTER_AUTH_SECRET"),
      // No wall-clock limit from a terminal: the loop below runs until the migration is done.
      options: {
        budgetMs: 3_600_000,
        ...(batchSize && { batchSize }),
        ...(leaseTtlMs && { leaseTtlMs }),
      },
      onBatch: json ? undefined : (progress) => reporter.update(progress),
      gate: new BatchLevers(db),
    });

    if (command === "status") {
      const report = await engine.status();
      if (json) io.out(`${JSON.stringify(report)}\n`);
      else {
        for (const m of report.migrations) {
          io.out(
            `${m.id}  ${m.status}${m.dry_run ? " (dry run)" : ""}  ${m.progress_percent}%  ` +
              `${m.processed}/${m.total}  migrated ${m.migrated}  skipped ${m.skipped}  ` +
              `errors ${m.errors}  rate ${m.rate_per_second ?? "-"}/s  ETA ${
                m.eta_seconds ?? "-"
              } s\n`,
          );
        }
        const t = report.totals;
        io.out(
          `totals: ${t.total} tracked, ${t.supabaseMigrated} in Supabase, ${t.betterAuthMigrated} in Better Auth, ` +
            `${t.fullyMigrated} fully migrated (${t.completionRate.toFixed(1)}%)\n`,
        );
      }
      return 0;
    }
    if (command === "verify") {
      const result = await engine.verify({ migration_id: id! });
      if (json) io.out(`${JSON.stringify(result)}\n`);
      else {
        io.out(
          `verify ${result.migration_id}: ${result.equal ? "EQUAL" : "DIFFERENT"}\n` +
            `  migrated ${result.migrated}, source ${result.source_count}, target ${result.target_count}, ` +
            `differing ${result.differing}\n  source sha256 ${result.source_checksum}\n` +
            `  target sha256 ${result.target_checksum}\n`,
        );
        for (const d of result.differing_ids.slice(0, 20)) io.out(`  ${d.id}  ${d.problem}\n`);
      }
      return result.equal ? 0 : 1;
    }
    if (command === "rollback") {
      let result;
      do {
        result = await engine.rollback({ migration_id: id!, confirm: true });
        say(`removed ${result.removed}, ${result.remaining} remaining\n`);
      } while (!result.done);
      if (json) io.out(`${JSON.stringify(result)}\n`);
      return 0;
    }
    if (command === "validate") {
      let afterId: string | undefined;
      let result;
      do {
        result = await engine.validate(afterId ? { after_id: afterId } : {});
        if (json) io.out(`${JSON.stringify(result)}\n`);
        else {
          io.out(formatCoverage(result.coverage));
          io.out(
            `checked ${result.checked}: ${result.would_migrate} would migrate, ` +
              `${result.would_skip} skip, ${result.invalid} invalid, ` +
              `${result.duplicate_emails} shared emails\n`,
          );
          for (const [reason, n] of Object.entries(result.by_reason)) io.out(`  ${reason}: ${n}\n`);
          for (const f of result.failures.slice(0, 20)) io.out(`  ${f.id}  ${f.reason}\n`);
        }
        afterId = result.next_after_id ?? undefined;
      } while (!result.complete);
      return 0;
    }

    // dry-run, run, resume: keep taking batches until the migration is done.
    const dryRun = command === "dry-run" || dryRunOnly;
    if (dryRunOnly && command !== "dry-run") say(`DRY_RUN is set: ${command} plans only\n`);
    let migrationId = command === "resume" ? id : undefined;
    let result: RunResult;
    let batches = 0;
    const worker: WorkerTotals = {
      processed: 0,
      migrated: 0,
      skipped: 0,
      errors: 0,
      batches: 0,
      elapsedMs: 0,
    };
    let lastWait = "";
    const coverage: Coverage = emptyCoverage();
    for (;;) {
      if (io.signal?.aborted) {
        io.err(
          `stopped by a signal${
            migrationId ? `; continue with: deno task migrate resume ${migrationId}` : ""
          }\n`,
        );
        return 1;
      }
      result = await engine.run({
        ...(migrationId !== undefined && { migration_id: migrationId }),
        // A resume keeps the migration's own kind, except that DRY_RUN never resumes a real one.
        ...((command !== "resume" || dryRunOnly) && { dry_run: dryRun }),
        ...(batchSize !== undefined && { batch_size: batchSize }),
        ...(maxBatches !== undefined && { max_batches: maxBatches - batches }),
      }, { signal: io.signal });
      migrationId = result.migration_id;
      batches += result.batches;
      addRun(worker, result);
      mergeCoverage(coverage, result.coverage ?? {});
      if (
        result.done ||
        ["failed", "rolled_back", "max_batches", "paused"].includes(result.stopped_because)
      ) {
        break;
      }
      // Other workers hold the last ranges, or their leases have not expired yet: say which
      // (a killed worker's lease is re-taken when it expires), then wait a little.
      if (result.stopped_because === "busy") {
        // One line per lease waited for (not one per poll).
        const wait = await waitLine(db, result.migration_id);
        if (wait && wait.key !== lastWait && !json) io.err(`${wait.line}\n`);
        lastWait = wait?.key ?? "";
      }
      if (result.stopped_because === "busy" || result.stopped_because === "transient_errors") {
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    reporter.finish();
    if (dryRun) result = { ...result, coverage };
    if (json) io.out(`${JSON.stringify(result)}\n`);
    else {
      io.out(summary(result, worker));
      if (dryRun) {
        io.out(formatCoverage(coverage));
        io.out(`  validation failures: ${result.failures?.length ?? 0}\n`);
        for (const f of (result.failures ?? []).slice(0, 20)) {
          io.out(`    ${f.id}  ${f.reason}${f.email ? `  ${f.email}` : ""}\n`);
        }
      }
    }
    return result.done ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\n`);
      return 2;
    }
    const message = error instanceof AppError
      ? `${error.code}: ${error.message}`
      : error instanceof Error
      ? error.message
      : String(error);
    io.err(`migrate ${command} failed: ${redactString(message)}\n`);
    return 1;
  } finally {
    await source?.close();
    await db.close();
  }
}

if (import.meta.main) {
  const stop = listenForStopSignals();
  const code = await main(Deno.args, { ...defaultIo, signal: stop.signal });
  Deno.exit(stop.exitCode() ?? code);
}
