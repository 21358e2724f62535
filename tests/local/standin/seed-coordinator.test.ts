import assert from "node:assert/strict";
import {
  DEMO_AGENTS,
  demoAgentId,
  demoTaskId,
  seedCoordinatorDemo,
} from "../../../local/standin/seed-coordinator.ts";
import { freshPglite } from "../../helpers/db.ts";

Deno.test("the demo seed is idempotent and leaves assignable pending tasks", async () => {
  const sql = await freshPglite();
  try {
    assert.deepEqual(await seedCoordinatorDemo(sql, { taskCount: 16 }), {
      agents: DEMO_AGENTS.length,
      tasks: 16,
    });
    assert.deepEqual(await seedCoordinatorDemo(sql, { taskCount: 16 }), { agents: 0, tasks: 0 });
    const { rows } = await sql.query<{ outcome: string; agents: Array<{ id: string }> }>(
      "SELECT * FROM coordinator_assign_task($1, 'highest_trust', 1, false)",
      [demoTaskId(1)],
    );
    // Task 1 needs "summarize": Atlas (4.8) beats Kestrel (4.8, inactive) and Cipher (3.9).
    assert.equal(rows[0]!.outcome, "assigned");
    assert.deepEqual(rows[0]!.agents.map((a) => a.id), [demoAgentId(1)]);
    const pending = await sql.query<{ count: number }>(
      "SELECT count(*) FROM tasks WHERE status = 'pending'",
    );
    assert.equal(pending.rows[0]!.count, 15);
  } finally {
    await sql.close();
  }
});
