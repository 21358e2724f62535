/**
 * The dependency report over HTTP: through the real migrate-batch function of the dev server
 * (PGlite), and through the route handler with the real admin credentials on every database.
 */
import assert from "node:assert/strict";
import { startDevServer } from "../../../local/standin/dev-server.ts";
import type { DependencyReport } from "../../../shared/cutover/dependencies.ts";
import { dependenciesHandler } from "../../../shared/cutover/routes.ts";
import { adminKeyVerifier } from "../../../shared/ops/admin-auth.ts";
import { sqlProviders } from "../../helpers/db.ts";
import { APP_SCHEMA, withAuthSchema } from "./fixtures.ts";

Deno.test("GET /functions/v1/migrate-batch/admin/dependencies through the dev server", async () => {
  const server = await startDevServer({
    port: 0,
    profile: "hosted",
    dataDir: null,
    seedUsers: 0,
    cron: false,
    log: () => {},
    env: { LOG_LEVEL: "silent" },
  });
  try {
    const url = `${server.url}/functions/v1/migrate-batch/admin/dependencies`;
    const get = async (key?: string) => {
      const response = await fetch(url, {
        headers: key ? { Authorization: `Bearer ${key}` } : {},
      });
      return { status: response.status, body: await response.json() };
    };
    const refused = await get();
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error.code, "unauthorized");
    assert.equal((await get(server.keys.anonKey)).status, 401);

    const clean = await get(server.keys.serviceRoleKey);
    assert.equal(clean.status, 200);
    assert.equal((clean.body.data as DependencyReport).blocking, 0);

    await server.sql.exec(APP_SCHEMA);
    const seeded = await get(server.keys.serviceRoleKey);
    assert.equal(seeded.status, 200);
    const report = seeded.body.data as DependencyReport;
    assert.equal(report.blocking, 5);
    assert.ok(report.dependencies.some((d) => d.name === "public.profiles.profiles_id_fkey"));

    // The ops API beside it is untouched.
    const rollouts = await fetch(`${server.url}/functions/v1/migrate-batch/admin/rollouts`, {
      headers: { Authorization: `Bearer ${server.keys.serviceRoleKey}` },
    });
    assert.equal(rollouts.status, 200);
    await rollouts.body?.cancel();
  } finally {
    await server.close();
  }
});

for (const provider of sqlProviders()) {
  Deno.test(`dependency report route on ${provider.name}`, async () => {
    const sql = await withAuthSchema(provider.open);
    try {
      await sql.exec(APP_SCHEMA);
      const secret = "s".repeat(40);
      const handle = dependenciesHandler({
        sql,
        auth: { verifyKey: adminKeyVerifier({ adminSecret: secret }) },
      });
      const url = "http://fn.local/migrate-batch/admin/dependencies";
      const denied = await handle(new Request(url, { headers: { Authorization: "Bearer nope" } }));
      assert.equal(denied.status, 401);
      assert.equal((await denied.json()).error.code, "unauthorized");
      const ok = await handle(new Request(url, { headers: { Authorization: `Bearer ${secret}` } }));
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get("cache-control"), "no-store");
      const report = (await ok.json()).data as DependencyReport;
      assert.equal(report.blocking, 5);
      assert.equal(report.dependencies[0]!.severity, "blocking");
    } finally {
      await sql.close();
    }
  });
}
