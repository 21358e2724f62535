import assert from "node:assert/strict";
import { formatRequestLine, RequestLog } from "../../../local/standin/request-log.ts";

Deno.test("the request log keeps the newest entries up to its capacity", () => {
  const log = new RequestLog(3);
  for (let i = 0; i < 5; i++) {
    log.record({
      at: new Date(0),
      method: "GET",
      path: `/p${i}`,
      status: 200 + i,
      durationMs: 1.25,
    });
  }
  assert.deepEqual(log.entries().map((e) => e.path), ["/p2", "/p3", "/p4"]);
  assert.equal(log.count((e) => e.status >= 203), 2);
  assert.equal(
    formatRequestLine(log.entries()[0]!),
    "1970-01-01T00:00:00.000Z GET /p2 -> 202 (1.3 ms)",
  );
});
