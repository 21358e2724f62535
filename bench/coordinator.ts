/**
 * Coordinator benchmark (issue 6): abstracted vs original p50 latency, side by side in one run.
 *
 * Both implementations are served over real HTTP by the same Hono routes (createCoordinatorApp)
 * with the same token check, on one embedded PostgreSQL (PGlite with the stand-in's auth schema
 * and every migration), so the figures differ only by the data path:
 * - abstracted: CoordinationService -> repositories -> SqlDatabaseService -> one rpc
 *   (coordinator_assign_task: lock, rank, write in the database);
 * - original:   OriginalCoordinator -> supabase-js -> REST stand-in (HTTP) -> read task, read
 *   candidates, rank client-side, rpc coordinator_commit_assignment.
 * Requests are interleaved one by one (alternating which path goes first), each POST on a fresh
 * pending task, so machine noise hits both alike. The agent pool never runs out of capacity.
 *
 * Run: deno run -A bench/coordinator.ts   (or import { run } and await run())
 */
import { sign } from "hono/jwt";
import { AgentRepository } from "../shared/coordinator/agent-repository.ts";
import { CoordinationService } from "../shared/coordinator/coordination-service.ts";
import type { CoordinatorOperations } from "../shared/coordinator/operations.ts";
import { OriginalCoordinator } from "../shared/coordinator/original.ts";
import { TaskRepository } from "../shared/coordinator/task-repository.ts";
import { createCoordinatorApp, type VerifyToken } from "../shared/coordinator/routes.ts";
import { DEMO_AGENTS, seedCoordinatorDemo } from "../local/standin/seed-coordinator.ts";
import { STRATEGIES } from "../shared/coordinator/types.ts";
import { createSqlDatabaseService } from "../shared/db/sql-database-service.ts";
import { openStandinDatabase } from "../local/standin/database.ts";
import { createStandinKeys, verifyJwt } from "../local/standin/keys.ts";
import { createRestApi } from "../local/standin/rest/rest-api.ts";
import { createClient } from "@supabase/supabase-js";
import {
  DEFAULT_BETTER_AUTH_ISSUER,
  issueSessionTokens,
  verifyAccessToken,
} from "../shared/auth/access-tokens.ts";
import { generateEs256PrivateJwk, importEs256SigningJwk } from "../shared/auth/jwt.ts";

const WARMUP = 20;
const SAMPLES = 200;

type Path = "abstracted" | "original";

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function serve(handler: (req: Request) => Response | Promise<Response>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

async function timed(url: string, init: RequestInit): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, init);
  await response.arrayBuffer();
  const elapsed = performance.now() - started;
  if (response.status >= 300) throw new Error(`${init.method ?? "GET"} ${url}: ${response.status}`);
  return elapsed;
}

