/** The TaskRepository contract, run unchanged on every provider. */
import assert from "node:assert/strict";
import { TaskRepository } from "../../../shared/coordinator/task-repository.ts";
import type { AppError, Result } from "../../../shared/result.ts";
import { insertAgents, insertTask, resetCoordinator, uuid } from "./fixtures.ts";
import { dataProviders } from "./providers.ts";

function value<T>(result: Result<T, AppError>): T {
  if (!result.ok) assert.fail(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

function errorOf<T>(result: Result<T, AppError>): AppError {
  if (result.ok) assert.fail("expected an error");
  return result.error;
}

const TASK = uuid(1, "b000");

for (const provider of dataProviders()) {
  Deno.test(`TaskRepository contract (${provider.name})`, async (t) => {
    const { db, sql, close } = await provider.open();
    const tasks = new TaskRepository(db);
    const load = async (id: string) =>
      (await sql.query<{ current_load: number }>(
        "SELECT current_load FROM agents WHERE id = $1",
        [id],
      )).rows[0]!.current_load;
    try {
      await t.step("create and find a pending task", async () => {
        await resetCoordinator(sql);
        const task = value(
          await tasks.create({ name: "Summarise", type: "nlp", required_capabilities: ["b", "a"] }),
        );
        assert.equal(task.status, "pending");
        assert.deepEqual(task.required_capabilities, ["a", "b"]);
        assert.equal(task.strategy, null);
        assert.deepEqual(value(await tasks.findById(task.id)), task);
        assert.equal(errorOf(await tasks.findById(uuid(999, "b000"))).code, "not_found");
        assert.deepEqual(value(await tasks.findMany({ status: "pending" })).map((x) => x.id), [
          task.id,
        ]);
      });

      await t.step("assign in plan mode writes nothing", async () => {
        await resetCoordinator(sql);
        await insertAgents(sql, [{
          id: uuid(1),
          name: "one",
          capabilities: ["a"],
          trust_score: 4,
        }]);
        await insertTask(sql, TASK, ["a"]);
        const planned = value(await tasks.assign(TASK, "highest_trust", 1, true));
        assert.equal(planned.outcome, "planned");
        assert.deepEqual(planned.agents, [{ id: uuid(1), name: "one", trust_score: 4 }]);
        assert.equal(value(await tasks.findById(TASK)).status, "pending");
        assert.equal(await load(uuid(1)), 0);
        assert.deepEqual(value(await tasks.listAssignments(TASK)), []);
      });

      await t.step("assign live: load, assignment rows and task state in one step", async () => {
        const assigned = value(await tasks.assign(TASK, "highest_trust", 1, false));
        assert.equal(assigned.outcome, "assigned");
        assert.equal(await load(uuid(1)), 1);
        const task = value(await tasks.findById(TASK));
        assert.equal(task.status, "assigned");
        assert.equal(task.strategy, "highest_trust");
        assert.ok(task.assigned_at);
        const [assignment] = value(await tasks.listAssignments(TASK));
        assert.equal(assignment?.agent_id, uuid(1));
        assert.equal(assignment?.status, "assigned");
        assert.equal(
          value(await tasks.assign(TASK, "highest_trust", 1, false)).outcome,
          "task_not_pending",
        );
      });

      await t.step("outcomes: unknown task, no capacity, bad arguments", async () => {
        assert.equal(
          value(await tasks.assign(uuid(9, "b000"), "round_robin", 1, false)).outcome,
          "task_not_found",
        );
        await insertTask(sql, uuid(2, "b000"), ["a"]);
        assert.equal(
          value(await tasks.assign(uuid(2, "b000"), "round_robin", 1, false)).outcome,
          "no_capacity",
        );
        assert.equal(
          value(await tasks.assign(uuid(2, "b000"), "fastest" as "round_robin", 1, false)).outcome,
          "invalid_strategy",
        );
        assert.equal(
          value(await tasks.assign(uuid(2, "b000"), "round_robin", 0, false)).outcome,
          "invalid_max_agents",
        );
      });

      await t.step("commitAssignment re-validates a client-side selection", async () => {
        await resetCoordinator(sql);
        await insertAgents(sql, [
          { id: uuid(1), capabilities: ["a"], max_load: 1 },
          { id: uuid(2), capabilities: ["a"], max_load: 1, current_load: 1 },
          { id: uuid(3), capabilities: ["b"], max_load: 1 },
        ]);
        await insertTask(sql, TASK, ["a"]);
        for (const stale of [[uuid(2)], [uuid(3)], [uuid(1), uuid(2)], [uuid(404)]]) {
          assert.equal(
            value(await tasks.commitAssignment(TASK, "least_loaded", stale)).outcome,
            "stale_selection",
          );
        }
        assert.equal(
          value(await tasks.commitAssignment(TASK, "least_loaded", [uuid(1), uuid(1)])).outcome,
          "invalid_agents",
        );
        assert.equal(await load(uuid(1)), 0);
        const committed = value(await tasks.commitAssignment(TASK, "least_loaded", [uuid(1)]));
        assert.equal(committed.outcome, "assigned");
        assert.equal(await load(uuid(1)), 1);
      });

      await t.step("completeAssignment frees capacity and finishes the task", async () => {
        await resetCoordinator(sql);
        await insertAgents(sql, [
          { id: uuid(1), capabilities: ["a"], max_load: 1 },
          { id: uuid(2), capabilities: ["a"], max_load: 1 },
        ]);
        await insertTask(sql, TASK, ["a"]);
        value(await tasks.assign(TASK, "round_robin", 2, false));
        const first = value(await tasks.completeAssignment(TASK, uuid(1), false, 50));
        assert.equal(first.task_status, "assigned");
        assert.equal(await load(uuid(1)), 0);
        assert.equal(
          errorOf(await tasks.completeAssignment(TASK, uuid(1), true)).code,
          "conflict",
        );
        const last = value(await tasks.completeAssignment(TASK, uuid(2), true, 80));
        assert.equal(last.task_status, "completed");
        const task = value(await tasks.findById(TASK));
        assert.equal(task.status, "completed");
        assert.equal(task.duration_ms, 80);
        assert.ok(task.completed_at);
        const finished = value(await tasks.listAssignments(TASK));
        assert.deepEqual(finished.map((a) => [a.agent_id, a.status, a.success, a.duration_ms]), [
          [uuid(1), "failed", false, 50],
          [uuid(2), "completed", true, 80],
        ]);
        assert.equal(
          errorOf(await tasks.completeAssignment(uuid(9, "b000"), uuid(1), true)).code,
          "not_found",
        );
      });
    } finally {
      await close();
    }
  });
}
