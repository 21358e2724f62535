/**
 * The original supabase-js path against the abstracted one on the SAME database: for the same
 * state both choose the same agents (plan mode, random states), each replays the other's
 * assignment in a shadow plan, and paging past PostgREST's max rows changes nothing.
 * (The shared behaviour suites run the original too: see implementations.ts.)
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { AgentRepository } from "../../../shared/coordinator/agent-repository.ts";
import { CoordinationService } from "../../../shared/coordinator/coordination-service.ts";
import { fromPostgrestError, OriginalCoordinator } from "../../../shared/coordinator/original.ts";
import { TaskRepository } from "../../../shared/coordinator/task-repository.ts";
import { STRATEGIES } from "../../../shared/coordinator/types.ts";
import { createSqlDatabaseService } from "../../../shared/db/sql-database-service.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { sqlProviders } from "../../helpers/db.ts";
import { AUTH_SCHEMA_SQL, serveRestStandin } from "../../local/standin/rest/serve-rest.ts";
import { insertAgents, insertTask, resetCoordinator, uuid } from "./fixtures.ts";

async function bothPaths(sql: SqlClient) {
  await sql.exec(AUTH_SCHEMA_SQL);
  const standin = await serveRestStandin(sql, { maxRows: 1000 });
  const db = createSqlDatabaseService(sql);
  return {
    original: new OriginalCoordinator(standin.client()),
    abstracted: new CoordinationService(new AgentRepository(db), new TaskRepository(db)),
    close: () => standin.close(),
  };
}

const scenario = fc.record({
  agents: fc.array(
    fc.record({
      active: fc.integer({ min: 0, max: 3 }).map((n) => n > 0),
      capabilities: fc.subarray(["a", "b", "c"]),
      trust_score: fc.constantFrom(1, 3.5, 3.5, 4.99, 5),
      max_load: fc.integer({ min: 0, max: 3 }),
      load: fc.integer({ min: 0, max: 3 }),
      seq: fc.option(fc.integer({ min: 1, max: 4 }), { nil: null }),
    }),
    { minLength: 0, maxLength: 8 },
  ),
  required: fc.subarray(["a", "b", "c"], { maxLength: 2 }),
  strategy: fc.constantFrom(...STRATEGIES),
  maxAgents: fc.integer({ min: 1, max: 3 }),
});

for (const provider of sqlProviders()) {
  Deno.test(`original and abstracted agree (${provider.name})`, async (t) => {
    const sql = await provider.open();
    const paths = await bothPaths(sql);
    try {
      await t.step("same plan (or the same error) for random states", async () => {
        let n = 0;
        await fc.assert(
          fc.asyncProperty(scenario, async (s) => {
            await resetCoordinator(sql);
            await insertAgents(
              sql,
              s.agents.map((a, i) => ({
                id: uuid(i + 1),
                status: a.active ? "active" : "inactive",
                capabilities: a.capabilities,
                trust_score: a.trust_score,
                max_load: a.max_load,
                current_load: Math.min(a.load, a.max_load),
                last_assigned_seq: a.seq,
              })),
            );
            const task = uuid(++n, "b000");
            await insertTask(sql, task, s.required);
            const options = { strategy: s.strategy, maxAgents: s.maxAgents, planOnly: true };
            assert.deepEqual(
              await paths.original.coordinateTask(task, options),
              await paths.abstracted.coordinateTask(task, options),
            );
          }),
          { numRuns: 40 },
        );
      });

      await t.step("each path's shadow plan replays the other's assignment", async () => {
        await resetCoordinator(sql);
        await insertAgents(sql, [
          { id: uuid(1), capabilities: ["a"], trust_score: 2, max_load: 5 },
          { id: uuid(2), capabilities: ["a"], trust_score: 4, max_load: 1 },
          { id: uuid(3), capabilities: ["a", "b"], trust_score: 4, max_load: 2 },
        ]);
        const cases = [
          { live: paths.abstracted, shadow: paths.original, task: uuid(1, "b000") },
          { live: paths.original, shadow: paths.abstracted, task: uuid(2, "b000") },
        ];
        for (const [i, { live, shadow, task }] of cases.entries()) {
          await insertTask(sql, task, ["a"]);
          const options = { strategy: "highest_trust" as const, maxAgents: 2, requestId: `r${i}` };
          const primary = await live.coordinateTask(task, options);
          assert.equal(primary.ok, true);
          assert.deepEqual(
            await shadow.coordinateTask(task, { ...options, planOnly: true }),
            primary,
          );
        }
      });

      await t.step("the original pages past PostgREST's max rows", async () => {
        await resetCoordinator(sql);
        // 1,200 capable agents; the best by trust has the highest id, beyond the first page.
        await sql.query(
          `INSERT INTO agents (id, name, type, capabilities, trust_score, max_load)
           SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid,
                  'bulk ' || g, 'worker', '{a}', CASE WHEN g = 1200 THEN 5 ELSE 1 END, 1
           FROM generate_series(1, 1200) AS g`,
        );
        await insertTask(sql, uuid(9, "b000"), ["a"]);
        const options = { strategy: "highest_trust" as const, maxAgents: 2, planOnly: true };
        const original = await paths.original.coordinateTask(uuid(9, "b000"), options);
        assert.deepEqual(original, await paths.abstracted.coordinateTask(uuid(9, "b000"), options));
        assert.equal(original.ok && original.value.assigned_agents[0]?.id, uuid(1200));
      });
    } finally {
      await paths.close();
      await sql.close();
    }
  });
}

Deno.test("PostgREST errors map to the SQL providers' AppErrors", () => {
  assert.equal(
    fromPostgrestError({
      code: "23514",
      message:
        'new row for relation "agents" violates check constraint "agents_load_within_capacity"',
    }).code,
    "conflict",
  );
  assert.equal(
    fromPostgrestError({ code: "23503", message: "update or delete violates foreign key" }).code,
    "conflict",
  );
  assert.equal(
    fromPostgrestError({ code: "22P02", message: "invalid input" }).code,
    "validation_failed",
  );
  assert.equal(
    fromPostgrestError({ code: "", message: "TypeError: fetch failed" }).code,
    "unavailable",
  );
  assert.equal(fromPostgrestError({ code: "PGRST000", message: "x" }).code, "database_error");
});
