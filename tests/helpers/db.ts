/**
 * Real databases for tests, started cheaply:
 * - PGlite: initdb + migrations run once per test process; every further instance starts from a
 *   data-dir snapshot (~0.5 s instead of ~3 s).
 * - PostgreSQL 15 (when TEST_DATABASE_URL is set, as in CI): migrations run once into a template
 *   database; every test gets its own database cloned from it (CREATE DATABASE ... TEMPLATE).
 */
import { openPglite } from "../../local/db/pglite-client.ts";
import { openPostgres } from "../../shared/db/postgres-client.ts";
import { loadMigrationFiles, runMigrations } from "../../local/db/migration-runner.ts";
import type { SqlClient, SqlDialect } from "../../shared/db/sql-client.ts";

export const TEST_DATABASE_URL = Deno.env.get("TEST_DATABASE_URL");

let pgliteSnapshot: Promise<Blob> | undefined;

async function takePgliteSnapshot(): Promise<Blob> {
  const db = await openPglite();
  await runMigrations(db, await loadMigrationFiles());
  const snapshot = await db.pglite.dumpDataDir("none");
  await db.close();
  return snapshot;
}

/** A migrated in-memory PGlite; close it when done. */
export async function freshPglite(): Promise<
  SqlClient & { pglite: import("@electric-sql/pglite").PGlite }
> {
  pgliteSnapshot ??= takePgliteSnapshot();
  return await openPglite({ loadDataDir: await pgliteSnapshot });
}

let templateName: Promise<string> | undefined;
let databaseCounter = 0;

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function createTemplate(adminUrl: string): Promise<string> {
  const name = `em_tpl_${Deno.pid}_${Date.now().toString(36)}`;
  const admin = openPostgres({ url: adminUrl, max: 1 });
  try {
    await admin.exec(`CREATE DATABASE ${name}`);
  } finally {
    await admin.close();
  }
  const template = openPostgres({ url: withDatabase(adminUrl, name), max: 1 });
  try {
    await runMigrations(template, await loadMigrationFiles());
  } finally {
    await template.close();
  }
  return name;
}

/** A migrated PostgreSQL database of its own, plus its URL (for code that opens its own pool). */
export async function freshPostgres(
  options: { max?: number } = {},
): Promise<SqlClient & { url: string; sql: import("postgres").Sql }> {
  if (!TEST_DATABASE_URL) throw new Error("TEST_DATABASE_URL is not set");
  templateName ??= createTemplate(TEST_DATABASE_URL);
  const template = await templateName;
  const name = `em_t_${Deno.pid}_${++databaseCounter}_${Date.now().toString(36)}`;
  const admin = openPostgres({ url: TEST_DATABASE_URL, max: 1 });
  try {
    await admin.exec(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  } finally {
    await admin.close();
  }
  const url = withDatabase(TEST_DATABASE_URL, name);
  const client = openPostgres({ url, max: options.max ?? 10 });
  const close = client.close.bind(client);
  return Object.assign(client, {
    url,
    close: async () => {
      await close();
      const dropper = openPostgres({ url: TEST_DATABASE_URL!, max: 1 });
      try {
        await dropper.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await dropper.close();
      }
    },
  });
}

export interface TestDatabaseFactory {
  readonly name: SqlDialect;
  open(): Promise<SqlClient>;
}

/**
 * Every relational provider that can run here: PGlite always, PostgreSQL 15 when
 * TEST_DATABASE_URL is set. Contract suites loop over this list unchanged.
 */
export function sqlProviders(): TestDatabaseFactory[] {
  const factories: TestDatabaseFactory[] = [{ name: "pglite", open: freshPglite }];
  if (TEST_DATABASE_URL) factories.push({ name: "postgres", open: () => freshPostgres() });
  return factories;
}
