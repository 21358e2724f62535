/**
 * The dashboard in a real headless Chromium (Debian's chromium-headless-shell driven by
 * playwright-core), served over real HTTP from a real database: sign-in, the figures match the
 * database, the rollout control changes runtime_flags and routing follows, the emergency
 * rollback control (typed confirmation + dialog) forces the original, and the page refreshes
 * itself. Skipped (ignored) only when the browser binary is absent.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { loadConfig } from "../../../../shared/config/env.ts";
import type { SqlClient } from "../../../../shared/db/sql-client.ts";
import {
  bucketOf,
  createMigrationRuntime,
  DEFAULT_ROLLOUT_SALT,
} from "../../../../shared/migrator/mod.ts";
import { createLogger } from "../../../../shared/observability/logger.ts";
import { createOpsApp } from "../../../../shared/ops/app.ts";
import { createOpsServices } from "../../../../shared/ops/services.ts";
import { Hono } from "hono";
import { sqlProviders } from "../../../helpers/db.ts";
import { BROWSER, browserPresent, text, waitForText } from "./browser.ts";
import { flagPercentage, simulateTraffic } from "../helpers.ts";
import { seedDashboard } from "./fixtures.ts";

const SERVICE_KEY = "sb_secret_dashboard_test_key_0123456789";

/** "12.5 %", "37.50 %", "120 ms", "42" → the number. */
function num(value: string): number {
  const match = /-?\d+(\.\d+)?/.exec(value);
  assert.ok(match, `no number in "${value}"`);
  return Number(match[0]);
}

interface PathFigures {
  requests: number;
  errors: number;
  successes: number;
  p50: number | null;
  p95: number | null;
}

async function figures(db: SqlClient, fn: string, path: string, now: Date): Promise<PathFigures> {
  const { rows } = await db.query<PathFigures>(
    `SELECT count(*) AS requests,
            count(*) FILTER (WHERE status >= 500 OR NOT success) AS errors,
            count(*) FILTER (WHERE success) AS successes,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95
       FROM performance_metrics
      WHERE function_name = $1 AND path = $2
        AND recorded_at > $3::timestamptz - interval '60 minutes' AND recorded_at <= $3::timestamptz`,
    [fn, path, now.toISOString()],
  );
  return rows[0]!;
}

async function scalar(db: SqlClient, sql: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(sql);
  return Number(rows[0]!.n);
}

