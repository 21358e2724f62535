import assert from "node:assert/strict";
import {
  checkCoordinateOptions,
  parseAgentCreate,
  parseAgentListQuery,
  parseAgentUpdate,
  parseCoordinateRequest,
  parseId,
} from "../../../shared/coordinator/validation.ts";
import type { AppError, Result } from "../../../shared/result.ts";

const TASK = "00000000-0000-4000-B000-000000000001";

function fields(result: Result<unknown, AppError>): string[] {
  assert.equal(result.ok, false);
  if (result.ok) return [];
  assert.equal(result.error.code, "validation_failed");
  const details = result.error.details as { fields: Array<{ field: string }> };
  return details.fields.map((f) => f.field);
}

Deno.test("coordinate request: valid input is normalised", () => {
  const parsed = parseCoordinateRequest({ task_id: TASK, strategy: "round_robin", extra: 1 });
  assert.deepEqual(parsed, {
    ok: true,
    value: { task_id: TASK.toLowerCase(), strategy: "round_robin" },
  });
});

Deno.test("coordinate request: each bad field is named", () => {
  assert.deepEqual(fields(parseCoordinateRequest({ strategy: "round_robin" })), ["task_id"]);
  assert.deepEqual(fields(parseCoordinateRequest({ task_id: "42", strategy: "x" })), [
    "task_id",
    "strategy",
  ]);
  assert.deepEqual(
    fields(parseCoordinateRequest({ task_id: TASK, strategy: "least_loaded", max_agents: 0 })),
    ["max_agents"],
  );
  assert.deepEqual(
    fields(parseCoordinateRequest({ task_id: TASK, strategy: "least_loaded", max_agents: 1.5 })),
    ["max_agents"],
  );
  assert.deepEqual(fields(parseCoordinateRequest([])), ["body"]);
  assert.deepEqual(fields(parseCoordinateRequest(null)), ["body"]);
});

Deno.test("agent create: requires name, type and a capability; rejects unknown fields", () => {
  assert.deepEqual(
    parseAgentCreate({ name: " Ada ", type: "llm", capabilities: [" nlp "], trust_score: 4.25 }),
    { ok: true, value: { name: "Ada", type: "llm", capabilities: ["nlp"], trust_score: 4.25 } },
  );
  assert.deepEqual(fields(parseAgentCreate({ name: "", type: "llm", capabilities: [] })), [
    "name",
    "capabilities",
  ]);
  assert.deepEqual(
    fields(parseAgentCreate({ name: "a", type: "t", capabilities: ["x"], current_load: 3 })),
    ["body"],
  );
  assert.deepEqual(
    fields(parseAgentCreate({ name: "a", type: "t", capabilities: ["x"], trust_score: 5.5 })),
    ["trust_score"],
  );
  assert.deepEqual(
    fields(parseAgentCreate({ name: "a", type: "t", capabilities: ["x"], trust_score: 4.123 })),
    ["trust_score"],
  );
});

Deno.test("agent update: at least one known field", () => {
  assert.deepEqual(parseAgentUpdate({ status: "inactive" }), {
    ok: true,
    value: { status: "inactive" },
  });
  assert.deepEqual(fields(parseAgentUpdate({})), ["body"]);
  assert.deepEqual(fields(parseAgentUpdate({ status: "paused" })), ["status"]);
});

Deno.test("agent list query: repeated and comma-separated capabilities, paging bounds", () => {
  assert.deepEqual(parseAgentListQuery({ capability: ["a,b", "c"], status: ["active"] }), {
    ok: true,
    value: { status: "active", capabilities: ["a", "b", "c"], limit: 100, offset: 0 },
  });
  assert.deepEqual(fields(parseAgentListQuery({ limit: ["0"] })), ["limit"]);
  assert.deepEqual(fields(parseAgentListQuery({ status: ["gone"] })), ["status"]);
});

Deno.test("ids and service-level options", () => {
  assert.deepEqual(parseId(TASK, "id"), { ok: true, value: TASK.toLowerCase() });
  assert.deepEqual(fields(parseId("nope", "id")), ["id"]);
  assert.equal(checkCoordinateOptions({ strategy: "highest_trust", maxAgents: 50 }), null);
  assert.equal(
    checkCoordinateOptions({ strategy: "highest_trust", maxAgents: 51 })?.code,
    "validation_failed",
  );
  assert.equal(
    checkCoordinateOptions({ strategy: "nope" as "highest_trust" })?.code,
    "validation_failed",
  );
});
