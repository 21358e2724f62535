/**
 * The coordinator API over HTTP semantics (Hono app, real Request/Response), for both
 * implementations on every provider: the same scripted session must give the same statuses and
 * bodies, and each answer must be the documented one.
 */
import assert from "node:assert/strict";
import { sign } from "hono/jwt";
import { createCoordinatorApp, type VerifyToken } from "../../../shared/coordinator/routes.ts";
import { DEFAULT_LOCAL_JWT_SECRET, verifyJwt } from "../../../local/standin/keys.ts";
import { insertAgents, insertTask, resetCoordinator, uuid } from "./fixtures.ts";
import { coordinatorImplementations } from "./implementations.ts";
import type { MigratorBinding } from "../../../shared/coordinator/routes.ts";

/** A real HS256 verifier (the stand-in's secret), standing where shared/auth plugs in. */
const verifyToken: VerifyToken = async (token) => {
  const claims = await verifyJwt(token, DEFAULT_LOCAL_JWT_SECRET);
  return claims?.role === "authenticated" && typeof claims.sub === "string"
    ? { userId: claims.sub }
    : null;
};

const USER_TOKEN = await sign(
  { sub: uuid(42, "c000"), role: "authenticated", exp: Math.floor(Date.now() / 1000) + 3600 },
  DEFAULT_LOCAL_JWT_SECRET,
  "HS256",
);
const EXPIRED_TOKEN = await sign(
  { sub: uuid(42, "c000"), role: "authenticated", exp: Math.floor(Date.now() / 1000) - 10 },
  DEFAULT_LOCAL_JWT_SECRET,
  "HS256",
);

type Recorded = { status: number; body: unknown };

/** Drops what legitimately differs between two runs: generated ids and timestamps. */
function normalise(value: unknown, createdIds: readonly string[]): unknown {
  if (Array.isArray(value)) return value.map((v) => normalise(v, createdIds));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).filter(([key]) => !/_at$/.test(key)).map((
        [key, v],
      ) => [key, normalise(v, createdIds)]),
    );
  }
  if (typeof value === "string") {
    return createdIds.reduce((text, id, index) => text.replaceAll(id, `<created ${index}>`), value);
  }
  return value;
}

