/**
 * The alert outbox: alerts are stored with the change that raised them (redacted), delivered to
 * every sink once, retried only towards the sinks that failed, given up after maxAttempts, and
 * never sent twice by concurrent dispatchers (PostgreSQL).
 */
import assert from "node:assert/strict";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { createLogger } from "../../../shared/observability/logger.ts";
import { webhookAlertSink } from "../../../shared/ops/alert-sinks.ts";
import { AlertDispatcher, type AlertInput, queueAlert } from "../../../shared/ops/alerts.ts";
import { freshPostgres, sqlProviders, TEST_DATABASE_URL } from "../../helpers/db.ts";
import { startWebhookReceiver } from "./helpers.ts";

const silent = createLogger({ level: "silent" });
const alert = (title: string, details: Record<string, unknown> = {}): AlertInput => ({
  kind: "rollout_aborted",
  severity: "critical",
  functionName: "login",
  title,
  details,
});

async function outbox(db: SqlClient) {
  const { rows } = await db.query<{
    title: string;
    delivered_to: string[];
    attempts: number;
    done: boolean;
    last_error: string | null;
  }>(
    `SELECT title, delivered_to, attempts, done_at IS NOT NULL AS done, last_error
       FROM ops_alerts ORDER BY id`,
  );
  return rows;
}

for (const provider of sqlProviders()) {
  Deno.test(`AlertDispatcher on ${provider.name}`, async (t) => {
    const db = await provider.open();
    const slack = startWebhookReceiver();
    const pager = startWebhookReceiver();
    const dispatcher = new AlertDispatcher({
      sql: db,
      sinks: [
        webhookAlertSink(slack.url, { name: "slack" }),
        webhookAlertSink(pager.url, { name: "pager" }),
      ],
      logger: silent,
      maxAttempts: 3,
      retryBaseMs: 0,
    });
    try {
      await t.step("stored redacted; delivered to every sink once", async () => {
        await queueAlert(
          db,
          alert("token=abc123 leaked? Bearer eyJhbGciOi.eyJzdWIiOi.sig", { password: "hunter2" }),
        );
        const report = await dispatcher.deliverDue();
        assert.deepEqual(report, { attempted: 1, delivered: 1, failed: 0 });
        const { rows } = await db.query<{ title: string; details: Record<string, unknown> }>(
          "SELECT title, details FROM ops_alerts",
        );
        assert.ok(!rows[0]!.title.includes("abc123") && !rows[0]!.title.includes("eyJzdWIiOi"));
        assert.equal(rows[0]!.details.password, "[redacted]");
        assert.equal(slack.bodies.length, 1);
        assert.equal(pager.bodies.length, 1);
        assert.deepEqual(await dispatcher.deliverDue(), { attempted: 0, delivered: 0, failed: 0 });
      });

      await t.step("a failing sink is retried alone; the other is not sent twice", async () => {
        await queueAlert(db, alert("second"));
        pager.failNext(1, 503);
        assert.deepEqual(await dispatcher.deliverDue(), { attempted: 1, delivered: 0, failed: 1 });
        let row = (await outbox(db))[1]!;
        assert.deepEqual(row.delivered_to, ["slack"]);
        assert.equal(row.done, false);
        assert.match(row.last_error!, /pager: webhook answered 503/);
        assert.deepEqual(await dispatcher.deliverDue(), { attempted: 1, delivered: 1, failed: 0 });
        row = (await outbox(db))[1]!;
        assert.deepEqual(row.delivered_to.sort(), ["pager", "slack"]);
        assert.equal(row.done, true);
        assert.equal(slack.bodies.filter((b) => String(b.text).includes("second")).length, 1);
        assert.equal(pager.bodies.filter((b) => String(b.text).includes("second")).length, 1);
      });

      await t.step("given up after maxAttempts, and left visible", async () => {
        await queueAlert(db, alert("third"));
        pager.failNext(10, 500);
        for (let i = 0; i < 3; i++) await dispatcher.deliverDue();
        const row = (await outbox(db))[2]!;
        assert.equal(row.attempts, 3);
        assert.equal(row.done, true);
        assert.deepEqual(row.delivered_to, ["slack"]);
        assert.match(row.last_error!, /pager/);
        assert.deepEqual(await dispatcher.deliverDue(), { attempted: 0, delivered: 0, failed: 0 });
        pager.failNext(0);
      });

      await t.step("without sinks, due alerts are closed rather than piling up", async () => {
        await queueAlert(db, alert("fourth"));
        const none = new AlertDispatcher({ sql: db, sinks: [], logger: silent });
        await none.deliverDue();
        const row = (await outbox(db))[3]!;
        assert.equal(row.done, true);
        assert.equal(row.last_error, "no alert sinks configured");
      });
    } finally {
      await slack.close();
      await pager.close();
      await db.close();
    }
  });
}

Deno.test({
  name: "concurrent dispatchers on PostgreSQL send each alert exactly once",
  ignore: !TEST_DATABASE_URL,
  async fn() {
    const db = await freshPostgres({ max: 8 });
    const receiver = startWebhookReceiver();
    try {
      for (let i = 0; i < 30; i++) await queueAlert(db, alert(`alert ${i}`));
      const dispatchers = Array.from({ length: 4 }, () =>
        new AlertDispatcher({
          sql: db,
          sinks: [webhookAlertSink(receiver.url)],
          logger: silent,
        }));
      const reports = await Promise.all(dispatchers.map((d) => d.deliverDue(10)));
      const more = await Promise.all(dispatchers.map((d) => d.deliverDue(10)));
      const delivered = [...reports, ...more].reduce((sum, r) => sum + r.delivered, 0);
      assert.equal(delivered, 30);
      const texts = receiver.bodies.map((b) => String(b.text));
      assert.equal(texts.length, 30);
      assert.equal(new Set(texts).size, 30, "no alert sent twice");
    } finally {
      await receiver.close();
      await db.close();
    }
  },
});
