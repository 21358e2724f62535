import assert from "node:assert/strict";
import type { BatchProgress } from "../../../shared/batch/engine.ts";
import {
  formatDuration,
  formatProgress,
  ProgressReporter,
} from "../../../shared/batch/progress.ts";

const progress = (processed: number, elapsedMs: number): BatchProgress => ({
  migrationId: "m",
  dryRun: false,
  total: 50_000,
  processed,
  migrated: processed - 10,
  skipped: 0,
  errors: 10,
  invocationProcessed: processed,
  elapsedMs,
});

Deno.test("progress line: bar, counts, rate, ETA and errors", () => {
  assert.equal(
    formatProgress(progress(25_000, 2_000), 10),
    "[█████░░░░░]  50.0%  25,000/50,000  12,500 users/s  ETA 0:02  errors 10",
  );
  assert.match(formatProgress(progress(0, 0)), /ETA \?/);
  assert.equal(formatDuration(3725), "1:02:05");
  assert.equal(formatDuration(59.4), "0:59");
});

Deno.test("reporter: redraws one line on a terminal, throttled plain lines otherwise", () => {
  let terminal = "";
  const tty = new ProgressReporter({ write: (t) => void (terminal += t), isTerminal: true });
  tty.update(progress(10_000, 1_000));
  tty.update(progress(20_000, 2_000));
  tty.finish();
  assert.equal(terminal.split("\r\x1b[2K").length, 3);
  assert.ok(terminal.endsWith("\n"));

  let log = "";
  let now = 0;
  const plain = new ProgressReporter(
    { write: (t) => void (log += t), isTerminal: false },
    () => now,
  );
  for (let i = 1; i <= 10; i++) {
    now = i * 300; // an update every 300 ms: at most one line a second
    plain.update(progress(i * 5_000, now));
  }
  plain.finish();
  const lines = log.trimEnd().split("\n");
  assert.ok(!log.includes("\r"));
  assert.ok(lines.length >= 3 && lines.length <= 5, String(lines.length));
  assert.match(lines.at(-1)!, /50,000\/50,000/);
});
