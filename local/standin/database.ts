/**
 * The dev server's embedded PostgreSQL (PGlite) with Supabase's auth schema and every migration.
 *
 * PGlite's initdb costs 2–4 s, more than the whole start-up budget. So the first start on a
 * machine snapshots the freshly migrated cluster into a cache tarball (keyed by the PGlite
 * version, auth-schema.sql and every migration file) and every later start on a NEW data
 * directory (or in memory) loads that snapshot instead (~0.5–1 s). When migrations were added
 * since, the previous snapshot is loaded, only the new files are applied, and the result becomes
 * the new snapshot; initdb happens once per machine and PGlite version. An existing data
 * directory is simply reopened and brought up to date. Nothing here is used outside the local
 * stand-in.
 */
import { openLocked, processDescription } from "../db/data-dir-lock.ts";
import { fileURLToPath } from "node:url";
import type { PGlite } from "@electric-sql/pglite";
import {
  loadMigrationFiles,
  type MigrationFile,
  runMigrations,
  sha256Hex,
} from "../db/migration-runner.ts";
import { openPglite } from "../db/pglite-client.ts";
import type { SqlClient } from "../../shared/db/sql-client.ts";

export const AUTH_SCHEMA_URL = new URL("./auth-schema.sql", import.meta.url);
const PGLITE_PACKAGE_URL = new URL(
  "../../node_modules/@electric-sql/pglite/package.json",
  import.meta.url,
);
/** Repo-relative defaults, resolved from this module so any cwd works. */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL("../../.data/pglite", import.meta.url));
export const DEFAULT_CACHE_DIR = fileURLToPath(new URL("../../.data/cache", import.meta.url));

/** Stand-in bookkeeping (never part of migrations/, which real projects receive). */
const STANDIN_SCHEMA = `
CREATE SCHEMA IF NOT EXISTS standin;
CREATE TABLE IF NOT EXISTS standin.applied_scripts (
  name       text PRIMARY KEY,
  checksum   text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS standin.seed_runs (
  name      text PRIMARY KEY,
  seeded_at timestamptz NOT NULL DEFAULT now(),
  summary   jsonb NOT NULL DEFAULT '{}'::jsonb
);`;

export interface StandinDatabaseOptions {
  /** A directory to persist to; null for an in-memory database. */
  readonly dataDir: string | null;
  /** Where base snapshots are cached; null disables the cache (always initdb). */
  readonly cacheDir?: string | null;
  /** Default: the project's migrations/ directory. */
  readonly migrationsDir?: URL | string;
  /** Who holds the data directory's lock (shown to a second process); default: this script. */
  readonly lockOwner?: string;
}

export type StandinDatabase = SqlClient & { pglite: PGlite };

export interface OpenedStandinDatabase {
  readonly db: StandinDatabase;
  /** How the cluster came to be: reopened, loaded from the snapshot cache, or initdb'd. */
  readonly origin: "existing" | "snapshot" | "initdb";
  readonly migrationsApplied: readonly string[];
}

async function pgliteVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await Deno.readTextFile(PGLITE_PACKAGE_URL)) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function isEmptyDir(path: string): Promise<boolean> {
  for await (const _ of Deno.readDir(path)) return false;
  return true;
}

/** Applies auth-schema.sql when it changed since the last start (it is idempotent anyway). */
async function applyAuthSchema(db: SqlClient, authSql: string, checksum: string): Promise<void> {
  await db.exec(STANDIN_SCHEMA);
  const { rows } = await db.query<{ checksum: string }>(
    "SELECT checksum FROM standin.applied_scripts WHERE name = 'auth-schema.sql'",
  );
  if (rows[0]?.checksum === checksum) return;
  await db.transaction(async (tx) => {
    await tx.exec(authSql);
    await tx.query(
      `INSERT INTO standin.applied_scripts (name, checksum) VALUES ('auth-schema.sql', $1)
       ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()`,
      [checksum],
    );
  });
}

