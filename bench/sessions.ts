/**
 * Session benchmark (issue 13), side by side in one run on one dev server (real HTTP through the
 * functions gateway, the real login function, the Auth stand-in, Better Auth, one PGlite),
 * MIGRATION_MODE=dual_write with USE_BETTER_AUTH=true:
 *
 * - POST /login/token?grant_type=password vs grant_type=refresh_token, on the Supabase path
 *   (rollout 0 %: GoTrue answers; the refresh is passed through after the system-of-record
 *   check) and on the Better Auth path (rollout 100 %: the rotating hashed refresh token). The
 *   ratio is refresh p50 / password-login p50 of the same path: a refresh verifies no password.
 * - Token verification per coordinator request: verifyAccessToken (what every coordinator
 *   request runs before its work) on a Better Auth token and on a Supabase token, next to the p50
 *   of a whole GET /coordinator/agents request, as a share of it.
 *
 * Samples are interleaved (both paths in every round, alternating which goes first). The rollout
 * is switched between samples through runtime_flags (FLAGS_CACHE_TTL_MS=0), outside the timing.
 * Iterations: SESSIONS_BENCH_N (default 40).
 *
 * Run: deno run -A bench/sessions.ts   (or import { run } and await run())
 */
import { verifyAccessToken } from "../shared/auth/access-tokens.ts";
import { AccessTokenVerifierToken } from "../shared/auth/tokens.ts";
import { RuntimeFlagsStore } from "../shared/flags/store.ts";
import { startDevServer } from "../local/standin/dev-server.ts";

const N = Number(Deno.env.get("SESSIONS_BENCH_N") ?? 40);
const WARMUP = 5;
const PASSWORD = "Correct-Horse-42";

type Path = "supabase" | "better_auth";

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

let ipCounter = 0;
/** A distinct client address per request: GoTrue's per-IP /token limit must not be measured. */
function nextIp(): string {
  ipCounter += 1;
  return `198.51.${(ipCounter >> 8) % 250}.${(ipCounter % 254) + 1}`;
}

