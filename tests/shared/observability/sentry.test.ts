/**
 * Sentry through the real SDK: a DSN-shaped string pointing at a closed local port, and a
 * capturing transport built with Sentry.createTransport, so the envelopes asserted on are the
 * exact bytes the SDK would send.
 */
import assert from "node:assert/strict";
import * as Sentry from "@sentry/deno";
import { createFunctionApp } from "../../../shared/http/app.ts";
import { createLogger } from "../../../shared/observability/logger.ts";
import {
  addBreadcrumb,
  captureException,
  captureMessage,
  closeSentry,
  flushSentry,
  incrementCounter,
  initSentry,
  isSentryEnabled,
  recordAuthEvent,
  recordCanaryDecision,
  recordMeasurement,
  sentryConfigFromEnv,
  supabaseRuntimeTags,
  tagRequest,
  withSentryRequest,
} from "../../../shared/observability/sentry.ts";
import {
  capturingTransport,
  closedPortDsn,
  eventsOf as eventsOfEnvelopes,
  itemsOf,
  type Transport,
} from "../../helpers/sentry-capture.ts";

const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLXNpZw";
const SERVICE_KEY = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz";
const EMAIL = "alice.liddell@example.com";
const PASSWORD = "hunter2-Correct-Horse";

interface CapturedEvent {
  event_id: string;
  tags?: Record<string, string>;
  exception?: { values: { type: string; value: string }[] };
  message?: string;
  breadcrumbs?: { category?: string; message?: string; data?: Record<string, unknown> }[];
  request?: { url?: string; headers?: Record<string, string> };
  contexts?: Record<string, Record<string, unknown>>;
}

function eventsOf(envelopes: string[]): CapturedEvent[] {
  return eventsOfEnvelopes<CapturedEvent>(envelopes);
}