export async function run(): Promise<void> {
  const { db: sql } = await openStandinDatabase({ dataDir: null });
  const servers: Array<{ close(): Promise<void> }> = [];
  try {
    const tasks = WARMUP * 2 + SAMPLES * 2;
    await seedCoordinatorDemo(sql, { taskCount: tasks });
    // Room for every assignment of the run: capacity must never be what is measured.
    await sql.exec("UPDATE agents SET max_load = 10000");

    const keys = await createStandinKeys();
    const rest = serve(createRestApi({ sql, jwtSecret: keys.jwtSecret, maxRows: 1000 }).fetch);
    servers.push(rest);
    const supabase = createClient(rest.url, keys.serviceRoleKey, {
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    });
    const db = createSqlDatabaseService(sql);
    const operations: Record<Path, CoordinatorOperations> = {
      abstracted: new CoordinationService(new AgentRepository(db), new TaskRepository(db)),
      original: new OriginalCoordinator(supabase),
    };
    const verifyToken: VerifyToken = async (token) => {
      const claims = await verifyJwt(token, keys.jwtSecret);
      return typeof claims?.sub === "string" ? { userId: claims.sub } : null;
    };
    const apps = Object.fromEntries(
      (["abstracted", "original"] as const).map((path) => {
        const server = serve(
          createCoordinatorApp({ operations: operations[path], verifyToken }).fetch,
        );
        servers.push(server);
        return [path, server.url];
      }),
    ) as Record<Path, string>;
    const token = await sign(
      {
        sub: crypto.randomUUID(),
        role: "authenticated",
        exp: Math.floor(Date.now() / 1000) + 3600,
      },
      keys.jwtSecret,
      "HS256",
    );
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };

    const { rows } = await sql.query<{ id: string }>(
      "SELECT id FROM tasks WHERE status = 'pending' ORDER BY id",
    );
    const pending = rows.map((row) => row.id);
    const samples: Record<string, Record<Path, number[]>> = {
      "POST /coordinator": { abstracted: [], original: [] },
      "GET /coordinator/agents?capability=nlp": { abstracted: [], original: [] },
    };
    for (let i = 0; i < WARMUP + SAMPLES; i++) {
      const order: Path[] = i % 2 === 0 ? ["abstracted", "original"] : ["original", "abstracted"];
      for (const path of order) {
        const body = JSON.stringify({
          task_id: pending.pop(),
          strategy: STRATEGIES[i % STRATEGIES.length],
          max_agents: 1 + (i % 2),
        });
        const post = await timed(`${apps[path]}/coordinator`, { method: "POST", headers, body });
        const list = await timed(`${apps[path]}/coordinator/agents?capability=nlp`, { headers });
        if (i >= WARMUP) {
          samples["POST /coordinator"]![path].push(post);
          samples["GET /coordinator/agents?capability=nlp"]![path].push(list);
        }
      }
    }

    console.log(
      `\ncoordinator: abstracted (repositories, SQL provider) vs original (supabase-js via the ` +
        `REST stand-in)\n  ${SAMPLES} interleaved HTTP requests per path, PGlite, ` +
        `${DEMO_AGENTS.length} agents`,
    );
    console.log(
      `  ${"request".padEnd(40)} ${"abstracted p50".padStart(14)} ${"original p50".padStart(12)} ` +
        `${"ratio".padStart(6)} ${"abstr. p95".padStart(10)} ${"orig. p95".padStart(9)}`,
    );
    for (const [label, byPath] of Object.entries(samples)) {
      const a50 = percentile(byPath.abstracted, 0.5);
      const o50 = percentile(byPath.original, 0.5);
      console.log(
        `  ${label.padEnd(40)} ${`${a50.toFixed(2)} ms`.padStart(14)} ${
          `${o50.toFixed(2)} ms`.padStart(12)
        } ${`${(a50 / o50).toFixed(2)}x`.padStart(6)} ${
          `${percentile(byPath.abstracted, 0.95).toFixed(2)} ms`.padStart(10)
        } ${`${percentile(byPath.original, 0.95).toFixed(2)} ms`.padStart(9)}`,
      );
    }
    console.log("  ratio = abstracted p50 / original p50 (< 1: the abstracted path is faster)");
    const get50 = percentile(samples["GET /coordinator/agents?capability=nlp"]!.abstracted, 0.5);
    await tokenVerificationFigures(get50);
  } finally {
    for (const server of servers.reverse()) await server.close();
    await sql.close();
  }
}

/**
 * What verifying the bearer costs per coordinator request (verifyAccessToken, issue 13): our ES256
 * token by our public key vs an HS256 token by the legacy secret, interleaved, beside the
 * abstracted GET p50 of this run.
 */
async function tokenVerificationFigures(getP50Ms: number): Promise<void> {
  const key = await importEs256SigningJwk(await generateEs256PrivateJwk("bench"));
  const secret = "bench-hs256-secret-with-at-least-32-characters";
  const signing = { secret, issuer: DEFAULT_BETTER_AUTH_ISSUER, ttlSeconds: 3600 };
  const subject = {
    userId: crypto.randomUUID(),
    email: "bench@example.com",
    userMetadata: {},
    appMetadata: {},
    sessionId: crypto.randomUUID(),
    sessionToken: "x",
    authenticatedAt: new Date(),
  };
  const tokens = {
    ES256: (await issueSessionTokens({ ...signing, es256: key }, subject)).access_token,
    HS256: (await issueSessionTokens(signing, subject)).access_token,
  };
  const config = {
    betterAuth: { secret, issuer: DEFAULT_BETTER_AUTH_ISSUER, publicKeys: [key.publicJwk] },
    supabase: {},
  };
  const times: Record<keyof typeof tokens, number[]> = { ES256: [], HS256: [] };
  for (let i = 0; i < 200 + 2000; i++) {
    const order: Array<keyof typeof tokens> = i % 2 === 0 ? ["ES256", "HS256"] : ["HS256", "ES256"];
    for (const alg of order) {
      const started = performance.now();
      await verifyAccessToken(tokens[alg], config);
      if (i >= 200) times[alg].push(performance.now() - started);
    }
  }
  const es = percentile(times.ES256, 0.5);
  const hs = percentile(times.HS256, 0.5);
  console.log(
    `  token verification per request (2000 interleaved): ES256 p50 ${
      (es * 1000).toFixed(0)
    } µs, ` +
      `HS256 p50 ${(hs * 1000).toFixed(0)} µs (${(es / hs).toFixed(1)}×); ES256 = ` +
      `${((es / getP50Ms) * 100).toFixed(1)}% of the abstracted GET p50`,
  );
}

if (import.meta.main) await run();
