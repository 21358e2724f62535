/**
 * One process per PGlite data directory: a live holder keeps every other opener out (another
 * process, or a second open in the same one), a dead holder's lock is taken over, and the lock
 * is released when its holder lets go.
 */
import assert from "node:assert/strict";
import { DataDirInUseError, lockDataDir, lockPathFor } from "../../../local/db/data-dir-lock.ts";

const LOCK_MODULE = new URL("../../../local/db/data-dir-lock.ts", import.meta.url).href;

/** Tries to take the lock from a separate Deno process; returns what it printed. */
async function lockFromAnotherProcess(dataDir: string): Promise<string> {
  const code = `
    import { lockDataDir } from ${JSON.stringify(LOCK_MODULE)};
    try {
      const lock = await lockDataDir(${JSON.stringify(dataDir)}, "other process");
      await lock.release();
      console.log("acquired");
    } catch (error) {
      console.log(error.name + ": " + error.message);
    }`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(output.stdout).trim() +
    new TextDecoder().decode(output.stderr).trim();
}

Deno.test("a live holder keeps other processes and second opens out; release lets them in", async () => {
  const root = await Deno.makeTempDir();
  const dataDir = `${root}/pglite`;
  try {
    const lock = await lockDataDir(dataDir, "first holder");
    const holder = JSON.parse(await Deno.readTextFile(lockPathFor(dataDir)));
    assert.equal(holder.pid, Deno.pid);
    assert.equal(holder.owner, "first holder");

    const other = await lockFromAnotherProcess(dataDir);
    assert.match(other, /^DataDirInUseError: .*in use by another process \(pid \d+: first holder/);
    await assert.rejects(() => lockDataDir(dataDir, "second open"), DataDirInUseError);

    await lock.release();
    await lock.release(); // idempotent
    assert.equal(await lockFromAnotherProcess(dataDir), "acquired");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a lock left by a process that is gone is taken over", async () => {
  const root = await Deno.makeTempDir();
  const dataDir = `${root}/pglite`;
  try {
    // A real pid that no longer exists: a child process that has exited.
    const child = new Deno.Command("true").spawn();
    await child.status;
    await Deno.writeTextFile(
      lockPathFor(dataDir),
      JSON.stringify({ pid: child.pid, owner: "killed dev server", since: "earlier" }),
    );
    const lock = await lockDataDir(dataDir, "new holder");
    assert.equal(JSON.parse(await Deno.readTextFile(lock.path)).owner, "new holder");
    await lock.release();
    await assert.rejects(() => Deno.stat(lock.path), Deno.errors.NotFound);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("release never removes a lock another process holds now", async () => {
  const root = await Deno.makeTempDir();
  const dataDir = `${root}/pglite`;
  try {
    const lock = await lockDataDir(dataDir, "first");
    // Someone replaced it (e.g. took over after a wrong staleness guess): not ours to remove.
    await Deno.writeTextFile(
      lock.path,
      JSON.stringify({ pid: Deno.pid + 1_000_000, owner: "someone else", since: "now" }),
    );
    await lock.release();
    assert.equal(JSON.parse(await Deno.readTextFile(lock.path)).owner, "someone else");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
