import assert from "node:assert/strict";
import { freshPostgres, TEST_DATABASE_URL } from "../helpers/db.ts";
import { type CliIo, main } from "../../scripts/migrate.ts";
import { openStandinDatabase } from "../../local/standin/database.ts";
import {
  AUTH_SCHEMA_SQL,
  countRows,
  invalidCount,
  seedAuthUsers,
} from "../shared/batch/helpers.ts";

function capture(env: Record<string, string | undefined>, isTerminal = false) {
  let out = "";
  let err = "";
  const io: CliIo = {
    env,
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    isTerminal,
  };
  return { io, out: () => out, err: () => err };
}

Deno.test("migrate CLI: usage errors exit 2 before touching a database", async () => {
  for (
    const args of [[], ["explode"], ["verify"], ["rollback", "m1"], ["run", "--batch-size", "0"]]
  ) {
    const cli = capture({ DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" });
    assert.equal(await main(args, cli.io), 2, args.join(" "));
    assert.match(cli.err(), /usage|needs|--yes|positive/);
  }
});

Deno.test({
  name: "migrate CLI against DATABASE_URL (PostgreSQL): dry-run, run, status, verify, rollback",
  ignore: !TEST_DATABASE_URL,
  async fn() {
    const db = await freshPostgres();
    try {
      await db.exec(AUTH_SCHEMA_SQL);
      await seedAuthUsers(db, 300, { invalid: true });
      const env = { DATABASE_URL: db.url };

      const dry = capture(env);
      assert.equal(await main(["dry-run", "--batch-size", "50"], dry.io), 0);
      assert.match(dry.out(), /dry run\): completed/);
      assert.match(dry.out(), new RegExp(`validation failures: ${invalidCount(300)}`));
      // 300 seeded users, 6 phone-only among them: every phone number carries over.
      assert.match(dry.out(), /field coverage[\s\S]*\n {4}phone +6 → +6\n/);
      assert.equal((await countRows(db)).users, 0);

      const run = capture(env);
      assert.equal(await main(["run", "--batch-size", "50", "--max-batches", "2"], run.io), 1);
      assert.match(run.out(), /stopped: max_batches/);
      // Plain progress lines when stdout is not a terminal.
      assert.match(
        run.out(),
        /\] +\d+\.\d% {2}100\/300 {2}[\d,]+ users\/s {2}ETA [\d:?]+ {2}errors \d+\n/,
      );
      assert.ok(!run.out().includes("\r"));
      const id = /migration (batch_\S+):/.exec(run.out())![1]!;

      const resumed = capture(env, true);
      assert.equal(await main(["resume", id], resumed.io), 0);
      assert.ok(resumed.out().includes("\r\x1b[2K["), "a redrawn bar on a terminal");
      assert.match(resumed.out(), /completed/);
      assert.equal((await countRows(db)).users, 300 - invalidCount(300));

      const status = capture(env);
      assert.equal(await main(["status", "--json"], status.io), 0);
      const report = JSON.parse(status.out());
      assert.equal(
        report.migrations.find((m: { id: string }) => m.id === id).progress_percent,
        100,
      );

      const verify = capture(env);
      assert.equal(await main(["verify", id], verify.io), 0);
      assert.match(verify.out(), /EQUAL/);

      const refused = capture(env);
      assert.equal(await main(["rollback", id], refused.io), 2);
      const rollback = capture(env);
      assert.equal(await main(["rollback", id, "--yes"], rollback.io), 0);
      assert.equal((await countRows(db)).users, 0);

      const missing = capture(env);
      assert.equal(await main(["verify", "nope"], missing.io), 1);
      assert.match(missing.err(), /not_found/);
    } finally {
      await db.close();
    }
  },
});

