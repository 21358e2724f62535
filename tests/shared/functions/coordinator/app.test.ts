/**
 * End to end over real HTTP through the dev server: the deployed `coordinator` function with a
 * user access token from the `login` function, at rollout 0 % (the original, supabase-js over
 * the REST stand-in) and 100 % (the abstracted CoordinationService). The same scenario runs twice
 * from the same database state (restored between the runs), and both answer byte-identical
 * bodies; shadow comparison runs the other path on every request and records no mismatch.
 *
 * One dev server (one PGlite) for the whole file; the rollout is changed through the ops admin
 * API of the migrate-batch function, and flags are read without a cache (FLAGS_CACHE_TTL_MS=0).
 */
import assert from "node:assert/strict";
import { demoAgentId, demoTaskId } from "../../../../local/standin/seed-coordinator.ts";
import { MigrationRuntimeToken } from "../../../../shared/migrator/tokens.ts";
import { type DevServer, startDevServer } from "../../../../local/standin/dev-server.ts";
import { DEMO_ACCOUNT } from "../../../../local/standin/seed-legacy-users.ts";

const UNKNOWN_TASK = "00000000-0000-4000-b000-ffffffffffff";

interface Exchange {
  readonly step: string;
  readonly status: number;
  readonly path: string | null;
  readonly body: unknown;
}

function functionUrl(server: DevServer, path: string): string {
  return `${server.url}/functions/v1/${path}`;
}

async function loginToken(server: DevServer): Promise<string> {
  const response = await fetch(functionUrl(server, "login"), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(DEMO_ACCOUNT),
  });
  const body = await response.json();
  assert.equal(response.status, 200, `login answers 200: ${JSON.stringify(body)}`);
  const token = body?.session?.access_token;
  assert.equal(typeof token, "string", "the login function returns an access token");
  return token;
}

