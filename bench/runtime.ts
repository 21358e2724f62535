/**
 * The functions as hosted Supabase runs them (tests/functions/edge-runtime/: each unchanged
 * entrypoint under the Edge Runtime's user-worker surface, PostgreSQL 15 shared with the
 * Auth/REST stand-in, the env Supabase sets):
 *
 * - cold start: spawn → the worker's first 200 on GET /<name>/health, then the first request of
 *   a real route (which builds the function's lazy handler and opens the pool);
 * - CPU per request for every route under load (4 concurrent clients): the worker's process CPU
 *   time (user + system, Deno.cpuUsage) before and after N requests, divided by N. Background
 *   work after the response (metrics, shadow runs, re-hashes) is included: the worker is read
 *   after it settled. Hosted Edge Functions get ~2 s of CPU per request.
 * - migrate-batch per call: the set-based engine and the per-user original (the guide's
 *   listUsers loop), each call bounded by MIGRATION_BATCH_CPU_BUDGET_MS (default 1,500 ms).
 *
 * Needs TEST_DATABASE_URL. Run: deno task bench runtime
 */
import { RuntimeFlagsStore } from "../shared/flags/store.ts";
import { FUNCTION_NAMES } from "../shared/functions/names.ts";
import { seedAuthUsers } from "../tests/shared/batch/helpers.ts";
import {
  callFunction as send,
  type EdgeStack,
  type EdgeWorker,
  functionEnv,
  startEdgeStack,
  startEdgeWorker,
} from "../tests/functions/edge-runtime/harness.ts";

const PASSWORD = "Correct-Horse-42";
const CONCURRENCY = 4;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const ms = (value: number) => `${value.toFixed(value < 10 ? 1 : 0)} ms`;

async function cpuMs(worker: EdgeWorker): Promise<number> {
  const response = await fetch(`${new URL(worker.url).origin}/__edge_harness/cpu`);
  return ((await response.json()) as { cpu_ms: number }).cpu_ms;
}

/** Waits until the worker's CPU clock stops moving (background work after responses settled). */
async function settledCpu(worker: EdgeWorker): Promise<number> {
  let last = await cpuMs(worker);
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const now = await cpuMs(worker);
    if (now - last < 1) return now;
    last = now;
  }
  return last;
}

interface RouteFigure {
  readonly fn: string;
  readonly route: string;
  readonly n: number;
  readonly cpuPerRequestMs: number;
  readonly p50Ms: number;
}

async function underLoad(
  worker: EdgeWorker,
  route: string,
  n: number,
  request: (i: number) => Promise<{ status: number; body: unknown }>,
  expect: (status: number) => boolean = (status) => status < 400,
): Promise<RouteFigure> {
  for (let i = 0; i < 2; i++) await request(-1 - i); // warm the path (handler built, pool open)
  const before = await settledCpu(worker);
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) {
      const i = next++;
      const started = performance.now();
      const result = await request(i);
      latencies.push(performance.now() - started);
      if (!expect(result.status)) {
        throw new Error(`${worker.name} ${route}: ${result.status} ${JSON.stringify(result.body)}`);
      }
    }
  }));
  const after = await settledCpu(worker);
  return {
    fn: worker.name,
    route,
    n,
    cpuPerRequestMs: (after - before) / n,
    p50Ms: median(latencies),
  };
}

async function setRollout(stack: EdgeStack, fn: string, percentage: number): Promise<void> {
  const stored = await new RuntimeFlagsStore(stack.sql).upsert(fn, {
    rolloutPercentage: percentage,
  }, { updatedBy: "bench runtime" });
  if (!stored.ok) throw new Error(`rollout of ${fn} not stored`);
}

async function coldStarts(stack: EdgeStack, runs: number): Promise<void> {
  console.log(
    `cold start under the Edge Runtime harness (median of ${runs}; spawn → first 200):\n`,
  );
  console.log("| function | GET /health | + first real request |");
  console.log("| --- | --- | --- |");
  const env = functionEnv(stack, { MIGRATION_MODE: "dual_write", LOG_LEVEL: "warn" });
  const admin = { token: stack.keys.serviceRoleKey };
  for (const name of FUNCTION_NAMES) {
    const health: number[] = [];
    const firstReal: number[] = [];
    for (let run = 0; run < runs; run++) {
      const started = performance.now();
      const worker = await startEdgeWorker(name, env);
      try {
        const ok = await send(worker, "/health");
        if (ok.status !== 200) throw new Error(`${name} /health ${ok.status}`);
        health.push(performance.now() - started);
        const realStarted = performance.now();
        const real = name === "signup"
          ? await send(worker, "", {
            body: {
              email: `cold-${crypto.randomUUID().slice(0, 8)}@example.com`,
              password: PASSWORD,
            },
          })
          : name === "login"
          ? await send(worker, "", { body: { email: "nobody@example.com", password: PASSWORD } })
          : name === "coordinator"
          ? await send(worker, "/agents") // 401 without a token: still the whole handler build
          : await send(worker, "/status", admin);
        if (real.status >= 500) {
          throw new Error(`${name}: ${real.status} ${JSON.stringify(real.body)}`);
        }
        firstReal.push(performance.now() - realStarted);
      } finally {
        await worker.drain();
      }
    }
    console.log(`| ${name} | ${ms(median(health))} | ${ms(median(firstReal))} |`);
  }
}

