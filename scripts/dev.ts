/**
 * `deno task dev`: the whole local stack (functions, Auth, REST, PGlite, local cron) in one
 * process. See shared/standin/dev-server.ts.
 *
 *   deno task dev                          # http://127.0.0.1:54321, data in .data/pglite
 *   deno task dev --in-memory --seed-users 50 --port 0
 *   deno task dev --reset                  # wipe .data/pglite first (re-seeds)
 *   deno task dev --cron-interval 30000 | --cron-interval 30s | --no-cron
 */
import { resolve } from "node:path";
import { parseStandinProfile, type StandinProfile } from "../local/standin/profile.ts";
import { parseArgs } from "node:util";
import {
  DEFAULT_CRON_INTERVAL_MS,
  DEFAULT_PORT,
  DEFAULT_SEED_USERS,
  startDevServer,
} from "../local/standin/dev-server.ts";
import { lockDataDir } from "../local/db/data-dir-lock.ts";
import { watchLauncher } from "../local/process/launcher-watch.ts";
import { DEFAULT_CACHE_DIR, DEFAULT_DATA_DIR } from "../local/standin/database.ts";

const USAGE = `Usage: deno task dev [options]

  --port <n>             listen port (default ${DEFAULT_PORT}; 0 = any free port)
  --host <addr>          listen address (default 127.0.0.1)
  --data-dir <dir>       PGlite data directory (default ${DEFAULT_DATA_DIR})
  --in-memory            throwaway database, nothing written to disk
  --cache-dir <dir>      where the migrated base snapshot is cached (default ${DEFAULT_CACHE_DIR})
  --reset                delete the data directory first (fresh database, seeded again)
  --seed-users <n>       legacy Supabase users seeded on first start (default ${DEFAULT_SEED_USERS})
  --no-seed              seed nothing
  --cron-interval <ms>   local cron period for migrate-batch in milliseconds, or with a unit:
                         10000, 10s, 1m, 500ms (default ${DEFAULT_CRON_INTERVAL_MS})
  --no-cron              do not call migrate-batch on a schedule
  --log-requests         print one line per request
  --profile <name>       stand-in defaults: lenient (default; autoconfirm, no rate limits) or
                         hosted (supabase.com: "Confirm email" on, per-IP limits, max rows 1000)
  --help                 this text`;

/** A bare number of milliseconds (as README documents `--cron-interval MS`), or "10s", "1m", "500ms". */
export function parseInterval(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new Error(`--cron-interval: expected e.g. 10s, 1m or 500ms, got "${text}"`);
  const value = Number(match[1]);
  const unit = match[2] ?? "ms";
  const ms = unit === "ms" ? value : unit === "m" ? value * 60_000 : value * 1000;
  if (ms < 100) throw new Error("--cron-interval: must be at least 100ms");
  return ms;
}

function parseCount(name: string, text: string | undefined, fallback: number, min = 0): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw new Error(`--${name}: expected a whole number ≥ ${min}, got "${text}"`);
  }
  return Number(text);
}

async function main(): Promise<number> {
  let flags;
  try {
    flags = parseArgs({
      args: Deno.args,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        "data-dir": { type: "string" },
        "in-memory": { type: "boolean" },
        "cache-dir": { type: "string" },
        reset: { type: "boolean" },
        "seed-users": { type: "string" },
        "no-seed": { type: "boolean" },
        "cron-interval": { type: "string" },
        "no-cron": { type: "boolean" },
        "log-requests": { type: "boolean" },
        profile: { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
    }).values;
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : error}\n\n${USAGE}`);
    return 2;
  }
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }

  let port: number, seedUsers: number, cronIntervalMs: number | null, profile: StandinProfile;
  try {
    profile = parseStandinProfile(flags.profile ?? "lenient");
    port = parseCount("port", flags.port, DEFAULT_PORT);
    seedUsers = parseCount("seed-users", flags["seed-users"], DEFAULT_SEED_USERS);
    cronIntervalMs = flags["no-cron"]
      ? null
      : flags["cron-interval"]
      ? parseInterval(flags["cron-interval"])
      : DEFAULT_CRON_INTERVAL_MS;
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    return 2;
  }
  const dataDir = flags["in-memory"] ? null : resolve(flags["data-dir"] ?? DEFAULT_DATA_DIR);
  if (flags.reset && dataDir !== null) {
    // Never wipe a directory another dev server or CLI has open: take its lock for the removal.
    let lock;
    try {
      lock = await lockDataDir(dataDir, "deno task dev --reset");
    } catch (error) {
      console.error(`--reset: ${error instanceof Error ? error.message : error}`);
      return 1;
    }
    try {
      await Deno.remove(dataDir, { recursive: true }).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    } finally {
      await lock.release();
    }
  }

  let server;
  try {
    server = await startDevServer({
      port,
      hostname: flags.host,
      dataDir,
      cacheDir: flags["cache-dir"] === undefined ? undefined : resolve(flags["cache-dir"]),
      seedUsers,
      seeders: flags["no-seed"] ? [] : undefined,
      cron: cronIntervalMs === null ? false : { intervalMs: cronIntervalMs },
      // Read once, never written: the stand-in derives its own config from this snapshot.
      env: Deno.env.toObject(),
      logRequests: flags["log-requests"] ?? false,
      profile,
    });
  } catch (error) {
    // ConfigError lists every bad variable; a busy port names the port. No stack needed.
    console.error(`dev server failed to start: ${error instanceof Error ? error.message : error}`);
    return 1;
  }

  const stop = () => {
    console.log("\nstopping...");
    server.close().then(() => Deno.exit(0), (error) => {
      console.error(error);
      Deno.exit(1);
    });
  };
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  // Started by a launcher that forwards no signal (node_modules/.bin/deno task dev): its exit.
  watchLauncher(stop);
  return -1; // keep serving until a signal arrives
}

if (import.meta.main) {
  const code = await main();
  if (code >= 0) Deno.exit(code);
}
