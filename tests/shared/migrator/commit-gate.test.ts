import assert from "node:assert/strict";
import { CommitGate } from "../../../shared/migrator/commit-gate.ts";

Deno.test("commit gate: a claim before close wins; close then cannot abandon", () => {
  const gate = new CommitGate();
  assert.equal(gate.claim(), true);
  assert.equal(gate.claim(), true, "claiming again is harmless");
  assert.equal(gate.close(), false);
  assert.equal(gate.state, "claimed");
});

Deno.test("commit gate: close before claim wins; later claims are refused", () => {
  const gate = new CommitGate();
  assert.equal(gate.close(), true);
  const { claim } = gate; // handlers receive it detached, as ctx.claimCommit
  assert.equal(claim(), false);
  assert.equal(gate.state, "closed");
});

Deno.test("commit gate: a plan-mode gate never allows a commit", () => {
  assert.equal(new CommitGate("closed").claim(), false);
});
