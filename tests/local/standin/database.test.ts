import assert from "node:assert/strict";
import { DataDirInUseError } from "../../../local/db/data-dir-lock.ts";
import { DEFAULT_MIGRATIONS_DIR, loadMigrationFiles } from "../../../local/db/migration-runner.ts";
import { openStandinDatabase } from "../../../local/standin/database.ts";

const snapshots = (dir: string) =>
  [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".tar.gz"));

Deno.test("snapshots: initdb once, then new databases load the cached migrated cluster", async () => {
  const root = await Deno.makeTempDir({ prefix: "standin-db-" });
  const cacheDir = `${root}/cache`;
  const migrationsDir = `${root}/migrations`;
  await Deno.mkdir(migrationsDir);
  for (const file of await loadMigrationFiles(DEFAULT_MIGRATIONS_DIR)) {
    await Deno.writeTextFile(`${migrationsDir}/${file.name}`, file.sql);
  }
  const names = (await loadMigrationFiles(migrationsDir)).map((f) => f.name);
  const open = (dataDir: string | null) =>
    openStandinDatabase({ dataDir, cacheDir, migrationsDir });
  try {
    const first = await open(`${root}/one`);
    assert.equal(first.origin, "initdb");
    assert.deepEqual(first.migrationsApplied, names);
    await first.db.query("CREATE TABLE public.kept (x int)");
    await first.db.close();
    assert.equal(snapshots(cacheDir).length, 1);
    assert.match(snapshots(cacheDir)[0]!, /^pglite-base-v[0-9A-Za-z._]+-[0-9a-f]{16}\.tar\.gz$/);

    const memory = await open(null);
    try {
      assert.equal(memory.origin, "snapshot");
      assert.deepEqual(memory.migrationsApplied, []);
      const { rows } = await memory.db.query<
        { users: string | null; ledger: number; kept: string | null }
      >(
        `SELECT to_regclass('auth.users')::text AS users, to_regclass('public.kept')::text AS kept,
                (SELECT count(*) FROM edge_migrator_schema_migrations) AS ledger`,
      );
      assert.equal(rows[0]!.users, "auth.users");
      assert.equal(rows[0]!.ledger, names.length);
      assert.equal(
        rows[0]!.kept,
        null,
        "the snapshot is the migrated base, not a copy of a data dir",
      );
    } finally {
      await memory.db.close();
    }

    // A migration added later: the old snapshot plus that one file, re-snapshotted.
    await Deno.writeTextFile(
      `${migrationsDir}/29991231000000_added_later.sql`,
      "CREATE TABLE public.later (y int);",
    );
    const before = snapshots(cacheDir)[0];
    const fresh = await open(`${root}/two`);
    try {
      assert.equal(fresh.origin, "snapshot");
      assert.deepEqual(fresh.migrationsApplied, ["29991231000000_added_later.sql"]);
      await fresh.db.query("INSERT INTO public.later VALUES (7)");
    } finally {
      await fresh.db.close();
    }
    const freshAgain = await open(`${root}/two`);
    try {
      assert.equal(freshAgain.origin, "existing", "a data dir unpacked from a snapshot reopens");
      const { rows } = await freshAgain.db.query<{ y: number }>("SELECT y FROM public.later");
      assert.deepEqual(rows, [{ y: 7 }]);
    } finally {
      await freshAgain.db.close();
    }
    assert.equal(snapshots(cacheDir).length, 1);
    assert.notEqual(snapshots(cacheDir)[0], before, "the new snapshot replaced the old one");

    const reopened = await open(`${root}/one`);
    try {
      assert.equal(reopened.origin, "existing");
      assert.deepEqual(reopened.migrationsApplied, ["29991231000000_added_later.sql"]);
      const { rows } = await reopened.db.query<{ kept: string | null }>(
        "SELECT to_regclass('public.kept')::text AS kept",
      );
      assert.equal(rows[0]!.kept, "kept", "an existing data directory keeps its data");
    } finally {
      await reopened.db.close();
    }

    await Deno.mkdir(`${root}/junk`);
    await Deno.writeTextFile(`${root}/junk/file.txt`, "not a cluster");
    await assert.rejects(open(`${root}/junk`), /holds no PostgreSQL cluster/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the stand-in database holds its directory's lock while open", async () => {
  const root = await Deno.makeTempDir();
  const dataDir = `${root}/pglite`;
  try {
    const opened = await openStandinDatabase({ dataDir, cacheDir: null, lockOwner: "test" });
    try {
      await assert.rejects(
        () => openStandinDatabase({ dataDir, cacheDir: null }),
        (error: unknown) =>
          error instanceof DataDirInUseError && /pid \d+: test/.test(error.message),
      );
      // Still usable: the refused second open touched nothing.
      const { rows } = await opened.db.query<{ n: number }>("SELECT 1 AS n");
      assert.equal(rows[0]!.n, 1);
    } finally {
      await opened.db.close();
    }
    const again = await openStandinDatabase({ dataDir, cacheDir: null });
    assert.equal(again.origin, "existing");
    await again.db.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
