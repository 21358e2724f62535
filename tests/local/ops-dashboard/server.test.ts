/**
 * `deno task ops dashboard` for a hosted project: the project's migrate-batch (served by the dev
 * stack) sits behind a stand-in of Supabase's edge gateway that relabels GET text/html responses
 * as text/plain, as hosted projects without a custom domain do (docs: functions/limits). Through
 * the local server, headless Chromium renders the dashboard and its rollout control changes the
 * project's flags; the key never reaches the browser, and other sites cannot drive it.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { startDevServer } from "../../../local/standin/dev-server.ts";
import { startDashboardProxy } from "../../../local/ops-dashboard/server.ts";
import { runDashboardCommand } from "../../../local/ops-dashboard/cli.ts";
import { flagPercentage } from "../../shared/ops/helpers.ts";
import { BROWSER, browserPresent } from "../../shared/ops/dashboard/browser.ts";

/** Supabase's gateway without a custom domain: GET text/html is served as text/plain. */
function hostedGateway(upstream: string): { url: string; close(): Promise<void> } {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    const forwarded = new Request(`${upstream}${url.pathname}${url.search}`, request);
    const response = await fetch(forwarded, { redirect: "manual" });
    const headers = new Headers(response.headers);
    if (request.method === "GET" && /^text\/html/i.test(headers.get("content-type") ?? "")) {
      headers.set("content-type", "text/plain; charset=utf-8");
    }
    headers.delete("content-encoding");
    headers.delete("content-length");
    return new Response(response.body, { status: response.status, headers });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

Deno.test({
  name: "ops dashboard: a hosted project's dashboard renders and operates in headless Chromium",
  ignore: !browserPresent,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dev = await startDevServer({
      port: 0,
      profile: "hosted",
      dataDir: null,
      seedUsers: 1,
      cron: false,
      log: () => {},
      env: { LOG_LEVEL: "error", FLAGS_CACHE_TTL_MS: "0" },
    });
    const gateway = hostedGateway(dev.url);
    const key = dev.keys.serviceRoleKey;
    const proxy = startDashboardProxy({ projectUrl: gateway.url, key });
    const browser = await chromium.launch({
      executablePath: BROWSER,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
    });
    try {
      // The problem: straight from the (hosted) project, the page is plain text.
      const direct = await fetch(`${gateway.url}/functions/v1/migrate-batch/dashboard`, {
        headers: { Authorization: `Bearer ${key}` },
      });
      assert.equal(direct.status, 200);
      assert.match(direct.headers.get("content-type") ?? "", /^text\/plain/);
      await direct.body?.cancel();

      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      page.on("console", (msg) => {
        if (msg.type() === "error") errors.push(msg.text());
      });
      page.on("dialog", (dialog) => dialog.accept()); // the page confirms rollout changes
      const keySeen: string[] = [];
      page.on("response", async (response) => {
        const headers = await response.allHeaders();
        if (JSON.stringify(headers).includes(key)) keySeen.push(response.url());
      });
      const response = await page.goto(`${proxy.origin}/`);
      assert.equal(response?.status(), 200);
      assert.match(response?.headers()["content-type"] ?? "", /^text\/html/);
      assert.equal(new URL(page.url()).pathname, "/functions/v1/migrate-batch/dashboard");
      await page.getByTestId("kill-switch").first().waitFor();
      assert.ok(!(await page.content()).includes(key), "the key is not in the page");
      assert.equal(await page.context().cookies().then((c) => c.length), 0, "no cookie set");

      // The rollout control goes through the local server to the project's admin API.
      await page.getByTestId("fn-login-percentage-input").fill("40");
      await page.getByTestId("fn-login-percentage-submit").click();
      await page.getByRole("status").filter({ hasText: "updated" }).waitFor();
      assert.equal(await flagPercentage(dev.sql, "login"), 40);
      assert.deepEqual(errors, []);
      assert.deepEqual(keySeen, []);

      // Another site cannot make the operator's browser use the key; nor can another Host name.
      const forged = await fetch(
        `${proxy.origin}/functions/v1/migrate-batch/admin/rollouts/login/percentage`,
        {
          method: "PUT",
          headers: { "Content-Type": "application/json", Origin: "https://evil.example" },
          body: JSON.stringify({ percentage: 100 }),
        },
      );
      assert.equal(forged.status, 403);
      await forged.body?.cancel();
      assert.equal(await flagPercentage(dev.sql, "login"), 40, "unchanged");
      const elsewhere = await fetch(`${proxy.origin}/rest/v1/agents`);
      assert.equal(elsewhere.status, 404, "only migrate-batch is forwarded");
      await elsewhere.body?.cancel();
    } finally {
      await browser.close();
      await proxy.close();
      await gateway.close();
      await dev.close();
    }
  },
});

Deno.test("ops dashboard: without a project URL or key it names what is missing (exit 2)", async () => {
  const errors: string[] = [];
  const original = console.error;
  console.error = (line: string) => errors.push(line);
  try {
    assert.equal(await runDashboardCommand([], {}), 2);
  } finally {
    console.error = original;
  }
  assert.match(errors.join("\n"), /SUPABASE_URL .*OPS_ADMIN_SECRET or SUPABASE_SERVICE_ROLE_KEY/);
});
