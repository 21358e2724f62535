/**
 * Errors are errors, per function, over real HTTP on both databases: a database fault (a table the
 * code needs is gone) is a 5xx in the project's JSON shape with no SQLSTATE or table name in the
 * body, logged once, and captured in Sentry exactly once with the failing request's own scope —
 * its tags, and none of the breadcrumbs of the request served just before it.
 *
 * Sentry runs for real with a capturing transport; log lines become breadcrumbs the way the SDK's
 * console integration turns console output into breadcrumbs.
 */
import assert from "node:assert/strict";
import * as Sentry from "@sentry/deno";
import { loadConfig } from "../../../shared/config/env.ts";
import { createAppContainer } from "../../../shared/di/app-container.ts";
import { buildFunctionApp, type FunctionName } from "../../../shared/functions/registry.ts";
import { signHs256 } from "../../../shared/auth/jwt.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { registerObservability } from "../../../shared/observability/register.ts";
import type { LogRecord } from "../../../shared/observability/logger.ts";
import { sqlProviders } from "../../helpers/db.ts";
import { capturingTransport, closedPortDsn, eventsOf } from "../../helpers/sentry-capture.ts";

const SERVICE_KEY = "sb_secret_fault_test_service_role_key_0123456789";
const JWT_SECRET = "fault-test-project-jwt-secret-0123456789abcdef";

function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

interface CapturedEvent {
  tags?: Record<string, string>;
  message?: string;
  exception?: { values: { type: string; value: string }[] };
  breadcrumbs?: { category?: string; message?: string }[];
}

interface Fault {
  readonly fn: FunctionName;
  /** SQL that breaks the function's database, and SQL that repairs it. */
  readonly breakSql: string;
  readonly repairSql: string;
  readonly request: (base: string, token: string) => Request;
  /** Names the body must not show (the table, its SQLSTATE). */
  readonly internals: readonly string[];
}

const json = (body: unknown) => JSON.stringify(body);

const FAULTS: readonly Fault[] = [
  {
    fn: "signup",
    breakSql: `ALTER TABLE "user" RENAME TO user_gone`,
    repairSql: `ALTER TABLE user_gone RENAME TO "user"`,
    request: (base) =>
      new Request(`${base}/signup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: json({ email: "fault.signup@example.com", password: "Correct-Horse-42" }),
      }),
    internals: ["42P01", "user_gone"],
  },
  {
    fn: "login",
    breakSql: `ALTER TABLE "user" RENAME TO user_gone`,
    repairSql: `ALTER TABLE user_gone RENAME TO "user"`,
    request: (base) =>
      new Request(`${base}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: json({ email: "fault.login@example.com", password: "Correct-Horse-42" }),
      }),
    internals: ["42P01", "user_gone"],
  },
  {
    fn: "coordinator",
    breakSql: `ALTER TABLE agents RENAME TO agents_gone`,
    repairSql: `ALTER TABLE agents_gone RENAME TO agents`,
    request: (base, token) =>
      new Request(`${base}/coordinator/agents`, { headers: { authorization: `Bearer ${token}` } }),
    internals: ["42P01", "agents", "validation_failed"],
  },
  {
    fn: "migrate-batch",
    breakSql: `ALTER TABLE migration_states RENAME TO migration_states_gone`,
    repairSql: `ALTER TABLE migration_states_gone RENAME TO migration_states`,
    request: (base) =>
      new Request(`${base}/migrate-batch/status`, {
        headers: { authorization: `Bearer ${SERVICE_KEY}` },
      }),
    internals: ["42P01", "migration_states"],
  },
];

async function userToken(): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return await signHs256({
    sub: crypto.randomUUID(),
    role: "authenticated",
    aud: "authenticated",
    iat: now,
    exp: now + 600,
  }, JWT_SECRET);
}