export async function run(): Promise<void> {
  const server = await startDevServer({
    port: 0,
    dataDir: null,
    seedUsers: 0,
    cron: false,
    log: () => {},
    profile: "hosted",
    auth: { autoconfirm: true },
    env: {
      LOG_LEVEL: "error",
      FLAGS_CACHE_TTL_MS: "0",
      MIGRATION_MODE: "dual_write",
      USE_BETTER_AUTH: "true",
    },
  });
  try {
    const flags = new RuntimeFlagsStore(server.sql);
    const rollout = async (percentage: number) => {
      for (const name of ["signup", "login"]) {
        const stored = await flags.upsert(name, { rolloutPercentage: percentage }, {
          updatedBy: "sessions bench",
        });
        if (!stored.ok) throw new Error("rollout not stored");
      }
    };
    const key = server.keys.anonKey;
    const base = `${server.url}/functions/v1`;
    const post = async (path: string, body: unknown) => {
      const started = performance.now();
      const response = await fetch(`${base}${path}`, {
        method: "POST",
        headers: {
          apikey: key,
          Authorization: `Bearer ${key}`,
          "Content-Type": "application/json",
          "X-Supabase-Api-Version": "2024-01-01",
          "X-Forwarded-For": nextIp(),
        },
        body: JSON.stringify(body),
      });
      const json = await response.json();
      const elapsed = performance.now() - started;
      if (response.status !== 200) {
        throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
      }
      return { elapsed, json };
    };

    // One user in both systems (a dual-write signup on the abstracted path).
    await rollout(100);
    const email = `sessions-bench-${crypto.randomUUID().slice(0, 8)}@example.com`;
    await post("/signup", { email, password: PASSWORD });
    await fetch(`${base}/migrate-batch/admin/sync/apply`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${server.keys.serviceRoleKey}`,
        "Content-Type": "application/json",
      },
      body: "{}",
    }).then((r) => r.body?.cancel());

    const samples: Record<Path, { login: number[]; refresh: number[] }> = {
      supabase: { login: [], refresh: [] },
      better_auth: { login: [], refresh: [] },
    };
    const refreshTokens: Partial<Record<Path, string>> = {};
    const accessTokens: Partial<Record<Path, string>> = {};
    for (let i = 0; i < WARMUP + N; i++) {
      const order: Path[] = i % 2 === 0 ? ["supabase", "better_auth"] : ["better_auth", "supabase"];
      for (const path of order) {
        await rollout(path === "supabase" ? 0 : 100);
        const login = await post("/login/token?grant_type=password", { email, password: PASSWORD });
        const refresh = await post("/login/token?grant_type=refresh_token", {
          refresh_token: refreshTokens[path] ?? login.json.refresh_token,
        });
        refreshTokens[path] = refresh.json.refresh_token;
        accessTokens[path] = refresh.json.access_token;
        if (i >= WARMUP) {
          samples[path].login.push(login.elapsed);
          samples[path].refresh.push(refresh.elapsed);
        }
      }
    }

    // Token verification vs a whole coordinator request.
    const verifier = await server.container.get(AccessTokenVerifierToken);
    const verifySamples: Record<Path, number[]> = { supabase: [], better_auth: [] };
    for (let i = 0; i < 200 + 20; i++) {
      for (const path of ["supabase", "better_auth"] as Path[]) {
        const started = performance.now();
        await verifyAccessToken(accessTokens[path]!, verifier);
        if (i >= 20) verifySamples[path].push(performance.now() - started);
      }
    }
    const coordinator: number[] = [];
    for (let i = 0; i < N + WARMUP; i++) {
      const started = performance.now();
      const response = await fetch(`${base}/coordinator/agents`, {
        headers: { apikey: key, Authorization: `Bearer ${accessTokens.better_auth}` },
      });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`coordinator: ${response.status}`);
      if (i >= WARMUP) coordinator.push(performance.now() - started);
    }

    const ms = (value: number) => `${value.toFixed(2)} ms`;
    console.log(
      `\nsessions: POST /login/token, refresh vs password login, ${N} interleaved rounds per ` +
        `path (dev server, PGlite, dual_write)`,
    );
    console.log(
      `  ${"path".padEnd(12)} ${"login p50".padStart(11)} ${"refresh p50".padStart(12)} ` +
        `${"refresh/login".padStart(13)} ${"refresh p95".padStart(12)}`,
    );
    for (const path of ["supabase", "better_auth"] as Path[]) {
      const login = percentile(samples[path].login, 0.5);
      const refresh = percentile(samples[path].refresh, 0.5);
      console.log(
        `  ${path.padEnd(12)} ${ms(login).padStart(11)} ${ms(refresh).padStart(12)} ${
          `${(refresh / login).toFixed(2)}x`.padStart(13)
        } ${ms(percentile(samples[path].refresh, 0.95)).padStart(12)}`,
      );
    }
    const baRefresh = percentile(samples.better_auth.refresh, 0.5);
    const sbRefresh = percentile(samples.supabase.refresh, 0.5);
    console.log(`  Better Auth refresh / Supabase refresh: ${(baRefresh / sbRefresh).toFixed(2)}x`);
    const request = percentile(coordinator, 0.5);
    console.log(
      `\n  token verification per coordinator request (GET /coordinator/agents p50 ` +
        `${ms(request)}):`,
    );
    for (const path of ["better_auth", "supabase"] as Path[]) {
      const verify = percentile(verifySamples[path], 0.5);
      console.log(
        `  verifyAccessToken, ${path.padEnd(11)} token: p50 ${(verify * 1000).toFixed(0)} µs = ${
          (verify / request * 100).toFixed(2)
        } % of the request`,
      );
    }
  } finally {
    await server.close();
  }
}

if (import.meta.main) await run();
