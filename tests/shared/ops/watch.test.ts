/**
 * The always-on watch over HTTP (POST /admin/rollouts/evaluate, as the cron calls it) on both
 * databases, with no rollout running: synthetic traffic is inserted with past timestamps (no
 * sleeping). "No signups for 30 min" where the baseline had some, a login failure spike, open and
 * growing divergences, change-outbox lag, failing batch calls and a slow path each raise one
 * alert, delivered to the webhook and to Sentry; the next tick raises nothing again (dedup), and
 * a signup drop fires once signups come back at a fraction of the baseline.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/env.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { createLogger } from "../../../shared/observability/logger.ts";
import { initSentry } from "../../../shared/observability/sentry.ts";
import { observabilitySentry } from "../../../shared/ops/alert-sinks.ts";
import { createOpsApp } from "../../../shared/ops/app.ts";
import { createOpsServices } from "../../../shared/ops/services.ts";
import { parseWatchThresholds } from "../../../shared/ops/watch.ts";
import { sqlProviders } from "../../helpers/db.ts";
import { capturingTransport, eventsOf } from "../../helpers/sentry-capture.ts";
import { simulateTraffic, startWebhookReceiver } from "./helpers.ts";

const SERVICE_KEY = "sb_secret_test_service_role_key_0123456789";

/** `count` successful requests of `fn` spread evenly over [from, to). */
async function spread(
  db: SqlClient,
  fn: string,
  count: number,
  from: Date,
  to: Date,
  status = 200,
) {
  await db.query(
    `INSERT INTO performance_metrics (function_name, operation, path, duration_ms, status,
                                      success, request_id, recorded_at)
     SELECT $1, 'sim', 'original', 40, $2, $2 < 500, 'sim-' || g,
            $3::timestamptz + (g * (($4::timestamptz - $3::timestamptz) / $5))
     FROM generate_series(0, $5 - 1) AS g`,
    [fn, status, from.toISOString(), to.toISOString(), count],
  );
}

const minutesAgo = (now: Date, minutes: number) => new Date(now.getTime() - minutes * 60_000);

for (const provider of sqlProviders()) {
  Deno.test(`always-on watch over HTTP on ${provider.name}`, async () => {
    const db = await provider.open();
    const webhook = startWebhookReceiver();
    const { transport, envelopes } = capturingTransport();
    const messages = () =>
      eventsOf<{ message?: string }>(envelopes).flatMap((event) =>
        event.message ? [event.message] : []
      );
    const sentry = initSentry({ dsn: "http://public@127.0.0.1:1/1", transport });
    const ops = createOpsServices({
      sql: db,
      routingEnv: loadConfig({}).env,
      serviceRoleKeys: [SERVICE_KEY],
      alertWebhookUrl: webhook.url,
      sentry: observabilitySentry(),
      watch: parseWatchThresholds(JSON.stringify({ openDivergences: 3 })),
      logger: createLogger({ level: "silent" }),
    });
    const app = createOpsApp(ops);
    const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
    const evaluate = async () => {
      const response = await fetch(
        `http://127.0.0.1:${server.addr.port}/admin/rollouts/evaluate`,
        { method: "POST", headers: { authorization: `Bearer ${SERVICE_KEY}` } },
      );
      assert.equal(response.status, 200);
      return (await response.json()).data as {
        results: unknown[];
        watch: { raised: string[]; checks: { kind: string; firing: boolean }[] };
      };
    };
    try {
      const now = new Date();
      const windowStart = minutesAgo(now, 30);
      // Baseline: 96 signups over the 24 h before the window (2 expected per 30 min); none since.
      await spread(db, "signup", 96, minutesAgo(now, 30 + 24 * 60), windowStart);
      // Logins: 5 % failing in the baseline, 60 % of 40 attempts in the window.
      await spread(db, "login", 95, minutesAgo(now, 600), windowStart);
      await spread(db, "login", 5, minutesAgo(now, 600), windowStart, 400);
      await spread(db, "login", 16, minutesAgo(now, 20), now);
      await spread(db, "login", 24, minutesAgo(now, 20), now, 400);
      // Divergences: 3 open, all new.
      await db.query(
        `INSERT INTO auth_divergences (user_id, email, kind, operation, reason)
         SELECT gen_random_uuid(), 'd' || g || '@example.com', 'data_mismatch', 'validation',
                'synthetic' FROM generate_series(1, 3) AS g`,
      );
      await db.query(
        `INSERT INTO auth_divergences (user_id, email, kind, operation, reason, created_at)
         SELECT gen_random_uuid(), 'n' || g || '@example.com', 'data_mismatch', 'validation',
                'synthetic', now() - interval '5 minutes' FROM generate_series(1, 2) AS g`,
      );
      // An unapplied outbox row captured 10 minutes ago (the sync applier is behind).
      await db.query(
        `INSERT INTO identity_change_outbox (direction, user_id, entity, op, captured_at)
         VALUES ('to_better_auth', gen_random_uuid(), 'user', 'update', $1::timestamptz)`,
        [minutesAgo(now, 10).toISOString()],
      );
      // migrate-batch: 3 of 6 calls failed; coordinator's abstracted path slow.
      await spread(db, "migrate-batch", 3, minutesAgo(now, 25), now);
      await spread(db, "migrate-batch", 3, minutesAgo(now, 25), now, 500);
      await simulateTraffic(db, "coordinator", {
        path: "abstracted",
        count: 25,
        at: minutesAgo(now, 1),
        durationMs: 2500,
      });

      const first = await evaluate();
      assert.deepEqual(first.results, [], "no rollout is running");
      assert.deepEqual(first.watch.raised.toSorted(), [
        "watch_batch_errors:migrate-batch",
        "watch_divergences_growing",
        "watch_login_failures:login",
        "watch_no_signups:signup",
        "watch_open_divergences",
        "watch_outbox_lag",
        "watch_p95_abstracted:coordinator",
      ]);
      await webhook.waitFor(7);
      // The route's clock runs a little behind this test's `now` on a loaded machine: 600 s+.
      const texts = webhook.bodies.map((body) => String(body.text));
      assert.ok(texts.some((text) => /CRITICAL.*No successful signups in 30 min/.test(text)));
      assert.ok(texts.some((text) => /Identity change outbox 6\d\d s behind/.test(text)));
      assert.ok(messages().some((message) => message.startsWith("No successful signups")));
      assert.equal(messages().length, 7, "one Sentry issue per alert");

      const second = await evaluate();
      assert.deepEqual(second.watch.raised, [], "still firing, not raised again");
      assert.ok(second.watch.checks.some((c) => c.kind === "watch_no_signups" && c.firing));
      assert.equal(webhook.bodies.length, 7);

      // Signups come back at a quarter of the baseline's rate: a drop, not an outage.
      await db.query(`DELETE FROM performance_metrics WHERE function_name = 'signup'`);
      await spread(db, "signup", 960, minutesAgo(now, 30 + 24 * 60), windowStart);
      await spread(db, "signup", 5, minutesAgo(now, 20), now);
      const third = await evaluate();
      assert.deepEqual(third.watch.raised, ["watch_signup_drop:signup"]);
    } finally {
      await server.shutdown();
      await ops.drain();
      await sentry.release();
      await webhook.close();
      await db.close();
    }
  });
}
