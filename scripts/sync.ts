/**
 * `deno task sync <command>`: the identity change streams from a terminal, against DATABASE_URL
 * (or SUPABASE_DB_URL), else the local stack's embedded PGlite (stop the dev server first).
 *
 *   status                 pending rows, lag and stuck users per direction; capture failures
 *   apply [--budget-ms N]  apply both directions now (Better Auth → Supabase needs
 *                          SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY for GoTrue's admin API)
 *   resync [--since ISO]   re-capture every Supabase user (changed since ISO): the full diff
 *   complete --yes         declare the migration complete
 *   reopen --yes           take the declaration back
 *
 * Exit code: 0 ok, 1 failed (or `apply` left failures), 2 usage error.
 */
import { parseArgs } from "node:util";
import { createClient } from "@supabase/supabase-js";
import { openPostgres } from "../shared/db/postgres-client.ts";
import type { SqlClient } from "../shared/db/sql-client.ts";
import { redactString } from "../shared/observability/redact.ts";
import { IdentitySync } from "../shared/sync/service.ts";

const USAGE = `usage: deno task sync <status | apply [--budget-ms N] | resync [--since ISO] |
  complete --yes | reopen --yes>`;

class UsageError extends Error {}

async function openTarget(env: Record<string, string | undefined>): Promise<SqlClient> {
  const url = env.DATABASE_URL ?? env.SUPABASE_DB_URL;
  if (url) return openPostgres({ url, max: 4 });
  const { openStandinDatabase, DEFAULT_DATA_DIR } = await import("../local/standin/database.ts");
  return (await openStandinDatabase({ dataDir: env.PGLITE_DATA_DIR ?? DEFAULT_DATA_DIR })).db;
}

export async function main(
  args: string[],
  env: Record<string, string | undefined> = Deno.env.toObject(),
  out: (line: string) => void = (line) => console.log(line),
): Promise<number> {
  let db: SqlClient | null = null;
  try {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        "budget-ms": { type: "string" },
        since: { type: "string" },
        yes: { type: "boolean", default: false },
      },
    });
    const command = positionals[0];
    if (!command || positionals.length > 1) throw new UsageError(USAGE);
    if ((command === "complete" || command === "reopen") && !values.yes) {
      throw new UsageError(`${command} changes what the whole migration does: add --yes`);
    }
    const budgetMs = values["budget-ms"] === undefined ? undefined : Number(values["budget-ms"]);
    if (budgetMs !== undefined && !(Number.isInteger(budgetMs) && budgetMs > 0)) {
      throw new UsageError("--budget-ms must be a positive integer");
    }
    const since = values.since === undefined ? undefined : new Date(values.since);
    if (since && Number.isNaN(since.getTime())) throw new UsageError("--since must be a date");
    if (!["status", "apply", "resync", "complete", "reopen"].includes(command)) {
      throw new UsageError(USAGE);
    }

    db = await openTarget(env);
    const supabaseAdmin = env.SUPABASE_URL && env.SUPABASE_SERVICE_ROLE_KEY
      ? createClient(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY, {
        auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      })
      : undefined;
    const sync = new IdentitySync({ db, supabaseAdmin });
    let result: unknown;
    let failed = false;
    switch (command) {
      case "status":
        result = await sync.status();
        break;
      case "apply": {
        const report = await sync.apply({ budgetMs });
        failed = report.toBetterAuth.failedUsers + (report.toSupabase?.failedUsers ?? 0) > 0;
        result = report;
        break;
      }
      case "resync":
        result = await sync.resync({ since });
        break;
      case "complete":
        result = await sync.completion.declareComplete("cli");
        break;
      case "reopen":
        result = await sync.completion.reopen();
        break;
    }
    out(JSON.stringify(result, null, 2));
    return failed ? 1 : 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE")) {
      out((error as Error).message);
      return 2;
    }
    out(`sync failed: ${redactString(error instanceof Error ? error.message : String(error))}`);
    return 1;
  } finally {
    await db?.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
