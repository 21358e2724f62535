/**
 * Stops a CLI whose launcher is gone. `node_modules/.bin/deno task <name>` starts a chain of
 * launchers — npm's deno/bin.cjs (Node, spawnSync), `deno task`, and, inside the task, bin.cjs
 * again (run by Deno) — none of which forwards a signal to its child. `kill <launcher pid>`,
 * `timeout` or a supervisor then ends the launcher and leaves the worker running, orphaned. This
 * watch finds those launcher processes above this one (Linux: /proc) and calls `onGone` as soon
 * as one of them has exited, so the worker stops as if it had been sent SIGTERM.
 *
 * Only launcher layers are watched, never the user's shell: a worker started with `nohup` or
 * `setsid` from a shell keeps running when that shell exits.
 */
const POLL_MS = 300;

interface Watched {
  readonly pid: number;
  /** /proc/<pid>/stat field 22: tells a live process from a reused pid. */
  readonly startTime: string;
}

function readStat(pid: number): { ppid: number; startTime: string } | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // "pid (comm) state ppid …": comm may hold spaces and parentheses; fields follow the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(fields[1]), startTime: fields[19]! };
  } catch {
    return null;
  }
}

function isLauncher(pid: number): boolean {
  let argv: string[];
  try {
    argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter(Boolean);
  } catch {
    return false;
  }
  // npm's launcher, started by its bin link (node_modules/.bin/deno) or its file (deno/bin.cjs),
  // by Node or by Deno; ours (scripts/deno.mjs); or a `deno task` runner.
  return argv.slice(1).some((arg) =>
    /(\/\.bin\/deno|deno\/bin\.cjs|scripts\/deno\.mjs)$/.test(arg)
  ) ||
    (/(^|\/)deno$/.test(argv[0] ?? "") && argv[1] === "task");
}

/** The launcher layers directly above this process, nearest first. */
export function launcherChain(): Watched[] {
  if (Deno.build.os !== "linux") return [];
  const chain: Watched[] = [];
  let pid = Deno.ppid;
  while (pid > 1 && isLauncher(pid)) {
    const stat = readStat(pid);
    if (!stat) break;
    chain.push({ pid, startTime: stat.startTime });
    pid = stat.ppid;
  }
  return chain;
}

/** Calls `onGone` once when a launcher above this process exits. Returns a stop function. */
export function watchLauncher(onGone: () => void): () => void {
  const chain = launcherChain();
  if (chain.length === 0) return () => {};
  const timer = setInterval(() => {
    const gone = chain.some(({ pid, startTime }) => readStat(pid)?.startTime !== startTime);
    if (!gone) return;
    clearInterval(timer);
    onGone();
  }, POLL_MS);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
