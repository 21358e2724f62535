/**
 * The dashboard's migration stages panel in a real headless Chromium (chromium-headless-shell
 * driven by playwright-core), served over real HTTP from a real database, with the stages admin
 * API mounted where migrate-batch mounts it: the panel shows each auth function's stage, a move
 * through the form (session cookie + CSRF) changes migration_stages, a gate refusal comes back
 * in the status line with its reason, and a move back needs no gate. Skipped only when the
 * browser binary is absent.
 */
import assert from "node:assert/strict";
import { chromium, type Page } from "playwright-core";
import { Hono } from "hono";
import { loadConfig } from "../../../../shared/config/env.ts";
import { createStageService } from "../../../../shared/cutover/register.ts";
import { createStageRoutes } from "../../../../shared/cutover/stage-routes.ts";
import { readStageRow } from "../../../../shared/cutover/stage-store.ts";
import { createLogger } from "../../../../shared/observability/logger.ts";
import { createOpsApp } from "../../../../shared/ops/app.ts";
import { createOpsServices } from "../../../../shared/ops/services.ts";
import { sqlProviders } from "../../../helpers/db.ts";
import { BROWSER, browserPresent, text, waitForText } from "./browser.ts";
import { withAuthSchema } from "../../cutover/fixtures.ts";

const SERVICE_KEY = "sb_secret_stages_dashboard_key_0123456789";

async function move(page: Page, fn: string, to: string, reason: string): Promise<string> {
  await page.getByTestId(`stage-${fn}-to`).selectOption(to);
  await page.getByTestId(`stage-${fn}-reason`).fill(reason);
  await page.getByTestId(`stage-${fn}-move`).click();
  const status = page.locator("#status");
  await status.filter({ hasText: /\S/ }).waitFor();
  const said = (await status.innerText()).trim();
  // Clear it for the next move's wait.
  await page.locator("#status").evaluate((element) => (element.textContent = ""));
  return said;
}

for (const provider of sqlProviders()) {
  Deno.test({
    name: `dashboard stages panel in headless Chromium on ${provider.name}`,
    ignore: !browserPresent,
    async fn() {
      const db = await withAuthSchema(provider.open);
      const env = loadConfig({
        MIGRATION_MODE: "supabase_only",
        BETTER_AUTH_SECRET: "d".repeat(40),
      }).env;
      const ops = createOpsServices({
        sql: db,
        routingEnv: env,
        serviceRoleKeys: [SERVICE_KEY],
        logger: createLogger({ level: "silent" }),
      });
      const stages = createStageService(db, env);
      const app = new Hono();
      // As migrate-batch mounts them: the stages routes beside the ops API, same credentials.
      const stageRoutes = createStageRoutes({
        stages: () => Promise.resolve(stages),
        auth: () => Promise.resolve(ops.auth),
      }, "/migrate-batch/admin/stages");
      app.all("/migrate-batch/admin/stages/*", (c) => stageRoutes.fetch(c.req.raw));
      app.route("/migrate-batch", createOpsApp(ops, { refreshSeconds: 0 }));
      const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
      const url = `http://127.0.0.1:${server.addr.port}/migrate-batch/dashboard`;
      const browser = await chromium.launch({
        executablePath: BROWSER,
        args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
      });
      try {
        const page = await browser.newPage();
        const consoleErrors: string[] = [];
        page.on("pageerror", (error) => consoleErrors.push(error.message));
        page.on("dialog", (dialog) => dialog.accept());
        await page.goto(url);
        await page.getByLabel("Key or secret").fill(SERVICE_KEY);
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.getByRole("heading", { name: "Migration stages" }).waitFor();

        assert.equal(await text(page, "stage-signup"), "supabase_only");
        assert.equal(await text(page, "stage-login"), "supabase_only");
        assert.equal(await text(page, "stage-signup-writes"), "Supabase only");

        assert.equal(
          await move(page, "signup", "shadow", "start shadowing"),
          "Stage of signup moved.",
        );
        await waitForText(page, "stage-signup", "shadow", 8000);
        assert.equal(
          await move(page, "signup", "dual_write", "write both"),
          "Stage of signup moved.",
        );
        await waitForText(page, "stage-signup", "dual_write", 8000);
        assert.equal(await text(page, "stage-signup-writes"), "both systems, same user id");
        const row = await readStageRow(db, "signup");
        assert.equal(row?.stage, "dual_write");
        assert.equal(row?.updatedBy, "service_role");
        assert.equal(row?.reason, "write both");

        // A gate refusal: an unresolved divergence keeps signup out of better_auth_primary.
        await db.query(
          `INSERT INTO auth_divergences (user_id, email, kind, missing_side, operation, reason)
           VALUES (gen_random_uuid(), 'p@example.com', 'missing_user', 'better_auth', 'signup', 't')`,
        );
        const refused = await move(page, "signup", "better_auth_primary", "looks good");
        assert.match(
          refused,
          /^Failed: signup cannot move to better_auth_primary: 1 unresolved divergences/,
        );
        assert.equal(await text(page, "stage-signup"), "dual_write");
        assert.equal((await readStageRow(db, "signup"))?.stage, "dual_write");

        // Back to supabase_only: no gate.
        assert.equal(
          await move(page, "signup", "supabase_only", "roll back"),
          "Stage of signup moved.",
        );
        await waitForText(page, "stage-signup", "supabase_only", 8000);
        const audit = await stages.audit("signup");
        assert.deepEqual(
          audit.map((r) => `${r.from}→${r.to} ${r.outcome}`).reverse(),
          [
            "supabase_only→shadow moved",
            "shadow→dual_write moved",
            "dual_write→better_auth_primary refused",
            "dual_write→supabase_only moved",
          ],
        );
        assert.deepEqual(consoleErrors, []);
      } finally {
        await browser.close();
        await server.shutdown();
        await ops.drain();
        await db.close();
      }
    },
  });
}
