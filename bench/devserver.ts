/**
 * Dev server cold start: from spawning `deno run -A scripts/dev.ts` to the first 200 from a
 * function URL (target ≤ 3 s), in the situations a developer meets:
 * - a new data directory on a machine that has started the stack before (snapshot cache warm);
 * - restarting on an existing data directory;
 * - the very first start on a machine (no snapshot yet: PGlite initdb + writing the snapshot).
 * Every new data directory is seeded with the default 1,000 legacy users.
 *
 * The probe is GET /functions/v1/<name>/health for each function; while no function is built
 * (they answer 501) it falls back to GET /auth/v1/health, i.e. the same fully started server.
 */
import { fileURLToPath } from "node:url";
import { KNOWN_FUNCTIONS } from "../local/standin/functions-gateway.ts";

const TARGET_MS = 3000;
const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The local anon key is deterministic (fixed secret and issue date), as on `supabase start`. */
async function anonKey(): Promise<string> {
  const { createStandinKeys } = await import("../local/standin/keys.ts");
  return (await createStandinKeys()).anonKey;
}

async function probe(base: string, key: string): Promise<string | null> {
  for (const name of KNOWN_FUNCTIONS) {
    const response = await fetch(`${base}/functions/v1/${name}/health`, {
      headers: { Authorization: `Bearer ${key}` },
    }).catch(() => null);
    if (!response) return null; // not listening yet
    await response.body?.cancel();
    if (response.status === 200) return `GET /functions/v1/${name}/health`;
  }
  const auth = await fetch(`${base}/auth/v1/health`, { headers: { apikey: key } }).catch(() =>
    null
  );
  await auth?.body?.cancel();
  return auth?.status === 200 ? "GET /auth/v1/health (no function built yet)" : null;
}

interface Measurement {
  readonly ms: number;
  readonly via: string;
}

async function coldStart(args: string[], key: string): Promise<Measurement> {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/dev.ts", "--port", String(port), "--no-cron", ...args],
    cwd: REPO_ROOT,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    while (true) {
      const via = await probe(base, key);
      if (via) return { ms: performance.now() - started, via };
      if (performance.now() - started > 60_000) {
        throw new Error("the dev server did not answer within 60 s");
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    child.kill("SIGTERM");
    const { stderr } = await child.output().catch(() => ({ stderr: new Uint8Array() }));
    const errors = new TextDecoder().decode(stderr).trim();
    if (errors) console.error(errors);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function run(): Promise<void> {
  const key = await anonKey();
  const root = await Deno.makeTempDir({ prefix: "bench-devserver-" });
  const rows: Array<{ label: string; ms: number; runs: number; via: string }> = [];
  try {
    // Cold machine first: an empty snapshot cache of our own.
    const coldCache = `${root}/cold-cache`;
    const cold = await coldStart(["--data-dir", `${root}/cold`, "--cache-dir", coldCache], key);
    rows.push({
      label: "first start on a machine (initdb + snapshot)",
      ms: cold.ms,
      runs: 1,
      via: cold.via,
    });

    const fresh: Measurement[] = [];
    for (let i = 0; i < 3; i++) {
      fresh.push(
        await coldStart(["--data-dir", `${root}/fresh-${i}`, "--cache-dir", coldCache], key),
      );
    }
    rows.push({
      label: "new data dir (snapshot cached)",
      ms: median(fresh.map((m) => m.ms)),
      runs: 3,
      via: fresh[0]!.via,
    });

    const existing: Measurement[] = [];
    for (let i = 0; i < 3; i++) {
      existing.push(
        await coldStart(["--data-dir", `${root}/fresh-0`, "--cache-dir", coldCache], key),
      );
    }
    rows.push({
      label: "existing data dir (restart)",
      ms: median(existing.map((m) => m.ms)),
      runs: 3,
      via: existing[0]!.via,
    });

    const memory = await coldStart(["--in-memory", "--cache-dir", coldCache], key);
    rows.push({ label: "in memory (snapshot cached)", ms: memory.ms, runs: 1, via: memory.via });
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }

  console.log(`\ndev server cold start → first 200 (target ≤ ${TARGET_MS} ms; 1,000 seeded users)`);
  console.log(
    `  ${"scenario".padEnd(46)} ${"median ms".padStart(9)}  ${"÷ target".padStart(8)}  runs  probe`,
  );
  for (const row of rows) {
    const ratio = row.ms / TARGET_MS;
    console.log(
      `  ${row.label.padEnd(46)} ${row.ms.toFixed(0).padStart(9)}  ${
        ratio.toFixed(2).padStart(8)
      }  ${String(row.runs).padStart(4)}  ${row.via}${ratio <= 1 ? "" : "  (over target)"}`,
    );
  }
}

if (import.meta.main) await run();
