/**
 * The coordinator wired as the function entry will wire it: services from the DI container, both
 * implementations as handlers under the real EdgeFunctionMigrator with shadow comparison on, and
 * tokens checked by shared/auth's verifier. Each path's shadow plan must match the primary.
 */
import assert from "node:assert/strict";
import { coordinatorMigratorPolicy } from "../../../shared/coordinator/policy.ts";
import { defaultRoutingConfig, staticRoutingSource } from "../../../shared/flags/resolve.ts";
import { BackgroundTasks } from "../../../shared/migrator/background.ts";
import { MemoryComparisonSink } from "../../../shared/migrator/comparison-store.ts";
import { EdgeFunctionMigrator } from "../../../shared/migrator/migrator.ts";
import { freshPglite } from "../../helpers/db.ts";
import { insertAgents, insertTask, uuid } from "./fixtures.ts";
import { wireCoordinator } from "./wired.ts";

Deno.test("both implementations under the migrator: shadow plans match the primary", async () => {
  const sql = await freshPglite();
  const wired = await wireCoordinator(sql);
  try {
    const { original, userToken } = wired;
    await insertAgents(sql, [
      { id: uuid(1), name: "a1", capabilities: ["x"], trust_score: 3, max_load: 10 },
      { id: uuid(2), name: "a2", capabilities: ["x"], trust_score: 4, max_load: 10 },
      { id: uuid(3), name: "a3", capabilities: ["x", "y"], trust_score: 4, max_load: 10 },
    ]);

    let task = 0;
    for (const rollout of [0, 100]) {
      const comparisons = new MemoryComparisonSink();
      const background = new BackgroundTasks();
      const migrator: EdgeFunctionMigrator = new EdgeFunctionMigrator({
        policy: coordinatorMigratorPolicy,
        original,
        abstracted: wired.abstracted,
        routing: staticRoutingSource(
          defaultRoutingConfig({ rolloutPercentage: rollout, enableComparison: true }),
        ),
        comparisons,
        background,
        storeMatches: true,
      });
      const primaryPath = rollout === 100 ? "abstracted" : "original";
      for (const strategy of ["round_robin", "least_loaded", "highest_trust", "capability_match"]) {
        const taskId = uuid(++task, "b000");
        await insertTask(sql, taskId, ["x"]);
        const response = await migrator.handle(
          new Request("http://fn.local/coordinator", {
            method: "POST",
            headers: {
              authorization: `Bearer ${userToken}`,
              "content-type": "application/json",
            },
            body: JSON.stringify({ task_id: taskId, strategy, max_agents: 2 }),
          }),
        );
        assert.equal(response.status, 200, await response.clone().text());
        assert.equal(response.headers.get("x-migration-path"), primaryPath);
        const body = await response.json();
        assert.equal(body.data.agents_used, 2);
      }
      const list = await migrator.handle(
        new Request("http://fn.local/coordinator/agents?capability=x", {
          headers: { authorization: `Bearer ${userToken}` },
        }),
      );
      assert.equal(list.status, 200);
      await list.body?.cancel();
      const unauthorised = await migrator.handle(
        new Request("http://fn.local/coordinator/agents", {
          headers: { authorization: `Bearer ${wired.anonKey}` },
        }),
      );
      assert.equal(unauthorised.status, 401);
      await unauthorised.body?.cancel();
      await background.drain();

      const coordinate = comparisons.comparisons.filter((c) => c.operation === "coordinate");
      assert.equal(coordinate.length, 4);
      for (const comparison of coordinate) {
        assert.equal(comparison.primaryPath, primaryPath);
        assert.deepEqual(comparison.differingPaths, []);
        assert.equal(comparison.matched, true);
      }
      const reads = comparisons.comparisons.filter((c) => c.operation === "agents.list");
      // The listing and the refused (401) request: both implementations answer alike.
      assert.deepEqual(
        reads.map((c) => [c.primaryStatus, c.matched]).sort(),
        [[200, true], [401, true]],
      );
    }
    const { rows } = await sql.query<{ over: number }>(
      "SELECT count(*) AS over FROM agents WHERE current_load > max_load",
    );
    assert.equal(rows[0]!.over, 0);
  } finally {
    await wired.close();
    await sql.close();
  }
});
