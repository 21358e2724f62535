/**
 * 100 concurrent coordination requests over a small agent pool, per implementation and provider:
 * no agent ever exceeds max_load, no task is assigned twice, every request ends in success or a
 * clean 409 (conflict), and the database's bookkeeping agrees with the answers.
 */
import assert from "node:assert/strict";
import { STRATEGIES } from "../../../shared/coordinator/types.ts";
import { seededRandom } from "../../../local/standin/seed.ts";
import { insertAgents, insertTask, resetCoordinator, uuid } from "./fixtures.ts";
import { coordinatorImplementations } from "./implementations.ts";

const REQUESTS = 100;
const TASKS = 40;
const POOL = [
  { id: uuid(1), capabilities: ["x"], max_load: 3, trust_score: 4 },
  { id: uuid(2), capabilities: ["x", "y"], max_load: 2, trust_score: 4 },
  { id: uuid(3), capabilities: ["x", "y"], max_load: 3, trust_score: 2.5 },
  { id: uuid(4), capabilities: ["x"], max_load: 2, trust_score: 5 },
];
const CAPACITY = POOL.reduce((sum, agent) => sum + agent.max_load, 0);

for (const implementation of coordinatorImplementations()) {
  Deno.test(`100 concurrent coordinations stay within capacity (${implementation.name})`, async () => {
    const { operations, sql, close } = await implementation.open();
    try {
      await resetCoordinator(sql);
      await insertAgents(sql, POOL);
      for (let i = 1; i <= TASKS; i++) {
        await insertTask(sql, uuid(i, "b000"), i % 3 === 0 ? ["x", "y"] : ["x"]);
      }
      const random = seededRandom(6);
      const requests = Array.from({ length: REQUESTS }, (_, i) => ({
        // Every task is requested more than once: same-task races as well as capacity races.
        taskId: uuid((i % TASKS) + 1, "b000"),
        strategy: STRATEGIES[Math.floor(random() * STRATEGIES.length)]!,
        maxAgents: 1 + Math.floor(random() * 2),
      }));

      const results = await Promise.all(
        requests.map((request) =>
          operations.coordinateTask(request.taskId, {
            strategy: request.strategy,
            maxAgents: request.maxAgents,
          })
        ),
      );

      const successesPerTask = new Map<string, number>();
      let assignedSlots = 0;
      for (const [index, result] of results.entries()) {
        if (result.ok) {
          const { task_id, assigned_agents, agents_used } = result.value;
          assert.equal(task_id, requests[index]!.taskId);
          assert.ok(agents_used >= 1 && agents_used <= requests[index]!.maxAgents);
          assert.equal(new Set(assigned_agents.map((a) => a.id)).size, agents_used);
          successesPerTask.set(task_id, (successesPerTask.get(task_id) ?? 0) + 1);
          assignedSlots += agents_used;
        } else {
          assert.equal(result.error.code, "conflict", result.error.message);
          const reason = (result.error.details as { reason: string }).reason;
          assert.ok(
            ["task_not_pending", "no_capacity", "concurrent_change"].includes(reason),
            reason,
          );
        }
      }
      for (const [task, count] of successesPerTask) assert.equal(count, 1, `task ${task}`);
      assert.ok(assignedSlots <= CAPACITY);
      if (implementation.path === "abstracted") {
        // Locking serialises the competitors, so capacity is used up completely.
        assert.equal(assignedSlots, CAPACITY);
      }

      const agents = await sql.query<
        { id: string; current_load: number; max_load: number; open: number }
      >(
        `SELECT a.id, a.current_load, a.max_load,
                (SELECT count(*) FROM task_assignments ta
                 WHERE ta.agent_id = a.id AND ta.status = 'assigned') AS open
         FROM agents a ORDER BY a.id`,
      );
      for (const agent of agents.rows) {
        assert.ok(agent.current_load <= agent.max_load, `agent ${agent.id} over max_load`);
        assert.equal(agent.current_load, agent.open, `agent ${agent.id} load drifted`);
      }
      const assignments = await sql.query<{ task_id: string; agents: number; status: string }>(
        `SELECT t.id AS task_id, t.status, count(ta.id) AS agents
         FROM tasks t LEFT JOIN task_assignments ta ON ta.task_id = t.id
         GROUP BY t.id, t.status`,
      );
      let rows = 0;
      for (const task of assignments.rows) {
        const answered = successesPerTask.has(task.task_id);
        assert.equal(task.status, answered ? "assigned" : "pending", `task ${task.task_id}`);
        assert.equal(task.agents > 0, answered);
        rows += task.agents;
      }
      assert.equal(rows, assignedSlots, "assignment rows match the answers");
    } finally {
      await close();
    }
  });
}
