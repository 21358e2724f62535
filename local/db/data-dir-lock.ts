/**
 * One process per PGlite data directory. PGlite is a single-process database: a second dev server,
 * CLI or test opening the same directory would write the same files and corrupt the cluster. The
 * lock is a file beside the directory (`<dataDir>.lock`, created exclusively) naming its owner; a
 * lock whose process is gone (killed, crashed) is stale and taken over.
 */
import { dirname } from "node:path";
import process from "node:process";

export class DataDirInUseError extends Error {
  constructor(readonly dataDir: string, readonly holder: LockHolder) {
    super(
      `${dataDir} is in use by another process (pid ${holder.pid}: ${holder.owner}, since ` +
        `${holder.since}). Stop it first, or use another data directory or an in-memory database.`,
    );
    this.name = "DataDirInUseError";
  }
}

export interface LockHolder {
  readonly pid: number;
  readonly owner: string;
  readonly since: string;
}

export interface DataDirLock {
  readonly path: string;
  /** Removes the lock if this process still holds it; idempotent. */
  release(): Promise<void>;
}

export function lockPathFor(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, "")}.lock`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as { code?: string }).code === "EPERM";
  }
}

async function readHolder(path: string): Promise<LockHolder | null> {
  try {
    const holder = JSON.parse(await Deno.readTextFile(path)) as Partial<LockHolder>;
    return typeof holder.pid === "number" && Number.isInteger(holder.pid)
      ? { pid: holder.pid, owner: String(holder.owner ?? "unknown"), since: String(holder.since) }
      : null;
  } catch {
    return null;
  }
}

/** Takes the lock of `dataDir` for this process, or throws DataDirInUseError. */
export async function lockDataDir(dataDir: string, owner: string): Promise<DataDirLock> {
  const path = lockPathFor(dataDir);
  await Deno.mkdir(dirname(path), { recursive: true });
  const mine: LockHolder = { pid: Deno.pid, owner, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await Deno.writeTextFile(path, JSON.stringify(mine), { createNew: true });
      let released = false;
      return {
        path,
        async release() {
          if (released) return;
          released = true;
          const holder = await readHolder(path);
          if (holder?.pid === Deno.pid) await Deno.remove(path).catch(() => {});
        },
      };
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    const holder = await readHolder(path);
    // A lock being written right now has no content yet: treat it as held.
    if (holder === null) {
      const age = Date.now() - (await Deno.stat(path).then((s) => s.mtime?.getTime() ?? 0));
      if (age < 5_000) {
        throw new DataDirInUseError(dataDir, { pid: 0, owner: "unknown", since: "just now" });
      }
    } else if (holder.pid === Deno.pid || isAlive(holder.pid)) {
      throw new DataDirInUseError(dataDir, holder);
    }
    // Stale (its process is gone) or unreadable for a while: take it over.
    await Deno.remove(path).catch(() => {});
  }
  throw new DataDirInUseError(dataDir, { pid: 0, owner: "unknown", since: "unknown" });
}

/** "deno task dev"-like description of this process, for a lock's owner. */
export function processDescription(): string {
  const script = Deno.mainModule.split("/").pop() ?? "deno";
  return [script, ...Deno.args].join(" ").slice(0, 200);
}

/**
 * Opens something that lives in `dataDir` under the directory's lock, and releases the lock when
 * it is closed (or when opening fails).
 */
export async function openLocked<T extends { close(): Promise<void> }>(
  dataDir: string,
  owner: string,
  open: () => Promise<T>,
): Promise<T> {
  const lock = await lockDataDir(dataDir, owner);
  let opened: T;
  try {
    opened = await open();
  } catch (error) {
    await lock.release();
    throw error;
  }
  const close = opened.close.bind(opened);
  // The lock lives exactly as long as the database is open.
  opened.close = async () => {
    try {
      await close();
    } finally {
      await lock.release();
    }
  };
  return opened;
}
