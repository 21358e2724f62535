import assert from "node:assert/strict";
import { BackgroundTasks } from "../../../shared/migrator/background.ts";
import { SqlMetricsWriter } from "../../../shared/migrator/metrics-writer.ts";
import type { RequestMetric } from "../../../shared/migrator/types.ts";
import { sqlProviders } from "../../helpers/db.ts";

function metric(requestId: string, overrides: Partial<RequestMetric> = {}): RequestMetric {
  return {
    functionName: "signup",
    operation: "signup",
    path: "abstracted",
    durationMs: 1.25,
    status: 201,
    success: true,
    fallback: false,
    mismatch: null,
    canary: false,
    requestId,
    errorMessage: null,
    metadata: { route: "rollout", bucket: 42 },
    recordedAt: new Date("2026-11-23T10:00:00Z"),
    ...overrides,
  };
}

for (const provider of sqlProviders()) {
  Deno.test(`SqlMetricsWriter on ${provider.name}`, async (t) => {
    const db = await provider.open();
    const count = async (prefix: string) =>
      (await db.query<{ n: number }>(
        "SELECT count(*) AS n FROM performance_metrics WHERE request_id LIKE $1",
        [`${prefix}%`],
      )).rows[0]!.n;
    try {
      await t.step(
        "record() does not write; a drain writes without waiting for the interval",
        async () => {
          const background = new BackgroundTasks();
          const writer = new SqlMetricsWriter(db, { background, flushIntervalMs: 60_000 });
          for (let i = 0; i < 5; i++) writer.record(metric(`drain-${i}`));
          assert.equal(await count("drain-"), 0, "nothing written on the request path");
          await background.drain();
          assert.equal(await count("drain-"), 5);
          const { rows } = await db.query<Record<string, unknown>>(
            "SELECT * FROM performance_metrics WHERE request_id = 'drain-0'",
          );
          assert.equal(rows[0]!.duration_ms, 1.25);
          assert.deepEqual(rows[0]!.metadata, { route: "rollout", bucket: 42 });
          assert.equal((rows[0]!.recorded_at as Date).toISOString(), "2026-11-23T10:00:00.000Z");
          await writer.close();
        },
      );

      await t.step("a full batch is written in one go", async () => {
        const writer = new SqlMetricsWriter(db, { batchSize: 10, flushIntervalMs: 60_000 });
        for (let i = 0; i < 25; i++) writer.record(metric(`batch-${i}`));
        await writer.flush();
        assert.equal(await count("batch-"), 25);
        assert.deepEqual(writer.stats(), { buffered: 0, written: 25, dropped: 0 });
        await writer.close();
      });

      await t.step("one bad row does not take its batch with it", async () => {
        const errors: unknown[] = [];
        const writer = new SqlMetricsWriter(db, { onError: (error) => errors.push(error) });
        writer.record(metric("bad-ok-1"));
        writer.record(metric("bad-row", { status: 700 })); // violates the CHECK
        writer.record(metric("bad-ok-2"));
        await writer.flush();
        assert.equal(await count("bad-ok-"), 2);
        assert.equal(await count("bad-row"), 0);
        assert.equal(writer.stats().dropped, 1);
        assert.equal(errors.length, 1);
        await writer.close();
      });

      await t.step("a transient outage keeps rows and writes them after recovery", async () => {
        const errors: unknown[] = [];
        const writer = new SqlMetricsWriter(db, {
          flushIntervalMs: 60_000,
          maxAttempts: 3,
          onError: (error) => errors.push(error),
        });
        writer.record(metric("outage-1"));
        writer.record(metric("outage-2"));
        await db.exec("ALTER TABLE performance_metrics RENAME TO performance_metrics_down");
        try {
          await writer.flush();
          assert.deepEqual(writer.stats(), { buffered: 2, written: 0, dropped: 0 });
          assert.equal(errors.length, 1);
        } finally {
          await db.exec("ALTER TABLE performance_metrics_down RENAME TO performance_metrics");
        }
        await writer.flush();
        assert.equal(await count("outage-"), 2);
        await writer.close();
      });

      await t.step("the buffer is bounded: oldest rows are dropped and counted", async () => {
        const writer = new SqlMetricsWriter(db, { maxBuffered: 3, flushIntervalMs: 60_000 });
        for (let i = 0; i < 5; i++) writer.record(metric(`bound-${i}`));
        assert.equal(writer.stats().dropped, 2);
        await writer.close();
        const { rows } = await db.query<{ request_id: string }>(
          "SELECT request_id FROM performance_metrics WHERE request_id LIKE 'bound-%' ORDER BY request_id",
        );
        assert.deepEqual(rows.map((r) => r.request_id), ["bound-2", "bound-3", "bound-4"]);
      });
    } finally {
      await db.close();
    }
  });
}
