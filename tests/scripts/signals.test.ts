/**
 * Signals reach the process: `npm run dev`, `npm run migrate` and `npm run ops`, started the way a
 * user, `timeout` or a supervisor starts them, stop with their whole process tree when the launcher
 * (npm's pid) gets SIGTERM or SIGINT; so do `node_modules/.bin/deno task dev|migrate|ops` when
 * npm's own launcher (which forwards nothing) is signalled: the worker sees its launcher exit. The dev server and the migrate CLI also close PGlite, so the
 * data directory's lock is released (a second process can open it at once).
 *
 * npm's own install check is skipped (SKIP_ENSURE_DEPS=1): tests share one node_modules. A test
 * that fails kills what it started (SIGKILL, by pid), so nothing outlives it.
 */
import assert from "node:assert/strict";
import { openStandinDatabase } from "../../local/standin/database.ts";
import { lockPathFor } from "../../local/db/data-dir-lock.ts";
import { seedAuthUsers } from "../shared/batch/helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/** How long a stopped tree may take to disappear (PGlite's close included). */
const STOP_BOUND_MS = 30_000;

interface Launched {
  readonly child: Deno.ChildProcess;
  output(): string;
}

type Launcher = "npm" | "node_modules/.bin/deno";

/** `npm run <task> -- <args>`, or npm's own launcher: `node_modules/.bin/deno task <task> <args>`. */
function launch(
  launcher: Launcher,
  task: string,
  taskArgs: string[],
  env: Record<string, string> = {},
): Launched {
  return launcher === "npm"
    ? launchCommand("npm", ["run", task, "--", ...taskArgs], env)
    : launchCommand(`${ROOT}node_modules/.bin/deno`, ["task", task, ...taskArgs], env);
}

function launchCommand(command: string, args: string[], env: Record<string, string>): Launched {
  const child = new Deno.Command(command, {
    args,
    cwd: ROOT,
    env: { SKIP_ENSURE_DEPS: "1", npm_config_update_notifier: "false", NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  for (const stream of [child.stdout, child.stderr]) {
    stream.pipeTo(
      new WritableStream({ write: (chunk) => void (text += decoder.decode(chunk)) }),
    ).catch(() => {});
  }
  return { child, output: () => text };
}

async function until(what: string, probe: () => boolean | Promise<boolean>, launched?: Launched) {
  const deadline = Date.now() + 120_000;
  while (!await probe()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}\n${launched?.output() ?? ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every live descendant of `pid` (from /proc via ps). */
async function descendants(pid: number): Promise<number[]> {
  const out = await new Deno.Command("ps", { args: ["-e", "-o", "pid=,ppid="] }).output();
  const children = new Map<number, number[]>();
  for (const line of new TextDecoder().decode(out.stdout).trim().split("\n")) {
    const [p, pp] = line.trim().split(/\s+/).map(Number) as [number, number];
    children.set(pp, [...(children.get(pp) ?? []), p]);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const next of children.get(queue.shift()!) ?? []) {
      found.push(next);
      queue.push(next);
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** Signals the launcher and waits (bounded) until it and every process it started are gone. */
async function stopTree(launched: Launched, signal: Deno.Signal): Promise<Deno.CommandStatus> {
  const tree = [launched.child.pid, ...await descendants(launched.child.pid)];
  launched.child.kill(signal);
  const deadline = Date.now() + STOP_BOUND_MS;
  let status: Deno.CommandStatus | null = null;
  launched.child.status.then((value) => status = value);
  while (status === null || tree.some(alive)) {
    if (Date.now() > deadline) {
      for (const pid of tree.filter(alive)) Deno.kill(pid, "SIGKILL");
      throw new Error(`still running ${STOP_BOUND_MS} ms after ${signal}: ${tree.filter(alive)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // npm, the launcher (exec'd by npm's shell) and deno: the tree really was a tree.
  assert.ok(tree.length >= 3, `npm, the launcher and deno: ${tree.join(" ")}`);
  return status!;
}

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

const CASES: ReadonlyArray<[Launcher, Deno.Signal]> = [
  ["npm", "SIGTERM"],
  ["npm", "SIGINT"],
  ["node_modules/.bin/deno", "SIGTERM"],
];

for (const [launcher, signal] of CASES) {
  Deno.test(`${launcher} dev stops with its whole tree on ${signal} and releases the data directory`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "signals-dev-" });
    const dataDir = `${dir}/db`;
    const launched = launch(launcher, "dev", [
      "--port",
      "0",
      "--data-dir",
      dataDir,
      "--seed-users",
      "0",
      "--no-cron",
    ]);
    try {
      await until("the banner", () => launched.output().includes("stack is running"), launched);
      assert.ok(await exists(lockPathFor(dataDir)), "the dev server holds the lock");
      await stopTree(launched, signal);
      assert.match(launched.output(), /stopping\.\.\./, "the dev server ran its own shutdown");
      assert.ok(!await exists(lockPathFor(dataDir)), "lock released");
      // PGlite was closed properly: the directory opens again.
      const reopened = await openStandinDatabase({ dataDir, cacheDir: null });
      await reopened.db.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

for (const launcher of ["npm", "node_modules/.bin/deno"] as const) {
  Deno.test(`${launcher} migrate stops after its current batch on SIGTERM and releases the data directory`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "signals-migrate-" });
    const dataDir = `${dir}/db`;
    try {
      const { db } = await openStandinDatabase({ dataDir, cacheDir: null });
      try {
        await seedAuthUsers(db, 3000);
      } finally {
        await db.close();
      }
      const launched = launch(launcher, "migrate", ["run", "--batch-size", "1"], {
        PGLITE_DATA_DIR: dataDir,
        DATABASE_URL: "",
        SUPABASE_DB_URL: "",
      });
      await until("batches being taken", () => /users\/s/.test(launched.output()), launched);
      const status = await stopTree(launched, "SIGTERM");
      assert.notEqual(status.code, 0, "not finished");
      assert.match(
        launched.output(),
        /stopped by a signal; continue with: deno task migrate resume/,
      );
      assert.ok(!await exists(lockPathFor(dataDir)), "lock released");
      const { db: reopened } = await openStandinDatabase({ dataDir, cacheDir: null });
      try {
        const { rows } = await reopened.query<{ processed_count: number; total_count: number }>(
          "SELECT processed_count, total_count FROM migration_states WHERE kind = 'users'",
        );
        assert.equal(rows.length, 1);
        assert.ok(rows[0]!.processed_count > 0 && rows[0]!.processed_count < rows[0]!.total_count);
      } finally {
        await reopened.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

for (const launcher of ["npm", "node_modules/.bin/deno"] as const) {
  Deno.test(`${launcher} ops stuck on a database that never answers stops with its tree on SIGTERM`, async () => {
    // Accepts connections and never says a word, like a hung pooler.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const conn of listener) held.push(conn);
    })().catch(() => {});
    try {
      const launched = launch(launcher, "ops", ["status"], {
        DATABASE_URL: `postgres://nobody@127.0.0.1:${listener.addr.port}/none`,
      });
      await until("ops connecting", () => held.length > 0, launched);
      await stopTree(launched, "SIGTERM");
    } finally {
      listener.close();
      for (const conn of held) conn.close();
      await accepting;
    }
  });
}