async function session(
  app: ReturnType<typeof createCoordinatorApp>,
  sql: import("../../../shared/db/sql-client.ts").SqlClient,
): Promise<Recorded[]> {
  await resetCoordinator(sql);
  await insertAgents(sql, [
    { id: uuid(1), name: "a1", capabilities: ["x"], trust_score: 3, max_load: 1 },
    { id: uuid(2), name: "a2", capabilities: ["x", "y"], trust_score: 4.5, max_load: 2 },
  ]);
  await insertTask(sql, uuid(1, "b000"), ["x"]);
  await insertTask(sql, uuid(2, "b000"), ["x"]);
  await insertTask(sql, uuid(3, "b000"), ["x"]);
  await insertTask(sql, uuid(4, "b000"), ["x"]);

  const recorded: Recorded[] = [];
  const createdIds: string[] = [];
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    options: { token?: string | null; raw?: string; handler?: MigratorBinding } = {},
  ) => {
    const headers = new Headers({ "content-type": "application/json" });
    const token = options.token === undefined ? USER_TOKEN : options.token;
    if (token) headers.set("authorization", `Bearer ${token}`);
    const response = await app.fetch(
      new Request(`http://functions.local/coordinator${path}`, {
        method,
        headers,
        body: options.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
      }),
      options.handler ? { handler: options.handler } : {},
    );
    const json = await response.json();
    if (method === "POST" && path === "/agents" && response.status === 201) {
      createdIds.push((json as { data: { id: string } }).data.id);
    }
    const entry = { status: response.status, body: json };
    recorded.push(entry);
    return entry;
  };

  // Authentication.
  const noToken = await call("POST", "/", { task_id: uuid(1, "b000"), strategy: "round_robin" }, {
    token: null,
  });
  assert.equal(noToken.status, 401);
  assert.equal((noToken.body as { error: { code: string } }).error.code, "unauthorized");
  assert.equal((await call("GET", "/agents", undefined, { token: EXPIRED_TOKEN })).status, 401);
  assert.equal((await call("GET", "/agents", undefined, { token: "garbage" })).status, 401);

  // Coordination: plan through the migrator binding (writes nothing), then live.
  let claims = 0;
  const plan = await call("POST", "/", { task_id: uuid(1, "b000"), strategy: "highest_trust" }, {
    handler: { mode: "plan", claimCommit: () => (claims++, false), requestId: "req-plan" },
  });
  assert.equal(plan.status, 200);
  const live = await call("POST", "/", { task_id: uuid(1, "b000"), strategy: "highest_trust" });
  assert.deepEqual(live, plan);
  assert.deepEqual(live.body, {
    success: true,
    data: {
      task_id: uuid(1, "b000"),
      strategy: "highest_trust",
      assigned_agents: [{ id: uuid(2), name: "a2", trust_score: 4.5 }],
      agents_used: 1,
    },
  });
  const twoAgents = await call("POST", "/", {
    task_id: uuid(2, "b000"),
    strategy: "least_loaded",
    max_agents: 2,
  });
  assert.equal(twoAgents.status, 200);
  assert.equal((twoAgents.body as { data: { agents_used: number } }).data.agents_used, 2);

  // Errors.
  const again = await call("POST", "/", { task_id: uuid(1, "b000"), strategy: "round_robin" });
  assert.equal(again.status, 409);
  const full = await call("POST", "/", { task_id: uuid(3, "b000"), strategy: "round_robin" });
  assert.equal(full.status, 409);
  assert.deepEqual((full.body as { error: { details: unknown } }).error.details, {
    reason: "no_capacity",
  });
  assert.equal(
    (await call("POST", "/", { task_id: uuid(99, "b000"), strategy: "round_robin" })).status,
    404,
  );
  const badBody = await call("POST", "/", undefined, { raw: "{not json" });
  assert.equal(badBody.status, 400);
  const badFields = await call("POST", "/", { task_id: "7", strategy: "fastest", max_agents: 0 });
  assert.equal(badFields.status, 400);
  assert.deepEqual(
    (badFields.body as { error: { details: { fields: Array<{ field: string }> } } }).error.details
      .fields.map((f) => f.field),
    ["task_id", "strategy", "max_agents"],
  );
  assert.equal((await call("POST", "/", ["x"])).status, 400);
  assert.equal(
    (await call("POST", "/", undefined, { raw: JSON.stringify({ pad: "x".repeat(70_000) }) }))
      .status,
    400,
  );

  // Agents.
  const list = await call("GET", "/agents?status=active&capability=x");
  assert.deepEqual(
    (list.body as { data: Array<{ id: string }> }).data.map((a) => a.id),
    [uuid(1), uuid(2)],
  );
  assert.equal((await call("GET", "/agents?capability=y")).status, 200);
  assert.equal((await call("GET", "/agents?status=sleeping")).status, 400);
  const created = await call("POST", "/agents", {
    name: "Nova",
    type: "llm",
    capabilities: ["x", "nlp"],
    trust_score: 4.25,
    max_load: 3,
  });
  assert.equal(created.status, 201);
  const id = createdIds[0]!;
  assert.equal((await call("GET", `/agents/${id}`)).status, 200);
  assert.equal(
    (await call("POST", "/agents", { name: "x", type: "y", capabilities: [] })).status,
    400,
  );
  assert.equal(
    (await call("POST", "/agents", { name: "x", type: "y", capabilities: ["a"], current_load: 1 }))
      .status,
    400,
  );
  const updated = await call("PATCH", `/agents/${id}`, { status: "inactive" });
  assert.equal((updated.body as { data: { status: string } }).data.status, "inactive");
  assert.equal((await call("PATCH", `/agents/${id}`, {})).status, 400);
  assert.equal((await call("PATCH", `/agents/${uuid(2)}`, { max_load: 1 })).status, 409);
  assert.equal((await call("PUT", `/agents/${uuid(77)}`, { name: "z" })).status, 404);
  const metrics = await call("GET", `/agents/${uuid(2)}/metrics`);
  assert.deepEqual(metrics.body, {
    success: true,
    data: {
      agent_id: uuid(2),
      name: "a2",
      type: "worker",
      status: "active",
      task_count: 2,
      active_count: 2,
      completed_count: 0,
      failed_count: 0,
      success_rate: null,
      avg_duration_ms: null,
    },
  });
  assert.equal((await call("GET", `/agents/${uuid(77)}/metrics`)).status, 404);
  assert.equal((await call("GET", "/agents/not-a-uuid")).status, 400);
  assert.equal((await call("DELETE", `/agents/${uuid(2)}`)).status, 409);
  // A plan run must never write: the gate refuses, nothing is deleted.
  const planDelete = await call("DELETE", `/agents/${id}`, undefined, {
    handler: { mode: "plan", claimCommit: () => false, requestId: "req-x" },
  });
  assert.equal(planDelete.status, 503);
  assert.deepEqual((await call("DELETE", `/agents/${id}`)).body, {
    success: true,
    data: { id, deleted: true },
  });
  assert.equal((await call("DELETE", `/agents/${id}`)).status, 404);
  assert.equal((await call("GET", "/nowhere")).status, 404);
  assert.equal(claims, 0, "a plan never asks to commit");

  return recorded.map((entry) => ({
    status: entry.status,
    body: normalise(entry.body, createdIds),
  }));
}

const byProvider = new Map<string, Recorded[][]>();
for (const implementation of coordinatorImplementations()) {
  const provider = implementation.name.split("/")[1]!;
  Deno.test(`coordinator HTTP API (${implementation.name})`, async () => {
    const { operations, sql, close } = await implementation.open();
    try {
      const app = createCoordinatorApp({ operations, verifyToken });
      const recorded = await session(app, sql);
      const runs = byProvider.get(provider) ?? [];
      runs.push(recorded);
      byProvider.set(provider, runs);
      // Both implementations on one provider: identical statuses and bodies, request by request.
      if (runs.length === 2) assert.deepEqual(runs[1], runs[0]);
    } finally {
      await close();
    }
  });
}
