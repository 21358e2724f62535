import assert from "node:assert/strict";
import fc from "fast-check";
import { toAgent } from "../../../shared/coordinator/rows.ts";
import {
  compareUuid,
  isCandidate,
  type RankableAgent,
  rankCandidates,
  selectAgents,
} from "../../../shared/coordinator/strategies.ts";
import { STRATEGIES, type Strategy } from "../../../shared/coordinator/types.ts";
import { sqlProviders } from "../../helpers/db.ts";
import { type AgentRow, insertAgents, insertTask, resetCoordinator, uuid } from "./fixtures.ts";

function agent(n: number, fields: Partial<RankableAgent> = {}): RankableAgent {
  return {
    id: uuid(n),
    status: "active",
    capabilities: ["x"],
    trust_score: 3,
    current_load: 0,
    max_load: 2,
    last_assigned_seq: null,
    ...fields,
  };
}

const ids = (agents: readonly RankableAgent[]) => agents.map((a) => a.id);

Deno.test("candidates: active, every required capability, spare capacity", () => {
  assert.equal(isCandidate(agent(1, { capabilities: ["x", "y"] }), ["x", "y"]), true);
  assert.equal(isCandidate(agent(1, { capabilities: ["x"] }), ["x", "y"]), false);
  assert.equal(isCandidate(agent(1, { status: "inactive" }), ["x"]), false);
  assert.equal(isCandidate(agent(1, { current_load: 2, max_load: 2 }), ["x"]), false);
  assert.equal(isCandidate(agent(1, { max_load: 0 }), []), false);
  assert.equal(isCandidate(agent(1, { capabilities: [] }), []), true);
});

Deno.test("round_robin: never-assigned first by id, then least recently assigned", () => {
  const pool = [
    agent(3, { last_assigned_seq: 7 }),
    agent(2, { last_assigned_seq: null }),
    agent(1, { last_assigned_seq: 9 }),
    agent(4, { last_assigned_seq: null }),
  ];
  assert.deepEqual(ids(rankCandidates(pool, ["x"], "round_robin")), [
    uuid(2),
    uuid(4),
    uuid(3),
    uuid(1),
  ]);
});

Deno.test("least_loaded: load asc, then more capacity, then trust, then id", () => {
  const pool = [
    agent(1, { current_load: 1, max_load: 5 }),
    agent(2, { current_load: 0, max_load: 2, trust_score: 1 }),
    agent(3, { current_load: 0, max_load: 4 }),
    agent(4, { current_load: 0, max_load: 2, trust_score: 4 }),
    agent(5, { current_load: 0, max_load: 2, trust_score: 4 }),
  ];
  assert.deepEqual(ids(rankCandidates(pool, [], "least_loaded")), [
    uuid(3),
    uuid(4),
    uuid(5),
    uuid(2),
    uuid(1),
  ]);
});

Deno.test("highest_trust: trust desc, then load asc, then id", () => {
  const pool = [
    agent(1, { trust_score: 4.5, current_load: 1 }),
    agent(2, { trust_score: 4.75 }),
    agent(3, { trust_score: 4.5, current_load: 0 }),
    agent(4, { trust_score: 4.5, current_load: 0 }),
  ];
  assert.deepEqual(ids(rankCandidates(pool, [], "highest_trust")), [
    uuid(2),
    uuid(3),
    uuid(4),
    uuid(1),
  ]);
});

Deno.test("capability_match: most specialised first, then trust, load, id", () => {
  const pool = [
    agent(1, { capabilities: ["x", "y", "z"], trust_score: 5 }),
    agent(2, { capabilities: ["x", "y"], trust_score: 2 }),
    agent(3, { capabilities: ["x", "y"], trust_score: 4 }),
    agent(4, { capabilities: ["x"], trust_score: 1 }),
  ];
  assert.deepEqual(ids(rankCandidates(pool, ["x", "y"], "capability_match")), [
    uuid(3),
    uuid(2),
    uuid(1),
  ]);
  assert.deepEqual(ids(selectAgents(pool, ["x"], "capability_match", 2)), [uuid(4), uuid(3)]);
});

