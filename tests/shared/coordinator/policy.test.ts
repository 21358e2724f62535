import assert from "node:assert/strict";
import { classifyCoordinatorRequest } from "../../../shared/coordinator/policy.ts";

const classify = (method: string, path: string) =>
  classifyCoordinatorRequest(new Request(`http://fn.local${path}`, { method }));

Deno.test("coordinator requests are classified for the migrator", () => {
  assert.deepEqual(classify("POST", "/coordinator"), {
    name: "coordinate",
    safety: "write",
    shadow: "plan",
  });
  assert.equal(classify("POST", "/coordinator/").name, "coordinate");
  assert.deepEqual(classify("GET", "/coordinator/agents?status=active"), {
    name: "agents.list",
    safety: "read_only",
    shadow: "live",
  });
  assert.equal(classify("POST", "/coordinator/agents").shadow, "off");
  assert.equal(classify("GET", "/coordinator/agents/abc").name, "agents.get");
  assert.equal(classify("PATCH", "/coordinator/agents/abc").safety, "write");
  assert.equal(classify("DELETE", "/coordinator/agents/abc").name, "agents.delete");
  assert.equal(classify("GET", "/coordinator/agents/abc/metrics").name, "agents.metrics");
  assert.equal(classify("GET", "/coordinator/elsewhere").shadow, "off");
});