async function cpuPerRoute(stack: EdgeStack): Promise<void> {
  const env = functionEnv(stack, {
    MIGRATION_MODE: "dual_write",
    FLAGS_CACHE_TTL_MS: "0",
    LOG_LEVEL: "warn",
    // CPU is what is measured here; on this shared machine a dual-write signup under load can
    // take longer than the default 5 s per attempt, which would turn it into a 503.
    MIGRATION_FALLBACK_TIMEOUT: "60000",
  });
  const workers = new Map<string, EdgeWorker>();
  for (const name of FUNCTION_NAMES) workers.set(name, await startEdgeWorker(name, env));
  const w = (name: string) => workers.get(name)!;
  const figures: RouteFigure[] = [];
  const unique = (tag: string, i: number) =>
    `${tag}-${i}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const service = stack.keys.serviceRoleKey;
  try {
    // signup and login: abstracted (dual-write) and original (Supabase Auth only).
    const loginEmails: string[] = [];
    for (const [rollout, label] of [[100, "dual-write (abstracted)"], [0, "original"]] as const) {
      await setRollout(stack, "signup", rollout);
      await setRollout(stack, "login", rollout);
      figures.push(
        await underLoad(w("signup"), `POST /signup, ${label}`, 16, async (i) => {
          const email = unique(`s${rollout}`, i);
          if (rollout === 100 && i >= 0) loginEmails.push(email);
          return await send(w("signup"), "", { body: { email, password: PASSWORD } });
        }),
      );
      figures.push(
        await underLoad(
          w("login"),
          `POST /login, ${label}`,
          16,
          async (i) =>
            await send(w("login"), "", {
              body: { email: loginEmails[Math.max(0, i) % loginEmails.length], password: PASSWORD },
            }),
        ),
      );
    }
    // Better Auth as the primary (USE_BETTER_AUTH): the password hash is verified in the function.
    await setRollout(stack, "login", 100);
    const betterAuthLogin = await startEdgeWorker("login", { ...env, USE_BETTER_AUTH: "true" });
    try {
      figures.push(
        await underLoad(
          betterAuthLogin,
          "POST /login, dual-write, Better Auth primary",
          16,
          async (i) =>
            await send(betterAuthLogin, "", {
              body: { email: loginEmails[Math.max(0, i) % loginEmails.length], password: PASSWORD },
            }),
        ),
      );
    } finally {
      await betterAuthLogin.drain();
    }
    figures.push(
      await underLoad(
        w("signup"),
        "POST /signup/reconcile",
        8,
        async () => await send(w("signup"), "/reconcile", { body: {}, token: service }),
      ),
    );
    const login = await send(w("login"), "", {
      body: { email: loginEmails[0], password: PASSWORD },
    });
    const token = (login.body.session as { access_token: string }).access_token;

    // coordinator, both paths.
    for (const [rollout, label] of [[100, "abstracted"], [0, "original"]] as const) {
      await setRollout(stack, "coordinator", rollout);
      const created: string[] = [];
      figures.push(
        await underLoad(w("coordinator"), `POST /coordinator/agents, ${label}`, 16, async (i) => {
          const result = await send(w("coordinator"), "/agents", {
            token,
            body: {
              name: `Agent ${rollout}-${i}`,
              type: "llm",
              capabilities: ["nlp"],
              trust_score: 3,
              max_load: 100,
            },
          });
          const id = (result.body.data as { id?: string } | undefined)?.id;
          if (id) created.push(id);
          return result;
        }),
      );
      figures.push(
        await underLoad(
          w("coordinator"),
          `GET /coordinator/agents, ${label}`,
          32,
          async () => await send(w("coordinator"), "/agents", { token }),
        ),
      );
      figures.push(
        await underLoad(
          w("coordinator"),
          `GET /coordinator/agents/:id, ${label}`,
          32,
          async (i) =>
            await send(w("coordinator"), `/agents/${created[Math.max(0, i) % created.length]}`, {
              token,
            }),
        ),
      );
      figures.push(
        await underLoad(
          w("coordinator"),
          `PATCH /coordinator/agents/:id, ${label}`,
          16,
          async (i) =>
            await send(w("coordinator"), `/agents/${created[Math.max(0, i) % created.length]}`, {
              method: "PATCH",
              token,
              body: { trust_score: 4 },
            }),
        ),
      );
      figures.push(
        await underLoad(
          w("coordinator"),
          `DELETE /coordinator/agents/:id, ${label}`,
          14,
          async (i) =>
            await send(w("coordinator"), `/agents/${created[i + 2]}`, { method: "DELETE", token }),
        ),
      );
      const { rows: tasks } = await stack.sql.query<{ id: string }>(
        `INSERT INTO tasks (name, type, required_capabilities)
         SELECT 'bench task ' || n, 'nlp', '{nlp}' FROM generate_series(1, 24) AS n RETURNING id`,
      );
      figures.push(
        await underLoad(
          w("coordinator"),
          `POST /coordinator (coordinate), ${label}`,
          20,
          async (i) =>
            await send(w("coordinator"), "", {
              token,
              body: { task_id: tasks[i + 2]!.id, strategy: "least_loaded" },
            }),
        ),
      );
    }

    // migrate-batch: status routes, then whole calls of both paths.
    figures.push(
      await underLoad(
        w("migrate-batch"),
        "GET /migrate-batch/status",
        16,
        async () => await send(w("migrate-batch"), "/status", { token: service }),
      ),
    );
    figures.push(
      await underLoad(
        w("migrate-batch"),
        "GET /migrate-batch/admin/rollouts",
        16,
        async () => await send(w("migrate-batch"), "/admin/rollouts", { token: service }),
      ),
    );
    for (const name of FUNCTION_NAMES) {
      figures.push(
        await underLoad(
          w(name),
          `GET /${name}/health`,
          32,
          async () => await send(w(name), "/health"),
        ),
      );
    }
    console.log("\nCPU per request under load (worker process CPU / requests, 4 clients):\n");
    console.log("| function | route | requests | CPU per request | p50 latency |");
    console.log("| --- | --- | --- | --- | --- |");
    for (const f of figures) {
      console.log(`| ${f.fn} | ${f.route} | ${f.n} | ${ms(f.cpuPerRequestMs)} | ${ms(f.p50Ms)} |`);
    }
    await batchCalls(stack, w("migrate-batch"));
  } finally {
    for (const worker of workers.values()) await worker.drain();
  }
}

/** Whole migrate-batch calls: CPU per call and per user, and why each call stopped. */
async function batchCalls(stack: EdgeStack, worker: EdgeWorker): Promise<void> {
  console.log("\nmigrate-batch calls (CPU budget 1,500 ms, wall budget 50 s):\n");
  console.log("| path | users | calls | CPU per call (max) | CPU per user | stopped because |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  const service = stack.keys.serviceRoleKey;
  let seeded = 0;
  for (
    const [rollout, label, users, batchSize] of [
      [100, "set-based engine", 20_000, 5000],
      [0, "per-user original (listUsers)", 600, 100],
    ] as const
  ) {
    await stack.sql.query("DELETE FROM auth.users WHERE email LIKE 'user%@example.com'");
    await seedAuthUsers(stack.sql, seeded + users, { from: seeded + 1 });
    seeded += users;
    await setRollout(stack, "migrate-batch", rollout);
    const id = `bench-${rollout}-${crypto.randomUUID().slice(0, 6)}`;
    const perCall: number[] = [];
    const reasons = new Set<string>();
    let migrated = 0;
    for (let call = 0; call < 40; call++) {
      const before = await settledCpu(worker);
      const result = await send(worker, "", {
        token: service,
        body: { migration_id: id, batch_size: batchSize },
      });
      if (result.status !== 200) throw new Error(`${label}: ${JSON.stringify(result.body)}`);
      perCall.push((await settledCpu(worker)) - before);
      reasons.add(String(result.body.stopped_because));
      migrated += Number(result.body.processed ?? 0);
      if (result.body.done === true) break;
    }
    const total = perCall.reduce((a, b) => a + b, 0);
    console.log(
      `| ${label} | ${migrated} | ${perCall.length} | ${ms(median(perCall))} (${
        ms(Math.max(...perCall))
      }) | ${(total / Math.max(1, migrated)).toFixed(3)} ms | ${[...reasons].join(", ")} |`,
    );
  }
}

export async function run(): Promise<void> {
  if (!Deno.env.get("TEST_DATABASE_URL")) {
    console.log("skipped: needs TEST_DATABASE_URL (PostgreSQL 15)");
    return;
  }
  const stack = await startEdgeStack();
  try {
    await coldStarts(stack, Number(Deno.env.get("BENCH_COLD_RUNS") ?? 3));
    await cpuPerRoute(stack);
  } finally {
    await stack.close();
  }
}

if (import.meta.main) await run();
