import assert from "node:assert/strict";
import * as Sentry from "@sentry/deno";
import { loadConfig } from "../../../shared/config/env.ts";
import { Container } from "../../../shared/di/container.ts";
import { ConfigToken } from "../../../shared/di/tokens.ts";
import { createMemorySink } from "../../../shared/observability/logger.ts";
import { registerObservability } from "../../../shared/observability/register.ts";
import { isSentryEnabled } from "../../../shared/observability/sentry.ts";
import { LoggerToken, SentryToken } from "../../../shared/observability/tokens.ts";

function container(env: Record<string, string>) {
  return new Container().value(ConfigToken, loadConfig(env));
}

Deno.test("the logger follows LOG_LEVEL; Sentry stays off without SENTRY_DSN", async () => {
  const logs = createMemorySink();
  const c = registerObservability(container({ LOG_LEVEL: "warn" }), { logSink: logs.sink });
  const logger = await c.get(LoggerToken);
  assert.equal(logger.level, "warn");
  logger.info("dropped");
  logger.warn("kept", { token: "t" });
  assert.deepEqual(logs.records.map((r) => [r.msg, r.token]), [["kept", "[redacted]"]]);
  assert.equal((await c.get(SentryToken)).enabled, false);
  await c.dispose();
});

Deno.test("with SENTRY_DSN the SDK starts on first resolve and the container's dispose closes it", async () => {
  const c = registerObservability(
    container({ SENTRY_DSN: "http://public@127.0.0.1:1/1", MIGRATION_MODE: "supabase_only" }),
    {
      sentry: {
        transport: (options) =>
          Sentry.createTransport(options, () => Promise.resolve({ statusCode: 200 })),
      },
    },
  );
  assert.equal(isSentryEnabled(), false, "lazy: nothing before the token is resolved");
  const sentry = await c.get(SentryToken);
  assert.equal(sentry.enabled, true);
  assert.equal(isSentryEnabled(), true);
  await c.dispose();
  assert.equal(isSentryEnabled(), false);
});
