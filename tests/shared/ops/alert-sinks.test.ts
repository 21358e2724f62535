/**
 * Alert sinks against real receivers: a local HTTP server for the Slack-compatible webhook, and
 * the project's Sentry (shared/observability) with a capturing transport built by
 * Sentry.createTransport, so the envelope checked is what the SDK would send.
 */
import assert from "node:assert/strict";
import * as Sentry from "@sentry/deno";
import { closeSentry, initSentry } from "../../../shared/observability/sentry.ts";
import {
  observabilitySentry,
  sentryAlertSink,
  webhookAlertSink,
  webhookPayload,
} from "../../../shared/ops/alert-sinks.ts";
import type { Alert } from "../../../shared/ops/alerts.ts";
import { startWebhookReceiver } from "./helpers.ts";

const ALERT: Alert = {
  id: 7,
  kind: "rollout_aborted",
  severity: "critical",
  functionName: "login",
  title: "Rollout of login aborted at 25 % and set to 0 %: abstracted error rate 31.0 % > 20.0 %",
  details: {
    percentage: 25,
    step: "4/7",
    reason: "health check failed 3 time(s) in a row",
    figures: {
      abstracted: { requests: 100, errorRate: 0.31, p95Ms: 420.5 },
      comparisons: { mismatchRate: 0.02 },
    },
  },
  createdAt: new Date("2026-11-23T10:00:00Z"),
};

Deno.test("webhookPayload is a Slack message with the figures as fields", () => {
  const payload = webhookPayload(ALERT);
  assert.equal(payload.text, `[CRITICAL] ${ALERT.title}`);
  const attachment = payload.attachments[0]!;
  assert.equal(attachment.color, "danger");
  assert.equal(attachment.ts, Date.parse("2026-11-23T10:00:00Z") / 1000);
  const fields = Object.fromEntries(
    (attachment.fields as Array<{ title: string; value: string }>).map((f) => [f.title, f.value]),
  );
  assert.deepEqual(fields, {
    "Function": "login",
    "Rollout": "25 %",
    "Step": "4/7",
    "Abstracted requests": "100",
    "Error rate": "31.0 %",
    "p95": "420.5 ms",
    "Mismatch rate": "2.0 %",
    "Reason": "health check failed 3 time(s) in a row",
  });
});

Deno.test("webhookAlertSink posts to a real server and reports failures without the URL", async (t) => {
  const receiver = startWebhookReceiver();
  try {
    await t.step("delivered", async () => {
      await webhookAlertSink(receiver.url).send(ALERT);
      assert.equal(receiver.bodies.length, 1);
      assert.deepEqual(receiver.bodies[0], JSON.parse(JSON.stringify(webhookPayload(ALERT))));
    });
    await t.step("a 5xx answer is a failure (to be retried)", async () => {
      receiver.failNext(1, 502);
      await assert.rejects(webhookAlertSink(receiver.url).send(ALERT), /webhook answered 502/);
    });
    await t.step("an unreachable endpoint fails without quoting the secret URL", async () => {
      const secretUrl = "http://127.0.0.1:1/services/T0/B0/very-secret-token";
      const error = await webhookAlertSink(secretUrl).send(ALERT).catch((e) => e as Error);
      assert.ok(error instanceof Error);
      assert.match(error.message, /^webhook request failed \(\w+\)$/);
      assert.ok(!error.message.includes("very-secret-token"));
    });
    await t.step("a hanging endpoint times out", async () => {
      const hanging = Deno.serve(
        { port: 0, hostname: "127.0.0.1", onListen() {} },
        () => new Promise<Response>((resolve) => setTimeout(() => resolve(new Response()), 400)),
      );
      try {
        await assert.rejects(
          webhookAlertSink(`http://127.0.0.1:${hanging.addr.port}/`, { timeoutMs: 100 }).send(
            ALERT,
          ),
          /webhook request failed \((TimeoutError|AbortError)\)/,
        );
      } finally {
        await hanging.shutdown();
      }
    });
    await t.step("a malformed or non-http URL is refused when wiring", () => {
      assert.throws(() => webhookAlertSink("not a url"));
      assert.throws(() => webhookAlertSink("ftp://example.com/hook"), /must be http\(s\)/);
    });
  } finally {
    await receiver.close();
  }
});

Deno.test("sentryAlertSink sends one scrubbed, fingerprinted event through the project's Sentry", async () => {
  await assert.rejects(
    sentryAlertSink(observabilitySentry()).send(ALERT),
    /Sentry is not initialised/,
    "without initSentry the delivery fails (and is retried later)",
  );
  const envelopes: string[] = [];
  const handle = initSentry({
    dsn: "https://public@o0.ingest.sentry.io/1",
    integrations: [],
    transport: (options) =>
      Sentry.createTransport(options, (request) => {
        envelopes.push(
          typeof request.body === "string" ? request.body : new TextDecoder().decode(request.body),
        );
        return Promise.resolve({ statusCode: 200 });
      }),
  });
  try {
    await sentryAlertSink(observabilitySentry()).send({
      ...ALERT,
      details: { ...ALERT.details, apiKey: "sb_secret_abcdef0123456789" },
    });
    assert.equal(envelopes.length, 1);
    const event = JSON.parse(envelopes[0]!.split("\n")[2]!) as {
      message: string;
      level: string;
      tags: Record<string, string>;
      fingerprint: string[];
      extra: Record<string, unknown>;
    };
    assert.equal(event.message, ALERT.title);
    assert.equal(event.level, "error");
    assert.equal(event.tags.alert_kind, "rollout_aborted");
    assert.equal(event.tags.function, "login");
    assert.deepEqual(event.fingerprint, ["edge-migrator-ops", "rollout_aborted", "login"]);
    assert.equal(event.extra.alert_id, 7);
    assert.equal(event.extra.apiKey, "[redacted]");
    assert.ok(!envelopes[0]!.includes("sb_secret_abcdef"));
  } finally {
    await handle.release();
    await closeSentry();
  }
});