Deno.test("migrate CLI on the local stack's embedded PGlite, as a process", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "migrate-cli-" });
  try {
    const { db } = await openStandinDatabase({ dataDir });
    try {
      await seedAuthUsers(db, 120);
    } finally {
      await db.close();
    }
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", "scripts/migrate.ts", "run", "--batch-size", "40"],
      cwd: new URL("../../", import.meta.url).pathname,
      env: { PGLITE_DATA_DIR: dataDir, DATABASE_URL: "", SUPABASE_DB_URL: "" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.match(stdout, /embedded PGlite/);
    assert.match(stdout, /120\/120 processed, 120 migrated/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("migrate CLI with DRY_RUN=true: run and resume only plan, rollback is refused", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "migrate-cli-dry-" });
  const env = { PGLITE_DATA_DIR: dataDir, DRY_RUN: "true" };
  try {
    const { db } = await openStandinDatabase({ dataDir });
    let before: Record<string, number>;
    try {
      await seedAuthUsers(db, 60, { invalid: true });
      before = await countRows(db);
    } finally {
      await db.close();
    }

    const run = capture(env);
    assert.equal(await main(["run", "--batch-size", "25"], run.io), 0, run.err());
    assert.match(run.out(), /DRY_RUN is set: run plans only/);
    assert.match(run.out(), /\(dry run\): completed/);
    assert.match(run.out(), new RegExp(`validation failures: ${invalidCount(60)}`));

    const rollback = capture(env);
    assert.equal(await main(["rollback", "any-id", "--yes"], rollback.io), 2);
    assert.match(rollback.err(), /DRY_RUN is set/);

    const bad = capture({ ...env, DRY_RUN: "perhaps" });
    assert.equal(await main(["run"], bad.io), 2);
    assert.match(bad.err(), /DRY_RUN/);

    const { db: reopened } = await openStandinDatabase({ dataDir });
    try {
      // No user reached Better Auth or the trackers; the only migration is a dry one, and the
      // validation failures it recorded are its own report.
      const after = await countRows(reopened);
      assert.deepEqual({ ...after, errors: 0 }, { ...before!, errors: 0 });
      const { rows } = await reopened.query<{ id: string; dry_run: boolean }>(
        "SELECT id, dry_run FROM migration_states WHERE kind = 'users'",
      );
      assert.deepEqual(rows.map((row) => row.dry_run), [true]);
      const { rows: foreign } = await reopened.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM migration_errors WHERE migration_id <> $1",
        [rows[0]!.id],
      );
      assert.equal(foreign[0]!.n, 0);
    } finally {
      await reopened.close();
    }
    // A real migration started without DRY_RUN is not resumed for real under it.
    const real = capture({ PGLITE_DATA_DIR: dataDir });
    assert.equal(await main(["run", "--max-batches", "1", "--batch-size", "10"], real.io), 1);
    const realId = /migration (batch_\S+):/.exec(real.out())![1]!;
    const resumed = capture(env);
    assert.equal(await main(["resume", realId], resumed.io), 1);
    assert.match(resumed.err(), /is a real run/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test({
  name:
    "migrate CLI: MIGRATION_BATCH_SIZE, whole-run totals of this worker, a wait line for a dead worker's lease",
  ignore: !TEST_DATABASE_URL,
  async fn() {
    const db = await freshPostgres();
    try {
      await db.exec(AUTH_SCHEMA_SQL);
      await seedAuthUsers(db, 90);
      const env = { DATABASE_URL: db.url, MIGRATION_BATCH_SIZE: "30" };

      const first = capture(env);
      assert.equal(await main(["run", "--max-batches", "1"], first.io), 1);
      assert.match(first.out(), /this worker: 30 processed, 30 migrated/);
      const id = /migration (batch_\S+):/.exec(first.out())![1]!;
      const { rows: planned } = await db.query<{ n: number }>(
        `SELECT max(planned_count) AS n FROM batch_leases WHERE migration_id = $1`,
        [id],
      );
      assert.equal(Number(planned[0]!.n), 30, "leases of MIGRATION_BATCH_SIZE users");

      // A worker that died holding every remaining range: its leases expire in 2 s.
      const { rowCount } = await db.query(
        `UPDATE batch_leases SET status = 'leased', lease_token = gen_random_uuid(),
                worker_id = 'dead-worker', leased_until = now() + interval '2 seconds'
          WHERE migration_id = $1 AND status <> 'done'`,
        [id],
      );
      assert.ok(rowCount > 0, "ranges left to hold");
      const resumed = capture(env);
      assert.equal(await main(["resume", id], resumed.io), 0);
      assert.match(
        resumed.err(),
        /waiting for lease \d+ \(held by dead-worker until \d\d:\d\d:\d\d UTC, \d+ s; re-taken when it expires\)/,
      );
      assert.equal(
        resumed.err().split("\n").filter((line) => line.startsWith("waiting")).length,
        1,
        "one line per lease waited for, not one per poll",
      );
      // Every engine call of this process counted, not just the last one.
      assert.match(resumed.out(), /this worker: 60 processed, 60 migrated/);
      assert.match(resumed.out(), /overall: +90\/90 processed/);
    } finally {
      await db.close();
    }
  },
});