/** Supabase creates its auth schema before any project migration runs; so do we. */
async function bringUpToDate(
  db: SqlClient,
  authSql: string,
  authChecksum: string,
  files: readonly MigrationFile[],
): Promise<string[]> {
  await applyAuthSchema(db, authSql, authChecksum);
  return (await runMigrations(db, files)).applied;
}

async function writeSnapshot(
  db: StandinDatabase,
  cacheDir: string,
  fileName: string,
): Promise<void> {
  await Deno.mkdir(cacheDir, { recursive: true });
  // Flush everything to the data files before tarring them.
  await db.exec("CHECKPOINT");
  const snapshot = await db.pglite.dumpDataDir("gzip");
  const target = `${cacheDir}/${fileName}`;
  const temporary = `${target}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  await Deno.writeFile(temporary, new Uint8Array(await snapshot.arrayBuffer()));
  // Atomic publish: concurrent first starts each write their own file and rename over.
  await Deno.rename(temporary, target);
  for await (const entry of Deno.readDir(cacheDir)) {
    if (
      entry.name.startsWith(SNAPSHOT_PREFIX) && entry.name !== fileName &&
      !entry.name.endsWith(".tmp")
    ) {
      await Deno.remove(`${cacheDir}/${entry.name}`).catch(() => {});
    }
  }
}

const SNAPSHOT_PREFIX = "pglite-base-";

/** The newest snapshot of this PGlite version taken for an older set of migrations, if any. */
async function olderSnapshot(cacheDir: string, versionTag: string): Promise<string | null> {
  let best: { path: string; mtime: number } | null = null;
  try {
    for await (const entry of Deno.readDir(cacheDir)) {
      if (
        !entry.name.startsWith(`${SNAPSHOT_PREFIX}${versionTag}-`) ||
        !entry.name.endsWith(".tar.gz")
      ) continue;
      const path = `${cacheDir}/${entry.name}`;
      const mtime = (await Deno.stat(path)).mtime?.getTime() ?? 0;
      if (!best || mtime > best.mtime) best = { path, mtime };
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  return best?.path ?? null;
}

/** Octal numeric field of a tar header (NUL/space terminated). */
function tarNumber(header: Uint8Array, offset: number, length: number): number {
  const text = new TextDecoder().decode(header.subarray(offset, offset + length)).replace(
    /[\0 ]+$/,
    "",
  ).trim();
  return text === "" ? 0 : parseInt(text, 8);
}

function tarString(header: Uint8Array, offset: number, length: number): string {
  const field = header.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return new TextDecoder().decode(end === -1 ? field : field.subarray(0, end));
}

/**
 * Unpacks a PGlite snapshot (a gzipped ustar of PGDATA, entry names relative to it) straight into
 * a data directory — what PGlite's loadDataDir does, but with native file writes instead of
 * going through its WASM file system, which roughly halves a new data directory's start.
 */
async function extractSnapshot(path: string, dataDir: string): Promise<void> {
  const compressed = await Deno.open(path);
  const tar = new Uint8Array(
    await new Response(compressed.readable.pipeThrough(new DecompressionStream("gzip")))
      .arrayBuffer(),
  );
  const root = dataDir.replace(/\/+$/, "");
  for (let offset = 0; offset + 512 <= tar.length;) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break; // end-of-archive block
    const prefix = tarString(header, 257, 6) === "ustar" ? tarString(header, 345, 155) : "";
    const name = (prefix ? `${prefix}/` : "") + tarString(header, 0, 100);
    const size = tarNumber(header, 124, 12);
    const type = String.fromCharCode(header[156]!);
    const relative = name.replace(/^\/+/, "");
    if (relative.split("/").includes("..")) throw new Error(`unsafe path in snapshot: ${name}`);
    const target = `${root}/${relative}`;
    if (type === "5") {
      await Deno.mkdir(target, { recursive: true });
    } else if (type === "0" || type === "\0") {
      await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
      await Deno.writeFile(target, tar.subarray(offset + 512, offset + 512 + size));
      const mtime = new Date(tarNumber(header, 136, 12) * 1000);
      await Deno.utime(target, mtime, mtime);
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
}

async function openFromSnapshot(path: string, dataDir: string | null): Promise<StandinDatabase> {
  if (dataDir === null) {
    return await openPglite({ loadDataDir: new Blob([await Deno.readFile(path)]) });
  }
  await extractSnapshot(path, dataDir);
  return await openPglite({ dataDir });
}

/**
 * Opens (creating, or loading from the snapshot cache, when new) the stand-in database. A data
 * directory is locked for this process until the database is closed (see data-dir-lock.ts).
 */
export async function openStandinDatabase(
  options: StandinDatabaseOptions,
): Promise<OpenedStandinDatabase> {
  const dataDir = options.dataDir;
  if (dataDir === null) return await openUnlocked(options);
  let opened: OpenedStandinDatabase | undefined;
  const db = await openLocked(dataDir, options.lockOwner ?? processDescription(), async () => {
    opened = await openUnlocked(options);
    return opened.db;
  });
  return { ...opened!, db };
}

async function openUnlocked(options: StandinDatabaseOptions): Promise<OpenedStandinDatabase> {
  const [files, authSql, version] = await Promise.all([
    loadMigrationFiles(options.migrationsDir),
    Deno.readTextFile(AUTH_SCHEMA_URL),
    pgliteVersion(),
  ]);
  const authChecksum = await sha256Hex(authSql);
  const dataDir = options.dataDir;

  if (dataDir !== null && await exists(`${dataDir}/PG_VERSION`)) {
    const db = await openPglite({ dataDir });
    try {
      return {
        db,
        origin: "existing",
        migrationsApplied: await bringUpToDate(db, authSql, authChecksum, files),
      };
    } catch (error) {
      await db.close();
      throw error;
    }
  }
  if (dataDir !== null && await exists(dataDir) && !await isEmptyDir(dataDir)) {
    throw new Error(
      `${dataDir} exists but holds no PostgreSQL cluster (an interrupted first start?); ` +
        "remove it or start with --reset",
    );
  }

  const versionTag = `v${version.replace(/[^0-9A-Za-z.]/g, "_")}`;
  const key = (await sha256Hex(
    [version, authChecksum, ...files.map((file) => `${file.name}\n${file.sql}`)].join("\n--\n"),
  )).slice(0, 16);
  const snapshotName = `${SNAPSHOT_PREFIX}${versionTag}-${key}.tar.gz`;
  const cacheDir = options.cacheDir === undefined ? DEFAULT_CACHE_DIR : options.cacheDir;
  if (dataDir !== null) await Deno.mkdir(dataDir, { recursive: true });

  if (cacheDir !== null && await exists(`${cacheDir}/${snapshotName}`)) {
    const db = await openFromSnapshot(`${cacheDir}/${snapshotName}`, dataDir);
    try {
      // The key covers every file, so this only verifies; it applies nothing.
      return {
        db,
        origin: "snapshot",
        migrationsApplied: await bringUpToDate(db, authSql, authChecksum, files),
      };
    } catch (error) {
      await db.close();
      throw error;
    }
  }

  // Migrations were added since the last snapshot: start from that one and apply only the new
  // files (far cheaper than initdb), then snapshot the result for the next new database.
  const older = cacheDir === null ? null : await olderSnapshot(cacheDir, versionTag);
  if (older !== null && cacheDir !== null) {
    const db = await openFromSnapshot(older, dataDir);
    try {
      const applied = await bringUpToDate(db, authSql, authChecksum, files);
      await writeSnapshot(db, cacheDir, snapshotName);
      return { db, origin: "snapshot", migrationsApplied: applied };
    } catch {
      // E.g. an applied migration was edited: that snapshot cannot be reused, start clean.
      await db.close();
      if (dataDir !== null) {
        await Deno.remove(dataDir, { recursive: true });
        await Deno.mkdir(dataDir, { recursive: true });
      }
    }
  }

  const db = await openPglite({ dataDir: dataDir ?? undefined });
  try {
    const applied = await bringUpToDate(db, authSql, authChecksum, files);
    if (cacheDir !== null) await writeSnapshot(db, cacheDir, snapshotName);
    return { db, origin: "initdb", migrationsApplied: applied };
  } catch (error) {
    await db.close();
    throw error;
  }
}
