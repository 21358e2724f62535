/**
 * A batch-migration worker as its own process, for the crash tests: runs one migration until it
 * is done, printing "ready" once connected and one line per batch. Killed with SIGKILL at random
 * moments by engine.crash.test.ts.
 *
 *   deno run -A worker-process.ts <database-url> <migration-id> <batch-size> <lease-ttl-ms>
 */
import { BatchMigrationEngine } from "../../../shared/batch/engine.ts";
import { SupabaseAuthSource } from "../../../shared/batch/supabase-source.ts";
import { openPostgres } from "../../../shared/db/postgres-client.ts";

const [url, migrationId, batchSize, leaseTtlMs] = Deno.args;
if (!url || !migrationId) throw new Error("usage: worker-process.ts <url> <migration-id> ...");
const db = openPostgres({ url, max: 2 });
const engine = new BatchMigrationEngine({
  db,
  source: new SupabaseAuthSource(db),
  options: { batchSize: Number(batchSize ?? 50), leaseTtlMs: Number(leaseTtlMs ?? 1000) },
  onBatch: (progress) => console.log(`batch ${progress.processed}/${progress.total}`),
});
await db.query("SELECT 1");
console.log("ready");
try {
  for (;;) {
    const result = await engine.run({ migration_id: migrationId });
    if (result.done) break;
    if (result.stopped_because === "busy") await new Promise((r) => setTimeout(r, 100));
  }
  console.log("done");
} finally {
  await db.close();
}