/** Sets the coordinator's rollout through the ops admin API (as an operator would). */
async function setRollout(server: DevServer, percentage: number): Promise<void> {
  const response = await fetch(
    functionUrl(server, "migrate-batch/admin/rollouts/coordinator/percentage"),
    {
      method: "PUT",
      headers: {
        Authorization: `Bearer ${server.keys.serviceRoleKey}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ percentage, reason: "coordinator end-to-end test" }),
    },
  );
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
}

/** Everything the scenario writes: snapshotted once, restored before each run. */
const COORDINATOR_TABLES = ["task_assignments", "tasks", "agents"] as const;

async function snapshotCoordinatorState(server: DevServer): Promise<void> {
  await server.sql.exec(`
    CREATE TABLE e2e_saved_agents AS TABLE agents;
    CREATE TABLE e2e_saved_tasks AS TABLE tasks;
    CREATE TABLE e2e_saved_sequence AS
      SELECT last_value, is_called FROM coordinator_assignment_seq;
  `);
  const { rows } = await server.sql.query<{ n: number }>(
    "SELECT count(*) AS n FROM task_assignments",
  );
  assert.equal(rows[0]!.n, 0, "the seeded state has no assignments");
}

async function restoreCoordinatorState(server: DevServer): Promise<void> {
  await server.sql.transaction(async (tx) => {
    for (const table of COORDINATOR_TABLES) await tx.query(`DELETE FROM ${table}`);
    await tx.query("INSERT INTO agents SELECT * FROM e2e_saved_agents");
    await tx.query("INSERT INTO tasks SELECT * FROM e2e_saved_tasks");
    // Round-robin order and last_assigned_seq in the bodies come from this sequence.
    await tx.query(
      `SELECT setval('coordinator_assignment_seq', last_value, is_called) FROM e2e_saved_sequence`,
    );
  });
}

/**
 * Values the scenario itself creates cannot repeat across two runs: the new agent's id and the
 * timestamps written during the run (now()). Both are replaced by placeholders; everything else,
 * including every timestamp of the seeded state, is compared exactly.
 */
function normalize(value: unknown, runStarted: Date, createdId: string | null): unknown {
  if (typeof value === "string") {
    if (createdId !== null && value.includes(createdId)) {
      return value.replaceAll(createdId, "<created agent id>");
    }
    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value)) {
      return new Date(value) >= runStarted ? "<written during the run>" : value;
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => normalize(item, runStarted, createdId));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, normalize(item, runStarted, createdId)]),
    );
  }
  return value;
}

/**
 * Every coordinator route once, plus the error cases. Between requests the migrator's background
 * work (shadow runs, metrics) is drained, so a shadow of a read never sees a later request's write.
 */
async function runScenario(server: DevServer, token: string): Promise<Exchange[]> {
  const runtime = await server.container.get(MigrationRuntimeToken);
  const exchanges: Exchange[] = [];
  const call = async (
    step: string,
    method: string,
    path: string,
    options: { body?: unknown; rawBody?: string; auth?: string | null } = {},
  ): Promise<Exchange> => {
    const headers: Record<string, string> = {};
    const auth = options.auth === undefined ? `Bearer ${token}` : options.auth;
    if (auth !== null) headers.Authorization = auth;
    let body: string | undefined;
    if (options.body !== undefined || options.rawBody !== undefined) {
      headers["Content-Type"] = "application/json";
      body = options.rawBody ?? JSON.stringify(options.body);
    }
    const response = await fetch(functionUrl(server, `coordinator${path}`), {
      method,
      headers,
      body,
    });
    const exchange = {
      step,
      status: response.status,
      path: response.headers.get("x-migration-path"),
      body: await response.json(),
    };
    await runtime.flush();
    exchanges.push(exchange);
    return exchange;
  };

  await call("list all agents", "GET", "/agents");
  await call("list active nlp agents", "GET", "/agents?status=active&capability=nlp");
  await call("list inactive agents", "GET", "/agents?status=inactive");
  await call("get an agent", "GET", `/agents/${demoAgentId(1)}`);
  await call("metrics before any task", "GET", `/agents/${demoAgentId(1)}/metrics`);

  await call("coordinate round_robin", "POST", "", {
    body: { task_id: demoTaskId(8), strategy: "round_robin", max_agents: 2 },
  });
  await call("coordinate least_loaded", "POST", "", {
    body: { task_id: demoTaskId(1), strategy: "least_loaded" },
  });
  await call("coordinate highest_trust", "POST", "", {
    body: { task_id: demoTaskId(4), strategy: "highest_trust", max_agents: 2 },
  });
  await call("coordinate capability_match", "POST", "", {
    body: { task_id: demoTaskId(2), strategy: "capability_match" },
  });
  await call("round_robin again moves on", "POST", "", {
    body: { task_id: demoTaskId(16), strategy: "round_robin", max_agents: 2 },
  });
  await call("already assigned", "POST", "", {
    body: { task_id: demoTaskId(1), strategy: "least_loaded" },
  });
  // Only Delta can read invoices (vision + ocr) and it takes two tasks at most.
  for (const n of [3, 11]) {
    await call(`ocr task ${n}`, "POST", "", {
      body: { task_id: demoTaskId(n), strategy: "least_loaded" },
    });
  }
  await call("no capacity left", "POST", "", {
    body: { task_id: demoTaskId(19), strategy: "least_loaded" },
  });
  await call("unknown task", "POST", "", {
    body: { task_id: UNKNOWN_TASK, strategy: "round_robin" },
  });
  await call("unknown strategy", "POST", "", {
    body: { task_id: demoTaskId(5), strategy: "fastest" },
  });
  await call("malformed JSON", "POST", "", { rawBody: "{not json" });

  await call("metrics after tasks", "GET", `/agents/${demoAgentId(1)}/metrics`);
  const created = await call("create an agent", "POST", "/agents", {
    body: {
      name: "Nova",
      type: "llm",
      capabilities: ["translate", "nlp", "nlp"],
      trust_score: 4.25,
      max_load: 2,
    },
  });
  const createdId = (created.body as { data?: { id?: string } }).data?.id;
  assert.equal(typeof createdId, "string", `create answered ${JSON.stringify(created.body)}`);
  await call("update the agent", "PATCH", `/agents/${createdId}`, {
    body: { status: "inactive", trust_score: 3.5 },
  });
  await call("get the updated agent", "GET", `/agents/${createdId}`);
  await call("invalid update", "PATCH", `/agents/${createdId}`, { body: { max_load: -1 } });
  await call("delete the agent", "DELETE", `/agents/${createdId}`);
  await call("get the deleted agent", "GET", `/agents/${createdId}`);
  await call("delete it again", "DELETE", `/agents/${createdId}`);
  await call("not a uuid", "GET", "/agents/not-a-uuid");
  await call("list after the run", "GET", "/agents");

  await call("no token", "GET", "/agents", { auth: null });
  await call("a bad token", "GET", "/agents", { auth: "Bearer not.a.token" });
  await call("a forged token", "POST", "", {
    body: { task_id: demoTaskId(5), strategy: "round_robin" },
    auth: `Bearer ${token.slice(0, -4)}AAAA`,
  });
  await call("no token on create", "POST", "/agents", {
    body: { name: "Mallory", type: "llm", capabilities: [], trust_score: 1, max_load: 1 },
    auth: null,
  });
  return exchanges;
}

function byStep(exchanges: readonly Exchange[]): Map<string, Exchange> {
  return new Map(exchanges.map((exchange) => [exchange.step, exchange]));
}

Deno.test("coordinator over HTTP with a login-function token: 0 % and 100 % answer identically", async () => {
  const server = await startDevServer({
    port: 0,
    profile: "hosted",
    dataDir: null,
    seedUsers: 5,
    cron: false,
    log: () => {},
    env: {
      FLAGS_CACHE_TTL_MS: "0",
      MIGRATION_ENABLE_COMPARISON: "true",
      LOG_LEVEL: "silent",
    },
  });
  try {
    const token = await loginToken(server);
    await snapshotCoordinatorState(server);

    await setRollout(server, 0);
    const originalStarted = new Date();
    const original = await runScenario(server, token);

    await restoreCoordinatorState(server);
    await setRollout(server, 100);
    const abstractedStarted = new Date();
    const abstracted = await runScenario(server, token);

    // Which implementation served: every response says so.
    for (const exchange of original) {
      assert.equal(exchange.path, "original", `${exchange.step} at 0 %`);
    }
    for (const exchange of abstracted) {
      assert.equal(exchange.path, "abstracted", `${exchange.step} at 100 %`);
    }

    // Same state, same requests: the same status and body on both paths.
    assert.equal(abstracted.length, original.length);
    const createdIdOf = (run: readonly Exchange[]) =>
      (byStep(run).get("create an agent")!.body as { data: { id: string } }).data.id;
    for (const [index, expected] of original.entries()) {
      const actual = abstracted[index]!;
      assert.equal(actual.step, expected.step);
      assert.equal(actual.status, expected.status, `${expected.step}: status`);
      assert.deepEqual(
        normalize(actual.body, abstractedStarted, createdIdOf(abstracted)),
        normalize(expected.body, originalStarted, createdIdOf(original)),
        `${expected.step}: body`,
      );
    }

    // The contract itself (checked once; the loop above carries it to the other path).
    const steps = byStep(abstracted);
    const status = (step: string) => steps.get(step)!.status;
    const errorCode = (step: string) =>
      (steps.get(step)!.body as { error?: { code?: string } }).error?.code;
    for (
      const step of [
        "list all agents",
        "get an agent",
        "metrics before any task",
        "coordinate round_robin",
        "coordinate least_loaded",
        "coordinate highest_trust",
        "coordinate capability_match",
        "round_robin again moves on",
        "ocr task 3",
        "ocr task 11",
        "metrics after tasks",
        "update the agent",
        "get the updated agent",
        "delete the agent",
      ]
    ) assert.equal(status(step), 200, step);
    assert.equal(status("create an agent"), 201);
    assert.equal(status("already assigned"), 409);
    assert.equal(errorCode("already assigned"), "conflict");
    assert.equal(status("no capacity left"), 409);
    assert.equal(errorCode("no capacity left"), "conflict");
    assert.equal(status("unknown task"), 404);
    assert.equal(errorCode("unknown task"), "not_found");
    for (const step of ["unknown strategy", "malformed JSON", "invalid update", "not a uuid"]) {
      assert.equal(status(step), 400, step);
      assert.equal(errorCode(step), "validation_failed", step);
    }
    assert.equal(status("get the deleted agent"), 404);
    assert.equal(status("delete it again"), 404);
    for (const step of ["no token", "a bad token", "a forged token", "no token on create"]) {
      assert.equal(status(step), 401, step);
      assert.equal(errorCode(step), "unauthorized", step);
    }

    const data = (step: string) => (steps.get(step)!.body as { data: unknown }).data;
    const assigned = (step: string) =>
      (data(step) as { assigned_agents: Array<{ id: string; name: string }> }).assigned_agents
        .map((agent) => agent.name);
    // Seeded pool: ties broken deterministically (seed.ts and the strategies' documented rules).
    assert.deepEqual(assigned("coordinate highest_trust"), ["Forge", "Helix"]);
    assert.deepEqual(assigned("coordinate capability_match"), ["Beacon"]);
    assert.deepEqual(assigned("ocr task 11"), ["Delta"]);
    assert.equal(
      (data("coordinate round_robin") as { agents_used: number }).agents_used,
      2,
    );
    assert.notDeepEqual(
      assigned("round_robin again moves on"),
      assigned("coordinate round_robin"),
      "round robin hands the next nlp task to other agents",
    );
    const all = data("list all agents") as Array<{ name: string }>;
    assert.equal(all.length, 12, "the twelve seeded agents");
    assert.deepEqual(
      (data("list inactive agents") as Array<{ name: string }>).map((agent) => agent.name),
      ["Kestrel"],
    );
    const created = data("create an agent") as { capabilities: string[]; trust_score: number };
    assert.deepEqual(created.capabilities, ["nlp", "translate"], "normalised capabilities");
    assert.equal(created.trust_score, 4.25);
    const metrics = data("metrics after tasks") as Record<string, unknown>;
    assert.ok(metrics && typeof metrics === "object", JSON.stringify(metrics));

    // Shadow comparison ran the other path on reads (live) and coordination (plan) both ways,
    // and never disagreed.
    const compared = await server.sql.query<{ operation: string; path: string; n: number }>(
      `SELECT operation, path, count(*)::int AS n FROM performance_metrics
        WHERE function_name = 'coordinator' AND mismatch = false
        GROUP BY operation, path ORDER BY operation, path`,
    );
    const comparedOps = new Set(compared.rows.map((row) => `${row.operation}/${row.path}`));
    for (const operation of ["agents.list", "agents.get", "agents.metrics", "coordinate"]) {
      for (const path of ["original", "abstracted"]) {
        assert.ok(comparedOps.has(`${operation}/${path}`), `${operation} compared on ${path}`);
      }
    }
    const mismatches = await server.sql.query<Record<string, unknown>>(
      `SELECT operation, primary_path, differing_paths, shadow_error FROM shadow_comparisons
        WHERE function_name = 'coordinator' AND NOT matched`,
    );
    assert.deepEqual(mismatches.rows, [], "no shadow mismatch");
    const flagged = await server.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM performance_metrics
        WHERE function_name = 'coordinator' AND mismatch = true`,
    );
    assert.equal(flagged.rows[0]!.n, 0);
  } finally {
    await server.close();
  }
});