function loginApp() {
  return createFunctionApp("login", {
    logger: createLogger({ level: "silent" }),
    maxBodyBytes: 4096,
  });
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("without SENTRY_DSN nothing is initialised and every helper is a no-op", async () => {
  const handle = initSentry({ dsn: undefined, mode: "dual_write" });
  assert.equal(handle.enabled, false);
  assert.equal(isSentryEnabled(), false);
  assert.equal(Sentry.getClient(), undefined);
  assert.equal(captureException(new Error("x")), undefined);
  assert.equal(captureMessage("x"), undefined);
  tagRequest({ migration_path: "original" });
  addBreadcrumb({ category: "c", message: "m" });
  recordMeasurement("auth.duration", 12);
  incrementCounter("auth.events");
  recordAuthEvent({
    type: "login",
    system: "supabase",
    mode: "dual_write",
    canary: false,
    durationMs: 3,
    success: true,
  });
  recordCanaryDecision({ function: "login", canary: true });
  assert.equal(
    await withSentryRequest({ function: "login", requestId: "r" }, () => Promise.resolve(7)),
    7,
  );
  assert.equal(await flushSentry(), true);
  await handle.release();
});

Deno.test("sentryConfigFromEnv maps the environment and Supabase's region / execution id", () => {
  const config = sentryConfigFromEnv(
    {
      SENTRY_DSN: "https://k@o1.ingest.sentry.io/2",
      SENTRY_ENVIRONMENT: "production",
      SENTRY_TRACES_SAMPLE_RATE: 0.1,
      MIGRATION_MODE: "dual_write",
    },
    { tags: { function: "signup" } },
  );
  assert.equal(config.dsn, "https://k@o1.ingest.sentry.io/2");
  assert.equal(config.environment, "production");
  assert.equal(config.tracesSampleRate, 0.1);
  assert.equal(config.mode, "dual_write");
  assert.equal(config.tags?.function, "signup");
  const tags = supabaseRuntimeTags((name) =>
    ({ SB_REGION: "eu-central-1", SB_EXECUTION_ID: "e-1" })[name]
  );
  assert.deepEqual(tags, { region: "eu-central-1", execution_id: "e-1" });
});

Deno.test("events carry function, migration path and mode tags, and no password, token, key or e-mail", async () => {
  const { transport, envelopes } = capturingTransport();
  const handle = initSentry({
    dsn: closedPortDsn(),
    transport,
    mode: "dual_write",
    tags: { region: "eu-west-1", execution_id: "exec-0001" },
    scrubEmails: true,
  });
  try {
    const app = loginApp();
    app.post("/", () => {
      tagRequest({ migration_path: "abstracted" });
      addBreadcrumb({
        category: "auth",
        message: `attempt for ${EMAIL}`,
        data: { email: EMAIL, password: PASSWORD, access_token: JWT },
      });
      recordAuthEvent({
        type: "login",
        system: "better_auth",
        mode: "dual_write",
        canary: true,
        durationMs: 41.5,
        success: false,
        errorCode: "unauthorized",
      });
      recordMeasurement("login.lookup", 3, { attributes: { email: EMAIL, step: "lookup" } });
      throw new Error(
        `login failed for ${EMAIL}: password=${PASSWORD}, session ${JWT}, key ${SERVICE_KEY}`,
      );
    });
    const response = await app.fetch(
      new Request(`http://edge.test/login?access_token=query-secret-1&apikey=${SERVICE_KEY}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${JWT}`,
          apikey: SERVICE_KEY,
          cookie: "sb-access-token=cookie-secret-value",
          "content-type": "application/json",
          "x-request-id": "req-sentry-0001",
        },
        body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
      }),
    );
    assert.equal(response.status, 500);
    await response.body?.cancel();

    // Flushed before the response was returned: no extra flush needed to see the event.
    const events = eventsOf(envelopes);
    assert.equal(events.length, 1, "exactly one error event");
    const event = events[0]!;
    assert.equal(event.tags?.function, "login");
    assert.equal(event.tags?.migration_path, "abstracted");
    assert.equal(event.tags?.mode, "dual_write");
    assert.equal(event.tags?.region, "eu-west-1");
    assert.equal(event.tags?.execution_id, "exec-0001");
    assert.equal(event.tags?.request_id, "req-sentry-0001");
    assert.equal(event.tags?.auth_system, "better_auth");
    assert.equal(String(event.tags?.canary), "true");
    assert.match(event.exception!.values[0]!.value, /password=\[redacted\]/);
    assert.equal(event.request?.headers?.authorization, "[redacted]");
    assert.equal(event.request?.headers?.apikey, "[redacted]");
    assert.equal(event.request?.headers?.cookie, "[redacted]");
    assert.ok(event.breadcrumbs?.some((crumb) => crumb.category === "auth"));
    assert.deepEqual(event.contexts?.measurements?.["auth.duration"], {
      value: 41.5,
      unit: "millisecond",
    });

    const metrics = itemsOf(envelopes).filter((item) => item.type === "trace_metric");
    assert.ok(metrics.length > 0, "auth.duration and auth.events were sent as metrics");
    const metricNames = JSON.stringify(metrics);
    assert.match(metricNames, /auth\.duration/);
    assert.match(metricNames, /auth\.events/);

    const raw = envelopes.join("\n");
    for (
      const secret of [PASSWORD, JWT, SERVICE_KEY, "cookie-secret-value", "query-secret-1", EMAIL]
    ) {
      assert.ok(!raw.includes(secret), `the envelope leaks ${secret}`);
    }
  } finally {
    await handle.release();
  }
  assert.equal(isSentryEnabled(), false);
});

Deno.test("each request has its own isolation scope: no breadcrumbs or tags leak between requests", async () => {
  const { transport, envelopes } = capturingTransport();
  const handle = initSentry({ dsn: closedPortDsn(), transport });
  try {
    const app = loginApp();
    app.get("/step", async (c) => {
      const marker = c.req.query("marker")!;
      addBreadcrumb({ category: "test", message: `crumb-${marker}` });
      tagRequest({ marker });
      await delay(Number(c.req.query("wait") ?? 0));
      if (c.req.query("fail")) throw new Error(`failure-${marker}`);
      return c.json({ marker });
    });
    const get = (query: string, id: string) =>
      app.fetch(
        new Request(`http://edge.test/login/step?${query}`, { headers: { "x-request-id": id } }),
      );

    // Concurrent: B's breadcrumb is added while A is still in flight, and vice versa.
    const [a, b] = await Promise.all([
      get("marker=A&fail=1&wait=30", "req-isolation-A"),
      get("marker=B&fail=1&wait=5", "req-isolation-B"),
    ]);
    // Sequential reuse of the same worker: C succeeds (no event), D fails.
    const c = await get("marker=C", "req-isolation-C");
    const d = await get("marker=D&fail=1", "req-isolation-D");
    for (const response of [a, b, c, d]) await response.body?.cancel();

    const events = eventsOf(envelopes);
    assert.equal(events.length, 3);
    for (const marker of ["A", "B", "D"]) {
      const event = events.find((e) => e.exception?.values[0]?.value === `failure-${marker}`)!;
      assert.ok(event, `event for ${marker}`);
      const crumbs = (event.breadcrumbs ?? []).filter((crumb) => crumb.category === "test")
        .map((crumb) => crumb.message);
      assert.deepEqual(crumbs, [`crumb-${marker}`], `breadcrumbs of ${marker}`);
      assert.equal(event.tags?.marker, marker);
      assert.equal(event.tags?.request_id, `req-isolation-${marker}`);
    }
  } finally {
    await handle.release();
  }
});

