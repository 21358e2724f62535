/**
 * `deno task ops …` as a separate process with a clean environment (only what Deno needs from
 * ours, plus `env`), for the CLI tests.
 */
const SCRIPT = new URL("../../scripts/ops.ts", import.meta.url).pathname;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function ops(env: Record<string, string>, ...args: string[]): Promise<Run> {
  const passThrough = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"];
  const base = Object.fromEntries(
    passThrough.flatMap((name) => {
      const value = Deno.env.get(name);
      return value === undefined ? [] : [[name, value]];
    }),
  );
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, ...args],
    env: { ...base, USER: "tester", LOG_LEVEL: "silent", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}
