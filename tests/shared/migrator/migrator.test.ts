import assert from "node:assert/strict";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { defaultRoutingConfig, staticRoutingSource } from "../../../shared/flags/resolve.ts";
import type { RoutingConfig } from "../../../shared/flags/types.ts";
import { BackgroundTasks } from "../../../shared/migrator/background.ts";
import { SqlComparisonSink } from "../../../shared/migrator/comparison-store.ts";
import { SqlMetricsWriter } from "../../../shared/migrator/metrics-writer.ts";
import {
  EdgeFunctionMigrator,
  type EdgeFunctionMigratorOptions,
} from "../../../shared/migrator/migrator.ts";
import type {
  Handler,
  HandlerContext,
  MigratorLogger,
  OperationPolicy,
} from "../../../shared/migrator/types.ts";
import { sqlProviders } from "../../helpers/db.ts";

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const READ: OperationPolicy = { name: "profile.read", safety: "read_only", shadow: "live" };
const WRITE: OperationPolicy = { name: "signup", safety: "write", shadow: "plan" };

/** Both implementations write through the gate into a real table, like real handlers would. */
async function recordWrite(db: SqlClient, ctx: HandlerContext, impl: string): Promise<boolean> {
  if (ctx.mode === "plan" || !ctx.claimCommit()) return false;
  await db.query("INSERT INTO migrator_test_writes (request_id, impl) VALUES ($1, $2)", [
    ctx.requestId,
    impl,
  ]);
  return true;
}

async function writesFor(db: SqlClient, requestId: string): Promise<string[]> {
  const { rows } = await db.query<{ impl: string }>(
    "SELECT impl FROM migrator_test_writes WHERE request_id = $1 ORDER BY id",
    [requestId],
  );
  return rows.map((row) => row.impl);
}

interface MetricRow {
  function_name: string;
  operation: string;
  path: string;
  status: number;
  success: boolean;
  fallback: boolean;
  mismatch: boolean | null;
  canary: boolean;
  error_message: string | null;
  metadata: Record<string, unknown>;
  duration_ms: number;
}

async function metricFor(db: SqlClient, requestId: string): Promise<MetricRow> {
  const { rows } = await db.query<MetricRow>(
    "SELECT * FROM performance_metrics WHERE request_id = $1",
    [requestId],
  );
  assert.equal(rows.length, 1, `one metric row for ${requestId}`);
  return rows[0]!;
}