Deno.test("the flush before responding is bounded: a hanging transport does not hold the response", async () => {
  const pending: Array<() => void> = [];
  const hanging: Transport = (options) =>
    Sentry.createTransport(options, () =>
      new Promise((resolve) => {
        pending.push(() => resolve({ statusCode: 200 }));
      }));
  const handle = initSentry({ dsn: closedPortDsn(), transport: hanging, flushTimeoutMs: 50 });
  try {
    const app = loginApp();
    app.get("/boom", () => {
      throw new Error("boom");
    });
    const response = await app.fetch(new Request("http://edge.test/login/boom"));
    assert.equal(response.status, 500, "answered although the event could not be delivered");
    await response.body?.cancel();
    assert.ok(pending.length > 0, "the event reached the transport");
  } finally {
    for (const release of pending) release();
    await handle.release(200);
  }
});

Deno.test("initialised once per process: later calls share the client; the last release closes it", async () => {
  const { transport } = capturingTransport();
  const first = initSentry({ dsn: closedPortDsn(), transport, mode: "supabase_only" });
  const client = Sentry.getClient();
  const second = initSentry({ dsn: closedPortDsn(), transport, mode: "better_auth_only" });
  assert.equal(Sentry.getClient(), client, "no second client");
  assert.ok(first.enabled && second.enabled);
  await first.release();
  await first.release(); // idempotent
  assert.equal(isSentryEnabled(), true, "still held by the second handle");
  await second.release();
  assert.equal(isSentryEnabled(), false);
});

Deno.test("with the real fetch transport, a dead Sentry endpoint neither throws nor hangs", async () => {
  const handle = initSentry({ dsn: closedPortDsn(), flushTimeoutMs: 1000 });
  assert.ok(handle.enabled);
  try {
    const id = withSentryRequest({ function: "login", requestId: "req-dead-0001" }, () => {
      const eventId = captureMessage("probe to a closed port", "info");
      return Promise.resolve(eventId);
    });
    assert.match(String(await id), /^[0-9a-f]{32}$/);
    assert.equal(typeof (await flushSentry(1000)), "boolean");
  } finally {
    await closeSentry(1000);
  }
});

Deno.test("SENTRY_TRACES_SAMPLE_RATE > 0: each request is an http.server transaction continuing the caller's trace", async () => {
  const { transport, envelopes } = capturingTransport();
  const handle = initSentry({ dsn: closedPortDsn(), transport, tracesSampleRate: 1 });
  try {
    const app = loginApp();
    const traceId = "0123456789abcdef0123456789abcdef";
    const response = await app.fetch(
      new Request("http://edge.test/login/health", {
        headers: { "sentry-trace": `${traceId}-0123456789abcdef-1` },
      }),
    );
    assert.equal(response.status, 200);
    await response.body?.cancel();
    const transactions = itemsOf(envelopes).filter((item) => item.type === "transaction")
      .map((item) =>
        item.payload as {
          transaction: string;
          contexts: { trace: { op: string; trace_id: string; data?: Record<string, unknown> } };
        }
      );
    assert.equal(transactions.length, 1, "one transaction, sent before the response");
    const [transaction] = transactions;
    assert.equal(transaction!.transaction, "GET /login/health");
    assert.equal(transaction!.contexts.trace.op, "http.server");
    assert.equal(transaction!.contexts.trace.trace_id, traceId);
    assert.equal(transaction!.contexts.trace.data?.["http.response.status_code"], 200);
  } finally {
    await handle.release();
  }
});
