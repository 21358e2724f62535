/**
 * `deno task dev --cron-interval`: README documents milliseconds (`--cron-interval MS`), so a bare
 * number is milliseconds; a unit (ms, s, m) may be given.
 */
import assert from "node:assert/strict";
import { parseInterval } from "../../scripts/dev.ts";

Deno.test("--cron-interval: a bare number is milliseconds, units are honoured", () => {
  assert.equal(parseInterval("10000"), 10_000);
  assert.equal(parseInterval("250"), 250);
  assert.equal(parseInterval("500ms"), 500);
  assert.equal(parseInterval("30s"), 30_000);
  assert.equal(parseInterval("1.5s"), 1_500);
  assert.equal(parseInterval("2m"), 120_000);
  for (const bad of ["", "ten", "10h", "-5", "99"]) {
    assert.throws(() => parseInterval(bad), /--cron-interval/, bad);
  }
});

Deno.test("deno task dev --cron-interval 250 runs the local cron every 0.25 s", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      "scripts/dev.ts",
      "--in-memory",
      "--port",
      "0",
      "--seed-users",
      "0",
      "--cron-interval",
      "250",
    ],
    cwd: new URL("../../", import.meta.url).pathname,
    env: { NO_COLOR: "1", LOG_LEVEL: "error" },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let text = "";
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    while (!text.includes("Local cron")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    assert.match(text, /Local cron {5}POST \/functions\/v1\/migrate-batch every 0\.25 s/, text);
  } finally {
    child.kill("SIGTERM");
    await reader.cancel().catch(() => {});
    await child.status;
  }
});
