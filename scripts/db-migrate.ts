/**
 * `deno task db:migrate`: applies migrations/ to DATABASE_URL (or SUPABASE_DB_URL), or to the
 * embedded PGlite data directory (PGLITE_DATA_DIR, default .data/pglite) when neither is set.
 */
import { loadMigrationFiles, runMigrations } from "../local/db/migration-runner.ts";
import { openPglite } from "../local/db/pglite-client.ts";
import { openPostgres } from "../shared/db/postgres-client.ts";
import type { SqlClient } from "../shared/db/sql-client.ts";
import { redactString } from "../shared/observability/redact.ts";

const url = Deno.env.get("DATABASE_URL") ?? Deno.env.get("SUPABASE_DB_URL");
const dataDir = Deno.env.get("PGLITE_DATA_DIR") ?? ".data/pglite";
let db: SqlClient;
if (url) {
  db = openPostgres({ url, max: 1 });
  console.log(`migrating ${redactString(url)}`);
} else {
  await Deno.mkdir(dataDir, { recursive: true });
  db = await openPglite({ dataDir });
  console.log(`migrating embedded PGlite at ${dataDir}`);
}
try {
  const result = await runMigrations(db, await loadMigrationFiles());
  for (const name of result.applied) console.log(`applied  ${name}`);
  console.log(`${result.applied.length} applied, ${result.skipped.length} already applied`);
} catch (error) {
  console.error(`migration failed: ${error instanceof Error ? error.message : String(error)}`);
  Deno.exitCode = 1;
} finally {
  await db.close();
}
