/**
 * A scratch PostgreSQL database for a benchmark: created under TEST_DATABASE_URL's server with
 * Supabase's auth schema and then every migration (the order of a real project), dropped after.
 */
import { loadMigrationFiles, runMigrations } from "../local/db/migration-runner.ts";
import { AUTH_SCHEMA_URL } from "../local/standin/database.ts";
import { openPostgres } from "../shared/db/postgres-client.ts";

export async function scratchDatabase(
  adminUrl: string,
  label: string,
  poolMax = 4,
  options: { serial?: boolean } = {},
) {
  const name = `em_bench_${label}_${Deno.pid}`;
  const admin = openPostgres({ url: adminUrl, max: 1 });
  await admin.exec(`DROP DATABASE IF EXISTS ${name}`);
  await admin.exec(`CREATE DATABASE ${name}`);
  // serial: no parallel query workers, so each connection's work stays in its own backend —
  // where a benchmark reading backends' CPU from /proc can see it (a parallel worker exits
  // before it can be read).
  if (options.serial) {
    await admin.exec(`ALTER DATABASE ${name} SET max_parallel_workers_per_gather = 0`);
  }
  await admin.close();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = openPostgres({ url: url.toString(), max: poolMax });
  await db.exec(await Deno.readTextFile(AUTH_SCHEMA_URL));
  await runMigrations(db, await loadMigrationFiles());
  return {
    db,
    name,
    url: url.toString(),
    drop: async () => {
      await db.close();
      const dropper = openPostgres({ url: adminUrl, max: 1 });
      await dropper.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.close();
    },
  };
}
