/** functions/<name>/index.ts run from source, as `supabase functions serve` / `deno run` would. */
import assert from "node:assert/strict";
import { FUNCTION_NAMES } from "../../shared/functions/registry.ts";
import { runToEnd, startServer } from "./server-process.ts";

const entry = (name: string) => `functions/${name}/index.ts`;

Deno.test("a bad environment stops every entrypoint with one line naming each bad variable", async () => {
  const env = {
    MIGRATION_MODE: "triple_write",
    CANARY_PERCENTAGE: "150",
    DATABASE_URL: "mysql://user:s3cret@db/x",
  };
  const runs = await Promise.all(FUNCTION_NAMES.map((name) => runToEnd(entry(name), env)));
  for (const [i, run] of runs.entries()) {
    const name = FUNCTION_NAMES[i]!;
    assert.equal(run.code, 1, `${name} exits 1`);
    assert.equal(run.stdout, "", "nothing listened, nothing logged");
    const lines = run.stderr.trim().split("\n");
    assert.equal(lines.length, 1, `one line, got:\n${run.stderr}`);
    assert.match(lines[0]!, new RegExp(`^${name}: cannot start: Invalid environment: `));
    for (const variable of ["MIGRATION_MODE", "CANARY_PERCENTAGE", "DATABASE_URL"]) {
      assert.match(lines[0]!, new RegExp(`${variable}: `), `${name} names ${variable}`);
    }
    assert.ok(!run.stderr.includes("s3cret"));
  }
});

Deno.test("an invalid PORT is reported in the same line as the other variables", async () => {
  const run = await runToEnd(entry("login"), { PORT: "http", LOG_LEVEL: "chatty" });
  assert.equal(run.code, 1);
  const line = run.stderr.trim();
  assert.match(
    line,
    /^login: cannot start: Invalid environment: PORT: expected a port number \(0-65535\); LOG_LEVEL: /,
  );
  assert.equal(line.split("\n").length, 1);
});

Deno.test("from source, an entrypoint serves its app on PORT and stops cleanly on SIGTERM", async () => {
  const server = await startServer(entry("migrate-batch"), { LOG_LEVEL: "info" });
  let status: Deno.CommandStatus | undefined;
  try {
    const response = await fetch(`http://127.0.0.1:${server.port}/migrate-batch/health`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: "ok", function: "migrate-batch" });
  } finally {
    status = await server.stop();
  }
  assert.equal(status.code, 0);
  const records = server.output.filter((line) => line.startsWith("{")).map((line) =>
    JSON.parse(line)
  );
  assert.ok(records.some((r) => r.msg === "listening" && r.function === "migrate-batch"));
  assert.ok(records.some((r) => r.msg === "request" && r.path === "/migrate-batch/health"));
  assert.ok(records.some((r) => r.msg === "shutting down" && r.reason === "SIGTERM"));
});

Deno.test("with SENTRY_DSN set (a dead endpoint), an entrypoint still serves and stops cleanly", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const server = await startServer(entry("coordinator"), {
    SENTRY_DSN: `http://public@127.0.0.1:${deadPort}/1`,
    LOG_LEVEL: "info",
  });
  let status: Deno.CommandStatus | undefined;
  try {
    const response = await fetch(`http://127.0.0.1:${server.port}/coordinator/health`);
    assert.equal(response.status, 200);
    await response.body?.cancel();
    const missing = await fetch(`http://127.0.0.1:${server.port}/coordinator-x`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    status = await server.stop();
  }
  assert.equal(status.code, 0, server.output.join("\n"));
});
