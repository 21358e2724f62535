/** The AgentRepository contract, run unchanged on every provider. */
import assert from "node:assert/strict";
import { AgentRepository } from "../../../shared/coordinator/agent-repository.ts";
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

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

for (const provider of dataProviders()) {
  Deno.test(`AgentRepository contract (${provider.name})`, async (t) => {
    const { db, sql, close } = await provider.open();
    const agents = new AgentRepository(db);
    try {
      await t.step("create normalises capabilities and applies defaults", async () => {
        await resetCoordinator(sql);
        const agent = value(
          await agents.create({
            name: "Ada",
            type: "llm",
            capabilities: ["summarize", " nlp", "nlp"],
          }),
        );
        assert.equal(agent.name, "Ada");
        assert.deepEqual(agent.capabilities, ["nlp", "summarize"]);
        assert.equal(agent.status, "active");
        assert.equal(agent.trust_score, 0);
        assert.equal(agent.current_load, 0);
        assert.equal(agent.max_load, 1);
        assert.equal(agent.last_assigned_seq, null);
        assert.match(agent.created_at, ISO);
        assert.deepEqual(value(await agents.findById(agent.id)), agent);
      });

      await t.step("findById of an unknown id is not_found", async () => {
        assert.equal(errorOf(await agents.findById(uuid(999))).code, "not_found");
      });

      await t.step("findMany filters by status and every capability, ordered, paged", async () => {
        await resetCoordinator(sql);
        await insertAgents(sql, [
          { id: uuid(1), capabilities: ["a", "b"] },
          { id: uuid(2), capabilities: ["a"], status: "inactive" },
          { id: uuid(3), capabilities: ["b", "c", "a"] },
          { id: uuid(4), capabilities: ["c"] },
        ]);
        const ids = (list: Array<{ id: string }>) => list.map((a) => a.id);
        assert.deepEqual(ids(value(await agents.findMany())), [uuid(1), uuid(2), uuid(3), uuid(4)]);
        assert.deepEqual(ids(value(await agents.findMany({ status: "inactive" }))), [uuid(2)]);
        assert.deepEqual(ids(value(await agents.findMany({ capabilities: ["a", "b"] }))), [
          uuid(1),
          uuid(3),
        ]);
        assert.deepEqual(
          ids(value(await agents.findMany({ status: "active", capabilities: ["a"] }))),
          [uuid(1), uuid(3)],
        );
        assert.deepEqual(ids(value(await agents.findMany({ limit: 2, offset: 1 }))), [
          uuid(2),
          uuid(3),
        ]);
        assert.deepEqual(ids(value(await agents.findByCapability("c"))), [uuid(3), uuid(4)]);
        assert.deepEqual(ids(value(await agents.findActiveAgents())), [uuid(1), uuid(3), uuid(4)]);
      });

      await t.step("update patches fields; unknown id is not_found", async () => {
        const updated = value(
          await agents.update(uuid(1), {
            trust_score: 4.5,
            status: "inactive",
            capabilities: ["z"],
          }),
        );
        assert.equal(updated.trust_score, 4.5);
        assert.equal(updated.status, "inactive");
        assert.deepEqual(updated.capabilities, ["z"]);
        assert.ok(updated.updated_at >= updated.created_at);
        assert.equal(errorOf(await agents.update(uuid(999), { name: "x" })).code, "not_found");
      });

      await t.step("max_load below current_load is a conflict naming max_load", async () => {
        await insertAgents(sql, [{ id: uuid(5), current_load: 2, max_load: 3 }]);
        const error = errorOf(await agents.update(uuid(5), { max_load: 1 }));
        assert.equal(error.code, "conflict");
        assert.deepEqual(error.details, { field: "max_load", reason: "load_exceeds_capacity" });
        assert.equal(value(await agents.findById(uuid(5))).max_load, 3);
      });

      await t.step("delete: ok once, then not_found; history blocks deletion", async () => {
        assert.equal(value(await agents.delete(uuid(4))), true);
        assert.equal(errorOf(await agents.delete(uuid(4))).code, "not_found");
        await insertTask(sql, uuid(1, "b000"), ["a"]);
        value(await new TaskRepository(db).assign(uuid(1, "b000"), "round_robin", 1, false));
        const error = errorOf(await agents.delete(uuid(3)));
        assert.equal(error.code, "conflict");
        assert.equal((error.details as { reason: string }).reason, "agent_has_assignments");
        value(await agents.findById(uuid(3)));
      });

      await t.step("getAgentMetrics: counts, success rate, average duration", async () => {
        await resetCoordinator(sql);
        const tasks = new TaskRepository(db);
        await insertAgents(sql, [{ id: uuid(1), name: "solo", capabilities: ["a"], max_load: 5 }]);
        const empty = value(await agents.getAgentMetrics(uuid(1)));
        assert.deepEqual(empty, {
          agent_id: uuid(1),
          name: "solo",
          type: "worker",
          status: "active",
          task_count: 0,
          active_count: 0,
          completed_count: 0,
          failed_count: 0,
          success_rate: null,
          avg_duration_ms: null,
        });
        for (let i = 1; i <= 4; i++) {
          await insertTask(sql, uuid(i, "b000"), ["a"]);
          value(await tasks.assign(uuid(i, "b000"), "least_loaded", 1, false));
        }
        value(await tasks.completeAssignment(uuid(1, "b000"), uuid(1), true, 100));
        value(await tasks.completeAssignment(uuid(2, "b000"), uuid(1), true, 200));
        value(await tasks.completeAssignment(uuid(3, "b000"), uuid(1), false, 601));
        const metrics = value(await agents.getAgentMetrics(uuid(1)));
        assert.equal(metrics.task_count, 4);
        assert.equal(metrics.active_count, 1);
        assert.equal(metrics.completed_count, 2);
        assert.equal(metrics.failed_count, 1);
        assert.equal(metrics.success_rate, 0.6667);
        assert.equal(metrics.avg_duration_ms, 300);
        assert.equal(errorOf(await agents.getAgentMetrics(uuid(999))).code, "not_found");
      });
    } finally {
      await close();
    }
  });
}