for (const provider of sqlProviders()) {
  Deno.test({
    name: `dashboard in headless Chromium on ${provider.name}`,
    ignore: !browserPresent,
    async fn() {
      const db = await provider.open();
      const now = new Date();
      await seedDashboard(db, now);
      const env = loadConfig({}).env;
      const ops = createOpsServices({
        sql: db,
        routingEnv: env,
        serviceRoleKeys: [SERVICE_KEY],
        logger: createLogger({ level: "silent" }),
      });
      assert.ok(
        (await ops.controller.start("signup", { steps: [5, 50, 100] }, { by: "test" })).ok,
      );
      const app = new Hono();
      // The metrics window ends at the seed's `now`, so the figures are stable while we look.
      app.route(
        "/migrate-batch",
        createOpsApp(ops, { refreshSeconds: 1, now: () => new Date(now.getTime() + 1) }),
      );
      const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
      const url = `http://127.0.0.1:${server.addr.port}/migrate-batch/dashboard`;
      const browser = await chromium.launch({
        executablePath: BROWSER,
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
        ],
      });
      // A real function instance of "login" on the same database (flags cache TTL 0).
      const runtime = createMigrationRuntime({
        sql: db,
        env: loadConfig({ FLAGS_CACHE_TTL_MS: "0" }).env,
        logger: { warn() {}, error() {} },
      });
      const login = runtime.migrator({
        policy: {
          functionName: "login",
          classify: () => ({ name: "login", safety: "read_only", shadow: "off" }),
        },
        original: () => Promise.resolve(Response.json({ impl: "original" })),
        abstracted: () => Promise.resolve(Response.json({ impl: "abstracted" })),
      });
      // A user outside the 25 % cohort but inside 75 %.
      const USER = "dashboard-user-9@example.com";
      const bucket = bucketOf(USER, DEFAULT_ROLLOUT_SALT);
      assert.ok(bucket >= 2500 && bucket < 7500, `bucket ${bucket}`);
      const servedPath = async () =>
        (await login.fetch(
          new Request("http://localhost/login", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ email: USER }),
          }),
        )).headers.get("x-migration-path");
      try {
        const page = await browser.newPage();
        const consoleErrors: string[] = [];
        page.on("console", (msg) => {
          if (msg.type() === "error") consoleErrors.push(msg.text());
        });
        page.on("pageerror", (error) => consoleErrors.push(error.message));
        page.on("dialog", (dialog) => dialog.accept());

        // Without a credential: the sign-in form, and a wrong secret is refused.
        const first = await page.goto(url);
        assert.equal(first!.status(), 401);
        await page.getByLabel("Key or secret").fill("wrong-secret-value-0000");
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.getByRole("alert").waitFor();
        assert.match(await page.getByRole("alert").innerText(), /not accepted/);
        await page.getByLabel("Key or secret").fill(SERVICE_KEY);
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.getByRole("heading", { name: "Migration progress" }).waitFor();
        assert.equal(new URL(page.url()).pathname, "/migrate-batch/dashboard");
        // The two 401 sign-in documents log "Failed to load resource"; only later errors count.
        consoleErrors.length = 0;

        // Migration progress equals the database.
        assert.equal(num(await text(page, "progress-total")), 12);
        assert.equal(
          num(await text(page, "progress-total")),
          await scalar(db, "SELECT count(*) AS n FROM auth.users"),
        );
        assert.equal(num(await text(page, "progress-better-auth")), 7);
        // Migrated by any path: in both user tables under the same id.
        assert.equal(
          num(await text(page, "progress-fully")),
          await scalar(
            db,
            `SELECT count(*) AS n FROM auth.users u JOIN "user" b ON b.id = u.id`,
          ),
        );
        assert.equal(num(await text(page, "progress-validated")), 5);
        assert.equal(
          num(await text(page, "progress-completion")),
          Number((7 / 12 * 100).toFixed(1)),
        );
        assert.equal(num(await text(page, "progress-divergences-open")), 2);
        assert.equal(await page.getByTestId("divergence-row").count(), 3);
        assert.equal(
          num(await text(page, "progress-auth-users")),
          await scalar(db, "SELECT count(*) AS n FROM auth.users"),
        );
        assert.equal(
          num(await text(page, "progress-better-auth-users")),
          await scalar(db, 'SELECT count(*) AS n FROM "user"'),
        );
        assert.equal(num(await text(page, "progress-via-batch")), 4);
        assert.equal(num(await text(page, "progress-via-lazy")), 3);

        // Per function and path: requests, rates and latency equal SQL over the same window.
        for (const path of ["original", "abstracted"] as const) {
          const expected = await figures(db, "login", path, now);
          const id = `fn-login-${path}`;
          assert.equal(
            num(await text(page, `${id}-requests`)),
            expected.requests,
            `${path} requests`,
          );
          assert.equal(
            num(await text(page, `${id}-error-rate`)),
            Number((expected.errors / expected.requests * 100).toFixed(1)),
          );
          assert.equal(
            num(await text(page, `${id}-success-rate`)),
            Number((expected.successes / expected.requests * 100).toFixed(1)),
          );
          assert.equal(num(await text(page, `${id}-p95`)), Math.round(expected.p95! * 100) / 100);
          assert.equal(num(await text(page, `${id}-p50`)), Math.round(expected.p50! * 100) / 100);
        }
        assert.equal(num(await text(page, "fn-login-original-fallbacks")), 2);
        const original = (await figures(db, "login", "original", now)).requests;
        const abstracted = (await figures(db, "login", "abstracted", now)).requests;
        assert.equal(
          num(await text(page, "fn-login-split-abstracted")),
          Number((abstracted / (original + abstracted) * 100).toFixed(1)),
        );
        assert.equal(num(await text(page, "fn-login-rollout")), 25);
        assert.equal(num(await text(page, "fn-signup-rollout")), 5);
        assert.equal(await text(page, "fn-signup-status"), "running");
        assert.match(
          await text(page, "fn-login-canary"),
          /on · email_domain · staff\.example\.com/,
        );
        assert.equal(await page.getByTestId("mismatch-row").count(), 2);
        assert.match(
          await page.getByTestId("mismatch-row").first().innerText(),
          /session\.expires_in|status/,
        );
        const errorRows = await page.getByTestId("error-row").allInnerTexts();
        assert.equal(errorRows.length, 2);
        assert.ok(!errorRows.join().includes("hunter2"), "secrets are redacted");
        assert.ok(await page.locator("svg.spark").count() >= 8, "charts are drawn");

        // The rollout control changes the flag; routing follows.
        assert.equal(await servedPath(), "original", "this user is outside the 25 % cohort");
        await page.getByTestId("fn-login-percentage-input").fill("100");
        await page.getByTestId("fn-login-percentage-submit").click();
        await page.getByRole("status").filter({ hasText: "updated" }).waitFor();
        assert.equal(await flagPercentage(db, "login"), 100);
        assert.equal(await servedPath(), "abstracted");
        await waitForText(page, "fn-login-rollout", "100.00 %");

        // A planned rollback from the page (confirm dialog accepted).
        await page.locator("article", { hasText: "login" }).getByRole("button", {
          name: "Planned rollback",
        }).click();
        await page.getByRole("status").filter({ hasText: "Planned rollback of login" }).waitFor();
        assert.equal(await flagPercentage(db, "login"), 75);

        // A divergence resolved from its panel, with a note; the counts follow.
        const mismatchId = await scalar(
          db,
          "SELECT id AS n FROM auth_divergences WHERE kind = 'data_mismatch'",
        );
        await page.getByTestId(`divergence-${mismatchId}-note`).fill("names fixed by hand");
        await page.getByTestId(`divergence-${mismatchId}-resolve`).click();
        await page.getByRole("status").filter({ hasText: `Divergence ${mismatchId} resolved` })
          .waitFor();
        assert.equal(
          await scalar(
            db,
            `SELECT count(*) AS n FROM auth_divergences
              WHERE id = ${mismatchId} AND status = 'resolved'
                AND details->'resolution'->>'note' = 'names fixed by hand'`,
          ),
          1,
        );
        await waitForText(page, "divergences-resolved", "1");

        // Canary levers from the function's panel.
        await page.getByTestId("fn-signup-canary-input").fill("10");
        await page.getByTestId("fn-signup-canary-on").click();
        await page.getByRole("status").filter({ hasText: "Canary of signup updated" }).waitFor();
        const canaryRow = await db.query<{ enabled: boolean; pct: number }>(
          `SELECT canary_enabled AS enabled, canary_percentage AS pct FROM runtime_flags
            WHERE function_name = 'signup'`,
        );
        assert.deepEqual(
          { enabled: canaryRow.rows[0]!.enabled, pct: Number(canaryRow.rows[0]!.pct) },
          { enabled: true, pct: 10 },
        );
        await page.getByTestId("fn-signup-canary-off").click();
        await page.getByRole("status").filter({ hasText: "Canary of signup turned off" })
          .waitFor();
        assert.equal(
          await scalar(
            db,
            `SELECT count(*) AS n FROM runtime_flags
              WHERE function_name = 'signup' AND canary_enabled = false`,
          ),
          1,
        );

        // Batch levers: pause from the page, then a throttle.
        assert.equal(await text(page, "batch-hold"), "may run");
        await page.getByTestId("batch-pause").click();
        await page.getByRole("status").filter({ hasText: "Batch paused" }).waitFor();
        await waitForText(page, "batch-hold", "held (paused)");
        assert.equal(await scalar(db, "SELECT count(*) AS n FROM batch_controls WHERE paused"), 1);
        await page.getByTestId("batch-rate-input").fill("250");
        await page.getByTestId("batch-rate-submit").click();
        await page.getByRole("status").filter({ hasText: "Batch throttle updated" }).waitFor();
        await waitForText(page, "batch-throttle", "250 users/s");

        // Emergency rollback: the typed confirmation is required by the server too.
        await page.getByLabel("Reason").fill("browser drill");
        await page.getByLabel(/Type ROLLBACK to confirm/).fill("ROLLBACK");
        await page.getByRole("button", { name: "Emergency rollback (all functions)" }).click();
        await page.getByTestId("kill-switch").filter({ hasText: "ENGAGED" }).waitFor();
        assert.equal(await servedPath(), "original", "the kill switch wins over 75 %");

        // Auto-refresh: new traffic appears without a reload.
        const before = num(await text(page, "fn-signup-original-requests"));
        await simulateTraffic(db, "signup", { path: "original", count: 7, at: now });
        await waitForText(page, "fn-signup-original-requests", String(before + 7));

        assert.deepEqual(consoleErrors, [], "no script or CSP errors in the page");
      } finally {
        await browser.close();
        await server.shutdown();
        await runtime.close();
        await ops.drain();
        await db.close();
      }
    },
  });
}
