import assert from "node:assert/strict";
import { LocalCron, migrateBatchTask } from "../../../local/standin/cron.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await sleep(10);
  }
}

Deno.test("a run slower than the interval never overlaps the next one", async () => {
  let active = 0;
  let maxActive = 0;
  const cron = new LocalCron({
    name: "test",
    intervalMs: 5,
    task: async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await sleep(30);
      active--;
      return { status: 200, summary: "ok" };
    },
  });
  cron.start();
  await waitFor(() => cron.stats().ticks >= 4);
  await cron.stop();
  assert.equal(maxActive, 1);
  assert.equal(active, 0, "stop waits for the run in progress");
  const stats = cron.stats();
  assert.equal(stats.failed, 0);
  assert.equal(stats.succeeded, stats.ticks);
  assert.equal(stats.running, false);
  const ticks = stats.ticks;
  await sleep(40);
  assert.equal(cron.stats().ticks, ticks, "nothing runs after stop");
});

Deno.test("failures are counted and logged once per change, and stop aborts a hung run", async () => {
  const lines: string[] = [];
  let calls = 0;
  const cron = new LocalCron({
    name: "job",
    intervalMs: 5,
    log: (line) => lines.push(line),
    task: async (signal) => {
      calls++;
      if (calls <= 2) return { status: 501, summary: "not_implemented" };
      if (calls === 3) throw new Error("connection refused");
      // Hangs until aborted.
      await new Promise((_, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason))
      );
      return { status: 200, summary: "never" };
    },
  });
  cron.start();
  await waitFor(() => calls >= 4);
  await cron.stop();
  const stats = cron.stats();
  assert.equal(stats.succeeded, 0);
  assert.equal(stats.failed, 4, "two 501s, one throw and the run aborted by stop");
  assert.deepEqual(lines, ["job: 501 not_implemented", "job: failed: connection refused"]);
  assert.throws(() =>
    new LocalCron({
      name: "x",
      intervalMs: 0,
      task: () => Promise.resolve({ status: 200, summary: "" }),
    })
  );
});

Deno.test("migrateBatchTask POSTs to /functions/v1/migrate-batch with the service-role key", async () => {
  const seen: Array<
    { method: string; path: string; auth: string | null; apikey: string | null; body: string }
  > = [];
  const abort = new AbortController();
  const server = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    signal: abort.signal,
    onListen: () => {},
  }, async (req) => {
    seen.push({
      method: req.method,
      path: new URL(req.url).pathname,
      auth: req.headers.get("authorization"),
      apikey: req.headers.get("apikey"),
      body: await req.text(),
    });
    return Response.json({ processed: 10, migrated: 9, errors: 1, done: false, remaining: 5 });
  });
  try {
    const task = migrateBatchTask(`http://127.0.0.1:${server.addr.port}`, "service-key");
    const result = await task(new AbortController().signal);
    assert.deepEqual(result, {
      status: 200,
      summary: "processed=10 migrated=9 errors=1 remaining=5 done=false",
    });
    assert.deepEqual(seen, [{
      method: "POST",
      path: "/functions/v1/migrate-batch",
      auth: "Bearer service-key",
      apikey: "service-key",
      body: "{}",
    }]);
  } finally {
    abort.abort();
    await server.finished;
  }
});
