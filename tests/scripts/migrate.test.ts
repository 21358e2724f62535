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
