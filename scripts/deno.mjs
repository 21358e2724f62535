#!/usr/bin/env node
// Runs the Deno binary from npm (node_modules/@deno/<platform>/deno) with signals forwarded, so
// `npm run dev|migrate|ops`, `timeout` or a supervisor that signals the launcher stops the whole
// process tree. npm's own launcher (node_modules/.bin/deno -> deno/bin.cjs) runs the binary with
// spawnSync and forwards nothing: `kill <its pid>` leaves the worker running, orphaned.
//
//   node scripts/deno.mjs task dev --port 0     # deno.json's "dev" task, extra args appended
//   node scripts/deno.mjs fmt --check            # any other deno command as is
//
// - `task NAME` whose deno.json command is one plain `deno …` line (all of ours) runs that line
//   directly. Through `deno task` it would not stop: inside a task, `deno` resolves to
//   node_modules/.bin/deno first (npm's launcher, run by Deno with spawnSync), and that middle
//   process drops the signal `deno task` forwards. Anything else goes to `deno task` unchanged.
// - SIGINT, SIGTERM, SIGHUP and SIGQUIT reach the child. When the child ends from a signal, this
//   process ends from the same signal, so a supervisor sees what happened; otherwise it exits with
//   the child's code.
// - npm runs scripts through `sh -c` and forwards SIGINT/SIGTERM to that shell only. dash neither
//   execs the last command nor passes a signal on (on SIGINT it waits for its child), so
//   package.json starts this launcher with `exec`: npm's signal then lands here. Should a shell
//   still sit in between and die, the launcher watches its parent: reparented (the parent is gone)
//   means "stop", as if SIGTERM had arrived.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const FORWARDED = process.platform === "win32"
  ? ["SIGINT", "SIGBREAK"]
  : ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];
const PARENT_POLL_MS = 250;

// The npm package's own resolver: the right @deno/<target> (glibc/musl, arch) for this machine.
const require = createRequire(import.meta.url);
const executable = require("deno/install_api.cjs").runInstall();

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
// A task line we can run without a shell: `deno` and words without quotes or shell operators.
const PLAIN_DENO_LINE = /^deno(\s+[^\s"'`$&|;<>()\\*?]+)+$/;

/** [args for the deno binary, cwd]: a plain `deno …` task line runs directly (see above). */
function commandFor(args) {
  if (args[0] !== "task" || args.length < 2) return [args, process.cwd()];
  const tasks = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")).tasks ?? {};
  const line = tasks[args[1]];
  if (typeof line !== "string" || !PLAIN_DENO_LINE.test(line.trim())) return [args, process.cwd()];
  // deno task runs a task in the directory of deno.json.
  return [[...line.trim().split(/\s+/).slice(1), ...args.slice(2)], ROOT];
}

const [args, cwd] = commandFor(process.argv.slice(2));
const child = spawn(executable, args, { stdio: "inherit", cwd });
const running = () => child.exitCode === null && child.signalCode === null;

const forward = (signal) => {
  if (running()) child.kill(signal);
};
for (const signal of FORWARDED) process.on(signal, () => forward(signal));

const parent = process.ppid;
const watch = process.platform === "win32" ? null : setInterval(() => {
  if (process.ppid !== parent) {
    clearInterval(watch);
    forward("SIGTERM");
  }
}, PARENT_POLL_MS);
watch?.unref();

child.on("error", (error) => {
  console.error(`scripts/deno.mjs: cannot run ${executable}: ${error.message}`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  if (watch) clearInterval(watch);
  if (signal) {
    // End the same way, so `timeout`, npm or a supervisor sees the signal (128 + n).
    for (const name of FORWARDED) process.removeAllListeners(name);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