for (const provider of sqlProviders()) {
  Deno.test(`a database fault is a reported 5xx in every function, on ${provider.name}`, async (t) => {
    const db: SqlClient = await provider.open();
    const { transport, envelopes } = capturingTransport();
    const events = () => eventsOf<CapturedEvent>(envelopes);
    const logs: LogRecord[] = [];
    const config = loadConfig({
      SUPABASE_URL: `http://127.0.0.1:${closedPort()}`,
      SUPABASE_ANON_KEY: "anon-key-for-fault-tests",
      SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
      PROJECT_JWT_SECRET: JWT_SECRET,
      BETTER_AUTH_SECRET: "fault-test-better-auth-secret-0123456789abcdef",
      MIGRATION_MODE: "better_auth_only",
      MIGRATION_ROLLOUT_PERCENTAGE: "100",
      MIGRATION_ENABLE_FALLBACK: "false",
      FLAGS_CACHE_TTL_MS: "0",
      LOG_LEVEL: "info",
    });
    const container = createAppContainer(config, { sql: db });
    registerObservability(container, {
      // As Sentry's console integration does with console output: every log line a breadcrumb.
      logSink: (record, line) => {
        logs.push(record);
        Sentry.addBreadcrumb({ category: "console", message: line, level: "info" });
      },
      sentry: { dsn: closedPortDsn(), transport },
    });
    const token = await userToken();
    try {
      for (const fault of FAULTS) {
        await t.step(
          `${fault.fn}: 5xx, JSON shape, no internals, one event in its own scope`,
          async () => {
            const app = await buildFunctionApp(fault.fn, container);
            const server = Deno.serve(
              { port: 0, hostname: "127.0.0.1", onListen: () => {} },
              app.fetch,
            );
            const base = `http://127.0.0.1:${server.addr.port}`;
            try {
              const otherId = `other-${fault.fn}-${crypto.randomUUID()}`;
              const faultId = `fault-${fault.fn}-${crypto.randomUUID()}`;
              // A request served just before, in the same worker: its breadcrumbs must stay its own.
              const before = await fetch(`${base}/${fault.fn}/health`, {
                headers: { "x-request-id": otherId },
              });
              assert.equal(before.status, 200);
              await before.body?.cancel();

              await db.exec(fault.breakSql);
              let response: Response;
              try {
                const request = fault.request(base, token);
                request.headers.set("x-request-id", faultId);
                response = await fetch(request);
              } finally {
                await db.exec(fault.repairSql);
              }
              const text = await response.text();
              assert.ok(response.status >= 500, `${fault.fn} answered ${response.status}: ${text}`);
              const body = JSON.parse(text);
              assert.equal(typeof body.error?.code, "string", text);
              assert.equal(typeof body.error?.message, "string", text);
              for (const internal of fault.internals) {
                assert.ok(!text.includes(internal), `the body names ${internal}: ${text}`);
              }
              assert.equal(response.headers.get("x-request-id"), faultId);

              const failed = logs.filter((r) => r.level === "error" && r.request_id === faultId);
              assert.equal(failed.length, 1, `one error line: ${JSON.stringify(failed)}`);

              const mine = events().filter((event) => event.tags?.request_id === faultId);
              assert.equal(mine.length, 1, "captured exactly once");
              const event = mine[0]!;
              assert.equal(event.tags?.function, fault.fn);
              assert.equal(event.tags?.mode, "better_auth_only");
              assert.equal(event.tags?.path, new URL(fault.request(base, token).url).pathname);
              assert.equal(event.tags?.error_code, body.error.code);
              const crumbs = (event.breadcrumbs ?? []).map((crumb) => crumb.message ?? "");
              assert.ok(crumbs.some((crumb) => crumb.includes(faultId)), "its own log line");
              assert.ok(
                crumbs.every((crumb) => !crumb.includes(otherId)),
                `another request's breadcrumbs: ${crumbs.join("\n")}`,
              );
              const ids = new Set(crumbs.flatMap((crumb) => {
                const id = /"request_id":"([^"]+)"/.exec(crumb)?.[1];
                return id ? [id] : [];
              }));
              assert.deepEqual([...ids], [faultId], "only this request's log lines");
            } finally {
              await server.shutdown();
            }
          },
        );
      }
    } finally {
      await container.dispose();
      await db.close();
    }
  });
}
