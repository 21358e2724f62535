import assert from "node:assert/strict";
import { sleep, withDeadline } from "../../../shared/auth/deadline.ts";

Deno.test("an operation within the deadline returns its value", async () => {
  assert.deepEqual(await withDeadline(Promise.resolve(7), 1000), { kind: "done", value: 7 });
});

Deno.test("a late operation is handed back, still running, and its outcome is not lost", async () => {
  let timedOut = false;
  const bounded = await withDeadline(sleep(60).then(() => "late"), 10, () => (timedOut = true));
  assert.equal(bounded.kind, "timeout");
  assert.ok(timedOut);
  assert.equal(bounded.kind === "timeout" && await bounded.late, "late");
});

Deno.test("a rejection inside the deadline propagates", async () => {
  await assert.rejects(withDeadline(Promise.reject(new Error("boom")), 1000), /boom/);
});