Deno.test("uuid order matches PostgreSQL's byte order, whatever the case", () => {
  assert.ok(
    compareUuid("0000000a-0000-0000-0000-000000000000", "00000009-ffff-ffff-ffff-ffffffffffff") > 0,
  );
  assert.equal(
    compareUuid("ABCDEF00-0000-0000-0000-000000000000", "abcdef00-0000-0000-0000-000000000000"),
    0,
  );
});

const CAPABILITIES = ["a", "b", "c", "d"];

const agentArbitrary = fc.record({
  id: fc.uuid(),
  active: fc.integer({ min: 0, max: 3 }).map((n) => n > 0),
  capabilities: fc.subarray(CAPABILITIES),
  trust_score: fc.constantFrom(0, 2.5, 3, 4.75, 5),
  max_load: fc.integer({ min: 0, max: 3 }),
  load_share: fc.double({ min: 0, max: 1, noNaN: true }),
  last_assigned_seq: fc.option(fc.integer({ min: 1, max: 6 }), { nil: null }),
});

const scenarioArbitrary = fc.record({
  agents: fc.uniqueArray(agentArbitrary, {
    minLength: 1,
    maxLength: 10,
    selector: (a) => a.id.toLowerCase(),
  }),
  required: fc.subarray(CAPABILITIES, { maxLength: 2 }),
  strategy: fc.constantFrom(...STRATEGIES),
  maxAgents: fc.integer({ min: 1, max: 4 }),
});

for (const provider of sqlProviders()) {
  Deno.test(`SQL and TypeScript rank identically, plan equals commit (${provider.name})`, async () => {
    const sql = await provider.open();
    try {
      let taskNumber = 0;
      await fc.assert(
        fc.asyncProperty(scenarioArbitrary, async (scenario) => {
          await resetCoordinator(sql);
          const rows: AgentRow[] = scenario.agents.map((a) => ({
            id: a.id.toLowerCase(),
            status: a.active ? "active" : "inactive",
            capabilities: a.capabilities,
            trust_score: a.trust_score,
            max_load: a.max_load,
            current_load: Math.floor(a.load_share * a.max_load),
            last_assigned_seq: a.last_assigned_seq,
          }));
          await insertAgents(sql, rows);
          const taskId = uuid(++taskNumber, "b000");
          await insertTask(sql, taskId, scenario.required);
          const state = (await sql.query("SELECT * FROM agents")).rows.map(toAgent);
          const expected = ids(
            selectAgents(state, scenario.required, scenario.strategy, scenario.maxAgents),
          );
          const planned = await assign(sql, taskId, scenario.strategy, scenario.maxAgents, true);
          assert.deepEqual(planned.ids, expected);
          assert.equal(planned.outcome, expected.length > 0 ? "planned" : "no_capacity");
          const live = await assign(sql, taskId, scenario.strategy, scenario.maxAgents, false);
          assert.deepEqual(live.ids, expected);
          assert.equal(live.outcome, expected.length > 0 ? "assigned" : "no_capacity");
        }),
        { numRuns: provider.name === "pglite" ? 60 : 40 },
      );
    } finally {
      await sql.close();
    }
  });
}

async function assign(
  sql: import("../../../shared/db/sql-client.ts").SqlClient,
  taskId: string,
  strategy: Strategy,
  maxAgents: number,
  planOnly: boolean,
): Promise<{ outcome: string; ids: string[] }> {
  const { rows } = await sql.query<{ outcome: string; agents: Array<{ id: string }> }>(
    "SELECT * FROM coordinator_assign_task($1, $2, $3, $4)",
    [taskId, strategy, maxAgents, planOnly],
  );
  return { outcome: rows[0]!.outcome, ids: rows[0]!.agents.map((a) => a.id) };
}