const post = (requestId: string, body: unknown, path = "/signup") =>
  new Request(`http://localhost${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": requestId },
    body: JSON.stringify(body),
  });

for (const provider of sqlProviders()) {
  Deno.test(`EdgeFunctionMigrator on ${provider.name}`, async (t) => {
    const db = await provider.open();
    await db.exec(
      "CREATE TABLE migrator_test_writes (id serial PRIMARY KEY, request_id text, impl text)",
    );
    const background = new BackgroundTasks();
    const metrics = new SqlMetricsWriter(db, { background, flushIntervalMs: 50 });
    const logs: Array<{ message: string; fields?: Record<string, unknown> }> = [];
    const logger: MigratorLogger = {
      warn: (message, fields) => logs.push({ message, fields }),
      error: (message, fields) => logs.push({ message, fields }),
    };

    function migrator(
      original: Handler,
      abstracted: Handler,
      config: Partial<RoutingConfig>,
      operation: OperationPolicy = WRITE,
      extra: Partial<EdgeFunctionMigratorOptions> = {},
    ) {
      return new EdgeFunctionMigrator({
        policy: {
          functionName: "signup",
          classify: () => operation,
          volatilePaths: ["user.id"],
        },
        original,
        abstracted,
        routing: staticRoutingSource(defaultRoutingConfig({ fallbackTimeoutMs: 50, ...config })),
        metrics,
        comparisons: new SqlComparisonSink(db),
        background,
        logger,
        ...extra,
      });
    }

    const originalOk: Handler = async (req, ctx) => {
      await recordWrite(db, ctx, "original");
      return Response.json({ served: "original", body: await req.json() }, { status: 201 });
    };

    try {
      await t.step("headers: valid x-request-id honoured, invalid replaced", async () => {
        const m = migrator(originalOk, originalOk, { rolloutPercentage: 0 });
        const kept = await m.handle(post("req-headers-0001", { email: "a@x.io" }));
        assert.equal(kept.headers.get("x-request-id"), "req-headers-0001");
        assert.equal(kept.headers.get("x-migration-path"), "original");
        assert.deepEqual(await kept.json(), { served: "original", body: { email: "a@x.io" } });
        const replaced = await m.handle(post("bad id with spaces", { email: "a@x.io" }));
        assert.match(replaced.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);
        await replaced.body?.cancel();
      });

      await t.step("immutable response headers are handled (copied)", async () => {
        const immutable: Handler = () => Promise.resolve(Response.redirect("http://x/y", 302));
        const res = await migrator(immutable, immutable, {}).handle(post("req-redirect-01", {}));
        assert.equal(res.status, 302);
        assert.equal(res.headers.get("x-migration-path"), "original");
      });

      await t.step("fallback on throw: the original serves; recorded", async () => {
        const m = migrator(originalOk, () => {
          throw new Error(
            "db said password=hunter2 Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
          );
        }, { rolloutPercentage: 100 });
        const res = await m.handle(post("req-fallback-throw", { email: "a@x.io" }));
        assert.equal(res.status, 201);
        assert.equal(res.headers.get("x-migration-path"), "original");
        assert.deepEqual(await writesFor(db, "req-fallback-throw"), ["original"]);
        await m.flush();
        const metric = await metricFor(db, "req-fallback-throw");
        assert.equal(metric.path, "original");
        assert.equal(metric.fallback, true);
        assert.equal(metric.success, true);
        assert.match(metric.error_message!, /abstracted threw Error/);
        assert.doesNotMatch(
          metric.error_message!,
          /eyJhbGci|hunter2/,
          "secrets redacted in metrics",
        );
      });

      await t.step("fallback on 5xx", async () => {
        const m = migrator(
          originalOk,
          () => Promise.resolve(Response.json({ error: "x" }, { status: 503 })),
          { rolloutPercentage: 100 },
          READ,
        );
        const res = await m.handle(post("req-fallback-5xx", { email: "a@x.io" }));
        assert.equal(res.status, 201);
        assert.equal(res.headers.get("x-migration-path"), "original");
        await res.body?.cancel();
        await m.flush();
        const metric = await metricFor(db, "req-fallback-5xx");
        assert.equal(metric.fallback, true);
        assert.equal(metric.error_message, "abstracted responded 503");
      });

      await t.step("fallback on timeout: signal aborted, original serves", async () => {
        let aborted = false;
        const hang: Handler = (_req, ctx) =>
          new Promise((_resolve, reject) => {
            ctx.signal.addEventListener("abort", () => {
              aborted = true;
              reject(ctx.signal.reason);
            });
          });
        const m = migrator(originalOk, hang, { rolloutPercentage: 100 }, READ);
        const res = await m.handle(post("req-fallback-timeout", { email: "a@x.io" }));
        assert.equal(res.headers.get("x-migration-path"), "original");
        assert.equal(res.status, 201);
        await res.body?.cancel();
        await m.flush();
        assert.ok(aborted);
        const metric = await metricFor(db, "req-fallback-timeout");
        assert.equal(metric.fallback, true);
        assert.match(metric.error_message!, /timed out after 50 ms/);
      });

      await t.step(
        "timeout before any commit: claimCommit() then returns false; no double write",
        async () => {
          const claimedLate = deferred<boolean>();
          const slowWriter: Handler = async (_req, ctx) => {
            await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
            // A handler that ignores the abort and tries to write anyway is stopped by the gate.
            const allowed = await recordWrite(db, ctx, "abstracted");
            claimedLate.resolve(allowed);
            return Response.json({ late: true });
          };
          const m = migrator(originalOk, slowWriter, { rolloutPercentage: 100 }, WRITE);
          const res = await m.handle(post("req-timeout-unclaimed", { email: "a@x.io" }));
          assert.equal(res.headers.get("x-migration-path"), "original");
          await res.body?.cancel();
          assert.equal(await claimedLate.promise, false);
          await m.flush();
          assert.deepEqual(await writesFor(db, "req-timeout-unclaimed"), ["original"]);
        },
      );

      await t.step("a write that claimed a commit and then threw: NO fallback", async () => {
        let originalCalls = 0;
        const original: Handler = (req, ctx) => {
          originalCalls++;
          return originalOk(req, ctx);
        };
        const m = migrator(
          original,
          async (_req, ctx) => {
            await recordWrite(db, ctx, "abstracted");
            throw new Error("failed after commit");
          },
          { rolloutPercentage: 100 },
          WRITE,
        );
        const res = await m.handle(post("req-claimed-throw", { email: "a@x.io" }));
        assert.equal(res.status, 500);
        assert.equal(res.headers.get("x-migration-path"), "abstracted");
        const body = await res.json();
        assert.equal(body.error.code, "internal_error");
        assert.equal(originalCalls, 0);
        assert.deepEqual(await writesFor(db, "req-claimed-throw"), ["abstracted"]);
        await m.flush();
        const metric = await metricFor(db, "req-claimed-throw");
        assert.equal(metric.fallback, false);
        assert.equal(metric.success, false);
        assert.equal(metric.metadata.fallback_refused, "committed");
      });

      await t.step("a write that claimed and then ran past the timeout is waited for", async () => {
        let originalCalls = 0;
        const original: Handler = (req, ctx) => {
          originalCalls++;
          return originalOk(req, ctx);
        };
        const slowAfterCommit: Handler = async (_req, ctx) => {
          await recordWrite(db, ctx, "abstracted");
          await new Promise((resolve) => setTimeout(resolve, 250)); // 5× the 50 ms timeout
          return Response.json({ served: "abstracted" }, { status: 201 });
        };
        const m = migrator(original, slowAfterCommit, { rolloutPercentage: 100 }, WRITE);
        const res = await m.handle(post("req-claimed-slow", { email: "a@x.io" }));
        assert.equal(res.headers.get("x-migration-path"), "abstracted");
        assert.deepEqual(await res.json(), { served: "abstracted" });
        assert.equal(originalCalls, 0);
        assert.deepEqual(await writesFor(db, "req-claimed-slow"), ["abstracted"]);
        await m.flush();
        const metric = await metricFor(db, "req-claimed-slow");
        assert.equal(metric.metadata.timed_out_after_commit, true);
        assert.equal(metric.fallback, false);
      });

      await t.step("an idempotent operation falls back even after a claim", async () => {
        const m = migrator(
          originalOk,
          async (_req, ctx) => {
            ctx.claimCommit();
            return await Promise.resolve(new Response("boom", { status: 500 }));
          },
          { rolloutPercentage: 100 },
          { name: "upsert", safety: "idempotent", shadow: "off" },
        );
        const res = await m.handle(post("req-idempotent", {}));
        assert.equal(res.headers.get("x-migration-path"), "original");
        await res.body?.cancel();
      });

      await t.step("fallback disabled: the abstracted answer stands", async () => {
        const m = migrator(
          originalOk,
          () => Promise.resolve(Response.json({ error: "down" }, { status: 502 })),
          { rolloutPercentage: 100, enableFallback: false },
          READ,
        );
        const res = await m.handle(post("req-no-fallback", {}));
        assert.equal(res.status, 502);
        assert.equal(res.headers.get("x-migration-path"), "abstracted");
        await res.body?.cancel();
        await m.flush();
        const metric = await metricFor(db, "req-no-fallback");
        assert.deepEqual([metric.path, metric.fallback, metric.success], [
          "abstracted",
          false,
          false,
        ]);
      });

      await t.step(
        "shadow: runs off the response path; mismatch stored with paths, secrets redacted",
        async () => {
          const shadowStarted = deferred();
          const releaseShadow = deferred();
          let shadowFinished = false;
          const original: Handler = () =>
            Promise.resolve(Response.json({
              user: { id: "sb-1", email: "a@x.io", password: "hunter2" },
              access_token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzYi0xIn0.c2lnbmF0dXJl",
              created_at: "2020-01-01",
            }));
          const abstracted: Handler = async (_req, ctx) => {
            assert.equal(ctx.mode, "live");
            shadowStarted.resolve();
            await releaseShadow.promise;
            shadowFinished = true;
            return Response.json({
              user: { id: "ba-9", email: "A@X.IO", password: "hunter2" },
              access_token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiYS05In0.c2lnbmF0dXJl",
              created_at: "2026-01-01",
            });
          };
          const m = migrator(
            original,
            abstracted,
            { rolloutPercentage: 0, enableComparison: true },
            READ,
          );
          const res = await m.handle(post("req-shadow-mismatch", { email: "a@x.io" }));
          // The client has its full answer while the shadow is still blocked.
          await shadowStarted.promise;
          assert.equal(res.headers.get("x-migration-path"), "original");
          assert.equal((await res.json()).user.id, "sb-1");
          assert.equal(shadowFinished, false);
          releaseShadow.resolve();
          await m.flush();
          assert.equal(shadowFinished, true);

          const { rows } = await db.query<Record<string, unknown>>(
            "SELECT * FROM shadow_comparisons WHERE request_id = $1",
            ["req-shadow-mismatch"],
          );
          assert.equal(rows.length, 1);
          const row = rows[0]!;
          assert.equal(row.matched, false);
          assert.equal(row.primary_path, "original");
          assert.equal(row.shadow_path, "abstracted");
          assert.deepEqual(
            row.differing_paths,
            ["user.email"],
            "user.id, tokens, created_at ignored",
          );
          const stored = JSON.stringify(row);
          assert.doesNotMatch(stored, /hunter2/);
          assert.doesNotMatch(stored, /eyJhbGci/);
          assert.match(stored, /\[redacted\]/);
          const metric = await metricFor(db, "req-shadow-mismatch");
          assert.equal(metric.mismatch, true);
        },
      );

      await t.step(
        "shadow: volatile-only differences match; matches are counted, not stored",
        async () => {
          const body = (id: string, at: string) => () =>
            Promise.resolve(Response.json({ user: { id, email: "a@x.io" }, request_id: at }));
          const m = migrator(body("1", "r1"), body("2", "r2"), {
            rolloutPercentage: 100,
            enableComparison: true,
          }, READ);
          const res = await m.handle(post("req-shadow-match", {}));
          assert.equal(res.headers.get("x-migration-path"), "abstracted");
          await res.body?.cancel();
          await m.flush();
          const { rows } = await db.query(
            "SELECT 1 FROM shadow_comparisons WHERE request_id = $1",
            ["req-shadow-match"],
          );
          assert.equal(rows.length, 0);
          assert.equal((await metricFor(db, "req-shadow-match")).mismatch, false);
        },
      );

      await t.step("shadow of a write runs in plan mode and commits nothing", async () => {
        const modes: string[] = [];
        const planAware: Handler = async (req, ctx) => {
          modes.push(ctx.mode);
          await recordWrite(db, ctx, "abstracted");
          return Response.json({
            served: ctx.mode === "plan" ? "original" : "x",
            body: await req.json(),
          }, {
            status: 201,
          });
        };
        const m = migrator(
          originalOk,
          planAware,
          { rolloutPercentage: 0, enableComparison: true },
          {
            name: "signup",
            safety: "write",
            shadow: "live", // a write asking for live is downgraded to plan
          },
        );
        const res = await m.handle(post("req-shadow-plan", { email: "p@x.io" }));
        await res.body?.cancel();
        await m.flush();
        assert.deepEqual(modes, ["plan"]);
        assert.deepEqual(await writesFor(db, "req-shadow-plan"), ["original"]);
        assert.equal((await metricFor(db, "req-shadow-plan")).mismatch, false);
      });

      await t.step(
        "shadow errors are stored; shadow off when disabled or after a fallback",
        async () => {
          let shadowCalls = 0;
          const failing: Handler = () => {
            shadowCalls++;
            throw new Error("shadow broke");
          };
          const m = migrator(
            originalOk,
            failing,
            { rolloutPercentage: 0, enableComparison: true },
            READ,
          );
          const res = await m.handle(post("req-shadow-error", { email: "a@x.io" }));
          await res.body?.cancel();
          await m.flush();
          const { rows } = await db.query<{ shadow_error: string; matched: boolean }>(
            "SELECT shadow_error, matched FROM shadow_comparisons WHERE request_id = $1",
            ["req-shadow-error"],
          );
          assert.match(rows[0]!.shadow_error, /threw Error: shadow broke/);
          assert.equal(shadowCalls, 1);

          const off = migrator(originalOk, failing, { rolloutPercentage: 0 }, READ);
          await (await off.handle(post("req-shadow-off", {}))).body?.cancel();
          const fellBack = migrator(originalOk, failing, {
            rolloutPercentage: 100,
            enableComparison: true,
          }, READ);
          await (await fellBack.handle(post("req-shadow-after-fallback", {}))).body?.cancel();
          await fellBack.flush();
          assert.equal(shadowCalls, 2, "only the fallback's abstracted attempt ran, no shadow");
        },
      );

      await t.step("a network-error response (Response.error()) also falls back", async () => {
        const m = migrator(originalOk, () => Promise.resolve(Response.error()), {
          rolloutPercentage: 100,
        }, READ);
        const res = await m.handle(post("req-network-error", {}));
        assert.equal(res.status, 201);
        assert.equal(res.headers.get("x-migration-path"), "original");
        await res.body?.cancel();
      });

      await t.step("a hung shadow is abandoned after shadowTimeoutMs and recorded", async () => {
        let abortedShadow = false;
        const hang: Handler = (_req, ctx) =>
          new Promise((_resolve, reject) =>
            ctx.signal.addEventListener("abort", () => {
              abortedShadow = true;
              reject(ctx.signal.reason);
            })
          );
        const m = migrator(
          originalOk,
          hang,
          { rolloutPercentage: 0, enableComparison: true },
          READ,
          {
            shadowTimeoutMs: 30,
          },
        );
        await (await m.handle(post("req-shadow-timeout", {}))).body?.cancel();
        await m.flush();
        assert.ok(abortedShadow);
        const { rows } = await db.query<{ shadow_error: string }>(
          "SELECT shadow_error FROM shadow_comparisons WHERE request_id = $1",
          ["req-shadow-timeout"],
        );
        assert.equal(rows[0]?.shadow_error, "timed out after 30 ms");
        assert.equal((await metricFor(db, "req-shadow-timeout")).mismatch, null);
      });

      await t.step("shadows beyond maxConcurrentShadows are skipped (load shedding)", async () => {
        const release = deferred();
        const blocked: Handler = async () => {
          await release.promise;
          return Response.json({});
        };
        const m = migrator(
          originalOk,
          blocked,
          { rolloutPercentage: 0, enableComparison: true },
          READ,
          {
            maxConcurrentShadows: 1,
          },
        );
        await (await m.handle(post("req-shed-1", {}))).body?.cancel();
        await (await m.handle(post("req-shed-2", {}))).body?.cancel();
        release.resolve();
        await m.flush();
        assert.equal((await metricFor(db, "req-shed-2")).metadata.shadow, "skipped_busy");
        assert.equal((await metricFor(db, "req-shed-1")).metadata.shadow, undefined);
      });

      await t.step("metrics rows carry function, operation, path, status, canary", async () => {
        const m = migrator(originalOk, originalOk, {
          rolloutPercentage: 0,
          canary: {
            enabled: true,
            percentage: 0,
            selection: "whitelist",
            whitelist: ["vip@x.io"],
            emailDomains: [],
          },
        });
        const res = await m.handle(post("req-metrics-canary", { email: "VIP@x.io" }));
        assert.equal(res.headers.get("x-migration-path"), "abstracted");
        await res.body?.cancel();
        await m.flush();
        const metric = await metricFor(db, "req-metrics-canary");
        assert.equal(metric.function_name, "signup");
        assert.equal(metric.operation, "signup");
        assert.equal(metric.path, "abstracted");
        assert.equal(metric.status, 201);
        assert.equal(metric.canary, true);
        assert.equal(metric.mismatch, null);
        assert.equal(metric.metadata.route, "canary_whitelist");
        assert.ok(metric.duration_ms >= 0);
      });

      await t.step(
        "handlers see ctx: requestId, path, routingKey; body readable by both",
        async () => {
          const seen: HandlerContext[] = [];
          const capture: Handler = async (req, ctx) => {
            seen.push(ctx);
            return Response.json(await req.json());
          };
          const m = migrator(
            capture,
            capture,
            { rolloutPercentage: 0, enableComparison: true },
            READ,
          );
          const res = await m.handle(
            post("req-context-0001", { email: "Ctx@X.io" }, "/signup/check"),
          );
          assert.deepEqual(await res.json(), { email: "Ctx@X.io" });
          await m.flush();
          assert.equal(seen.length, 2);
          for (const ctx of seen) {
            assert.equal(ctx.requestId, "req-context-0001");
            assert.equal(ctx.path, "/signup/check");
            assert.equal(ctx.routingKey, "ctx@x.io");
            assert.equal(ctx.canary, false);
          }
        },
      );

      await t.step("bad input: an oversized body is a 413 naming the field", async () => {
        const m = migrator(originalOk, originalOk, {}, READ, { maxBodyBytes: 16 });
        const res = await m.handle(post("req-too-large", { email: "long@example.com" }));
        assert.equal(res.status, 413);
        assert.deepEqual((await res.json()).error.details, { field: "body", maxBytes: 16 });
        assert.equal(res.headers.get("x-migration-path"), "none");
      });

      await t.step("a throwing classify() is treated as an unshadowed write", async () => {
        const m = new EdgeFunctionMigrator({
          policy: {
            functionName: "signup",
            classify: () => {
              throw new Error("policy bug");
            },
          },
          original: originalOk,
          abstracted: originalOk,
          routing: staticRoutingSource(defaultRoutingConfig()),
          metrics,
          background,
          logger,
        });
        const res = await m.handle(post("req-classify-throws", {}));
        assert.equal(res.status, 201);
        await res.body?.cancel();
        await m.flush();
        assert.equal((await metricFor(db, "req-classify-throws")).operation, "unclassified");
        assert.ok(logs.some((log) => log.message.includes("classify threw")));
      });
    } finally {
      await metrics.close();
      await background.drain();
      await db.close();
    }
  });
}
