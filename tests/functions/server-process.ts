/**
 * Runs a function entrypoint as a real `deno run -A` process (plain Deno) on a free port
 * (PORT=0; the port is read from the "listening" log line) and stops it reliably.
 */
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Variables a child Deno needs from ours (cache locations); nothing app-related leaks in. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

export interface ServerProcess {
  readonly port: number;
  /** Every stdout and stderr line so far. */
  readonly output: string[];
  stop(): Promise<Deno.CommandStatus>;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function denoRun(script: string, env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${REPO_ROOT}deno.json`, script],
    cwd: REPO_ROOT,
    env: { ...baseEnv(), ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Runs a script to completion (with a deadline) and returns its exit code and output. */
export async function runToEnd(
  script: string,
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<RunResult> {
  const child = denoRun(script, env);
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    const { code, stdout, stderr } = await child.output();
    const decoder = new TextDecoder();
    return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
  } finally {
    clearTimeout(timer);
  }
}

/** Collects lines from a stream into `output`, calling `onLine` for each. */
export async function pump(
  stream: ReadableStream<Uint8Array>,
  output: string[],
  onLine: (line: string) => void,
): Promise<void> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      output.push(line);
      onLine(line);
    }
  }
  if (pending) {
    output.push(pending);
    onLine(pending);
  }
}

/** Starts `script` with PORT=0 and resolves once it logs that it is listening. */
export async function startServer(
  script: string,
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ServerProcess> {
  const child = denoRun(script, { ...env, PORT: "0" });
  const output: string[] = [];
  let onPort: (port: number) => void = () => {};
  const listening = new Promise<number>((resolve) => (onPort = resolve));
  const readPort = (line: string) => {
    if (!line.startsWith("{")) return;
    try {
      const record = JSON.parse(line) as { msg?: string; port?: number };
      if (record.msg === "listening" && typeof record.port === "number") onPort(record.port);
    } catch { /* not a log record */ }
  };
  const pumps = Promise.all([
    pump(child.stdout, output, readPort),
    pump(child.stderr, output, () => {}),
  ]);
  let stopped: Promise<Deno.CommandStatus> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already exited */ }
      const killer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* exited meanwhile */ }
      }, 10_000);
      try {
        const status = await child.status;
        await pumps;
        return status;
      } finally {
        clearTimeout(killer);
      }
    })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    listening.then((port) => ({ port })),
    child.status.then((status) => ({ exited: status.code })),
    new Promise<{ timedOut: true }>((resolve) => {
      timer = setTimeout(() => resolve({ timedOut: true }), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (!("port" in outcome)) {
    await stop();
    throw new Error(
      `${script} did not start (${JSON.stringify(outcome)}):\n${output.join("\n")}`,
    );
  }
  return { port: outcome.port, output, stop };
}
