/**
 * Coordination behaviour — every strategy and every error case — for every implementation
 * (abstracted CoordinationService, original supabase-js) on every provider available.
 */
import assert from "node:assert/strict";
import type { AppError, Result } from "../../../shared/result.ts";
import type { CoordinationResult, Strategy } from "../../../shared/coordinator/types.ts";
import { insertAgents, insertTask, resetCoordinator, uuid } from "./fixtures.ts";
import { coordinatorImplementations } from "./implementations.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";

function value<T>(result: Result<T, AppError>): T {
  if (!result.ok) assert.fail(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

function errorOf(result: Result<unknown, AppError>): AppError {
  if (result.ok) assert.fail(`expected an error, got ${JSON.stringify(result.value)}`);
  return result.error;
}

const TASK = uuid(1, "b000");
const A1 = uuid(1), A2 = uuid(2), A3 = uuid(3), A4 = uuid(4), A5 = uuid(5), A6 = uuid(6);

/**
 * Candidates for a task needing "x" are A1, A2, A3 (A4 is full, A5 inactive, A6 lacks "x"), and
 * each strategy orders them differently.
 */
async function strategyPool(sql: SqlClient): Promise<void> {
  await resetCoordinator(sql);
  await insertAgents(sql, [
    {
      id: A1,
      name: "a1",
      capabilities: ["x"],
      trust_score: 3,
      current_load: 0,
      max_load: 2,
      last_assigned_seq: 5,
    },
    {
      id: A2,
      name: "a2",
      capabilities: ["x", "y"],
      trust_score: 4.5,
      current_load: 1,
      max_load: 3,
    },
    {
      id: A3,
      name: "a3",
      capabilities: ["x", "y", "z"],
      trust_score: 4.5,
      current_load: 0,
      max_load: 1,
      last_assigned_seq: 2,
    },
    { id: A4, name: "a4", capabilities: ["x"], trust_score: 5, current_load: 2, max_load: 2 },
    { id: A5, name: "a5", capabilities: ["x"], trust_score: 5, max_load: 5, status: "inactive" },
    { id: A6, name: "a6", capabilities: ["y"], trust_score: 4.9, max_load: 5 },
  ]);
  await insertTask(sql, TASK, ["x"]);
}

const EXPECTED: Record<Strategy, string[]> = {
  round_robin: [A2, A3, A1],
  least_loaded: [A1, A3, A2],
  highest_trust: [A3, A2, A1],
  capability_match: [A1, A2, A3],
};

const TRUST: Record<string, number> = { [A1]: 3, [A2]: 4.5, [A3]: 4.5 };
const NAME: Record<string, string> = { [A1]: "a1", [A2]: "a2", [A3]: "a3" };

function expectedResult(strategy: Strategy, count: number): CoordinationResult {
  const chosen = EXPECTED[strategy].slice(0, count);
  return {
    task_id: TASK,
    strategy,
    assigned_agents: chosen.map((id) => ({ id, name: NAME[id]!, trust_score: TRUST[id]! })),
    agents_used: chosen.length,
  };
}

async function loads(sql: SqlClient): Promise<Record<string, number>> {
  const { rows } = await sql.query<{ id: string; current_load: number }>(
    "SELECT id, current_load FROM agents ORDER BY id",
  );
  return Object.fromEntries(rows.map((row) => [row.id, row.current_load]));
}

for (const implementation of coordinatorImplementations()) {
  Deno.test(`coordination: strategies and errors (${implementation.name})`, async (t) => {
    const { operations: ops, sql, close } = await implementation.open();
    try {
      for (const strategy of Object.keys(EXPECTED) as Strategy[]) {
        await t.step(`${strategy}: plan, then assign the same agents`, async () => {
          await strategyPool(sql);
          const before = await loads(sql);
          const planned = value(
            await ops.coordinateTask(TASK, { strategy, maxAgents: 2, planOnly: true }),
          );
          assert.deepEqual(planned, expectedResult(strategy, 2));
          assert.deepEqual(await loads(sql), before, "plan mode must not write");
          const assigned = value(await ops.coordinateTask(TASK, { strategy, maxAgents: 2 }));
          assert.deepEqual(assigned, expectedResult(strategy, 2));
          const after = await loads(sql);
          for (const id of EXPECTED[strategy].slice(0, 2)) assert.equal(after[id], before[id]! + 1);
          const task = await sql.query<{ status: string; strategy: string }>(
            "SELECT status, strategy FROM tasks WHERE id = $1",
            [TASK],
          );
          assert.deepEqual(task.rows[0], { status: "assigned", strategy });
        });
      }

      await t.step("max_agents defaults to 1 and is capped by the eligible agents", async () => {
        await strategyPool(sql);
        assert.deepEqual(
          value(await ops.coordinateTask(TASK, { strategy: "highest_trust", planOnly: true })),
          expectedResult("highest_trust", 1),
        );
        assert.deepEqual(
          value(await ops.coordinateTask(TASK, { strategy: "highest_trust", maxAgents: 50 })),
          expectedResult("highest_trust", 3),
        );
      });

      await t.step("a commit gate answering false writes nothing", async () => {
        await strategyPool(sql);
        const before = await loads(sql);
        let asked = 0;
        const result = value(
          await ops.coordinateTask(TASK, {
            strategy: "least_loaded",
            claimCommit: () => (asked++, false),
          }),
        );
        assert.deepEqual(result, expectedResult("least_loaded", 1));
        assert.equal(asked, 1);
        assert.deepEqual(await loads(sql), before);
      });

      await t.step("round_robin rotates through the pool across tasks", async () => {
        await resetCoordinator(sql);
        await insertAgents(sql, [
          { id: A1, capabilities: ["x"], max_load: 10 },
          { id: A2, capabilities: ["x"], max_load: 10 },
          { id: A3, capabilities: ["x"], max_load: 10 },
        ]);
        const chosen: string[] = [];
        for (let i = 1; i <= 7; i++) {
          await insertTask(sql, uuid(i, "b000"), ["x"]);
          const result = value(
            await ops.coordinateTask(uuid(i, "b000"), { strategy: "round_robin" }),
          );
          chosen.push(result.assigned_agents[0]!.id);
        }
        assert.deepEqual(chosen, [A1, A2, A3, A1, A2, A3, A1]);
      });

      await t.step("a plan of the request that assigned the task replays its choice", async () => {
        await strategyPool(sql);
        const live = value(
          await ops.coordinateTask(TASK, {
            strategy: "highest_trust",
            maxAgents: 2,
            requestId: "req-1",
          }),
        );
        assert.deepEqual(live, expectedResult("highest_trust", 2));
        const replayed = value(
          await ops.coordinateTask(TASK, {
            strategy: "highest_trust",
            maxAgents: 2,
            planOnly: true,
            requestId: "req-1",
          }),
        );
        assert.deepEqual(replayed, live);
        const other = errorOf(
          await ops.coordinateTask(TASK, {
            strategy: "highest_trust",
            maxAgents: 2,
            planOnly: true,
            requestId: "req-2",
          }),
        );
        assert.equal(other.code, "conflict");
        const liveAgain = errorOf(
          await ops.coordinateTask(TASK, { strategy: "highest_trust", requestId: "req-1" }),
        );
        assert.equal(liveAgain.code, "conflict", "only plans replay; a live retry is a 409");
      });

      await t.step("unknown task: 404 naming task_id", async () => {
        await strategyPool(sql);
        const error = errorOf(
          await ops.coordinateTask(uuid(77, "b000"), { strategy: "round_robin" }),
        );
        assert.equal(error.code, "not_found");
        assert.deepEqual(error.details, { field: "task_id" });
      });

      await t.step("already assigned task: 409 task_not_pending", async () => {
        value(await ops.coordinateTask(TASK, { strategy: "round_robin" }));
        const error = errorOf(await ops.coordinateTask(TASK, { strategy: "least_loaded" }));
        assert.equal(error.code, "conflict");
        assert.deepEqual(error.details, { reason: "task_not_pending", task_status: "assigned" });
        const plan = errorOf(
          await ops.coordinateTask(TASK, { strategy: "least_loaded", planOnly: true }),
        );
        assert.deepEqual(plan, error);
      });

      await t.step("no eligible agent with capacity: 409 no_capacity", async () => {
        await strategyPool(sql);
        await insertTask(sql, uuid(2, "b000"), ["x", "w"]);
        const error = errorOf(
          await ops.coordinateTask(uuid(2, "b000"), { strategy: "capability_match" }),
        );
        assert.equal(error.code, "conflict");
        assert.deepEqual(error.details, { reason: "no_capacity" });
        // Fill the last slots: the pool then has no capacity for "x" either.
        value(await ops.coordinateTask(TASK, { strategy: "least_loaded", maxAgents: 3 }));
        await insertTask(sql, uuid(3, "b000"), ["x"]);
        value(
          await ops.coordinateTask(uuid(3, "b000"), { strategy: "least_loaded", maxAgents: 3 }),
        );
        await insertTask(sql, uuid(4, "b000"), ["x"]);
        const full = errorOf(
          await ops.coordinateTask(uuid(4, "b000"), { strategy: "round_robin" }),
        );
        assert.deepEqual(full.details, { reason: "no_capacity" });
        const { rows } = await sql.query<{ over: number }>(
          "SELECT count(*) AS over FROM agents WHERE current_load > max_load",
        );
        assert.equal(rows[0]!.over, 0);
      });

      await t.step("invalid input: 400 naming the field", async () => {
        const badId = errorOf(await ops.coordinateTask("42", { strategy: "round_robin" }));
        assert.equal(badId.code, "validation_failed");
        assert.match(badId.message, /task_id/);
        const badStrategy = errorOf(
          await ops.coordinateTask(TASK, { strategy: "fastest" as Strategy }),
        );
        assert.match(badStrategy.message, /strategy/);
        const badMax = errorOf(
          await ops.coordinateTask(TASK, { strategy: "round_robin", maxAgents: 0 }),
        );
        assert.match(badMax.message, /max_agents/);
      });

      await t.step("agent CRUD and metrics", async () => {
        await resetCoordinator(sql);
        const created = value(
          await ops.createAgent({
            name: "Nova",
            type: "llm",
            capabilities: ["x", "nlp"],
            trust_score: 4.25,
            max_load: 2,
          }),
        );
        assert.deepEqual(created.capabilities, ["nlp", "x"]);
        assert.deepEqual(value(await ops.getAgent(created.id)), created);
        assert.deepEqual(
          value(await ops.listAgents({ capabilities: ["nlp"] })).map((a) => a.id),
          [created.id],
        );
        assert.deepEqual(value(await ops.listAgents({ status: "inactive" })), []);
        const updated = value(await ops.updateAgent(created.id, { status: "inactive" }));
        assert.equal(updated.status, "inactive");
        value(await ops.updateAgent(created.id, { status: "active" }));
        await insertTask(sql, TASK, ["x"]);
        value(await ops.coordinateTask(TASK, { strategy: "highest_trust" }));
        const metrics = value(await ops.getAgentMetrics(created.id));
        assert.equal(metrics.task_count, 1);
        assert.equal(metrics.active_count, 1);
        assert.equal(metrics.success_rate, null);
        assert.equal(errorOf(await ops.deleteAgent(created.id)).code, "conflict");
        const spare = value(
          await ops.createAgent({ name: "Spare", type: "llm", capabilities: ["y"] }),
        );
        assert.deepEqual(value(await ops.deleteAgent(spare.id)), { id: spare.id, deleted: true });
        for (
          const missing of [
            ops.getAgent(spare.id),
            ops.deleteAgent(spare.id),
            ops.getAgentMetrics(spare.id),
            ops.updateAgent(spare.id, { name: "z" }),
          ]
        ) {
          assert.equal(errorOf(await missing).code, "not_found");
        }
        assert.equal(errorOf(await ops.getAgent("nope")).code, "validation_failed");
        assert.equal(
          errorOf(await ops.updateAgent(created.id, { max_load: 0 })).code,
          "conflict",
        );
      });
    } finally {
      await close();
    }
  });
}
