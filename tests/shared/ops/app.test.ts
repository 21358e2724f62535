/**
 * The ops app mounted the way the lead wires it: inside the migrate-batch function app
 * (createFunctionApp: basePath /migrate-batch, request ids, CORS, size limit, error shape).
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/env.ts";
import { createFunctionApp } from "../../../shared/http/app.ts";
import { createLogger } from "../../../shared/observability/logger.ts";
import { createOpsApp } from "../../../shared/ops/app.ts";
import { createOpsServices } from "../../../shared/ops/services.ts";
import { freshPglite } from "../../helpers/db.ts";

const KEY = "sb_secret_app_test_key_0123456789";

Deno.test("createOpsApp inside the migrate-batch function app", async () => {
  const db = await freshPglite();
  const logger = createLogger({ level: "silent" });
  const ops = createOpsServices({
    sql: db,
    routingEnv: loadConfig({}).env,
    serviceRoleKeys: [KEY],
    logger,
  });
  try {
    const app = createFunctionApp("migrate-batch", { logger, maxBodyBytes: 64 * 1024 });
    app.route("/", createOpsApp(ops));
    const auth = { authorization: `Bearer ${KEY}` };

    const list = await app.request("/migrate-batch/admin/rollouts", { headers: auth });
    assert.equal(list.status, 200);
    assert.ok(list.headers.get("x-request-id"), "the function app's middleware ran");
    assert.equal(
      ((await list.json()) as { data: { rollouts: unknown[] } }).data.rollouts.length,
      0,
    );

    const started = await app.request("/migrate-batch/admin/rollouts/signup/start", {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ steps: [5, 100] }),
    });
    assert.equal(started.status, 200);

    const page = await app.request("/migrate-batch/dashboard", { headers: auth });
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy")!, /frame-ancestors 'none'/);
    assert.match(await page.text(), /data-testid="fn-signup-rollout">\s*5\.00 %/);

    const signIn = await app.request("/migrate-batch/dashboard");
    assert.equal(signIn.status, 401);
    assert.match(await signIn.text(), /Sign in with the service-role key/);

    const health = await app.request("/migrate-batch/health");
    assert.equal(health.status, 200, "the function's own routes are untouched");
    const unknown = await app.request("/migrate-batch/admin/nothing", { headers: auth });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, "not_found");
  } finally {
    await ops.drain();
    await db.close();
  }
});
