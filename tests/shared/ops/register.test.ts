import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/env.ts";
import { createAppContainer } from "../../../shared/di/app-container.ts";
import { FlagsCacheToken } from "../../../shared/flags/tokens.ts";
import { registerMigrator } from "../../../shared/migrator/register.ts";
import { createOpsApp } from "../../../shared/ops/app.ts";
import { registerOps } from "../../../shared/ops/register.ts";
import { OpsServicesToken } from "../../../shared/ops/tokens.ts";
import { sqlProviders } from "../../helpers/db.ts";

const KEY = "sb_secret_register_test_key_0123456789";

for (const provider of sqlProviders()) {
  Deno.test(`registerOps wires working services on ${provider.name}`, async () => {
    const db = await provider.open();
    try {
      const config = loadConfig({ SUPABASE_SERVICE_ROLE_KEY: KEY, FLAGS_CACHE_TTL_MS: "5000" });
      const container = registerOps(
        registerMigrator(createAppContainer(config, { sql: db })),
        { alertWebhookUrl: "http://127.0.0.1:9/hook", knownFunctions: ["login", "signup"] },
      );
      const ops = await container.get(OpsServicesToken);
      assert.deepEqual(ops.alerts.sinkNames, ["webhook"], "no SENTRY_DSN: webhook only");
      const cache = await container.get(FlagsCacheToken);
      assert.equal((await cache.get("login")).function, null);

      const app = createOpsApp(ops);
      const res = await app.request("/admin/rollouts/login/percentage", {
        method: "PUT",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ percentage: 30 }),
      });
      assert.equal(res.status, 200);
      // The 5 s cache was invalidated by the change: this instance routes by it at once.
      assert.equal((await cache.get("login")).function?.rolloutPercentage, 30);

      const unknown = await app.request("/admin/rollouts/logn", {
        headers: { authorization: `Bearer ${KEY}` },
      });
      assert.equal(unknown.status, 404, "knownFunctions catches typos");

      await container.dispose();
      const { rows } = await db.query<{ n: number }>(
        "SELECT count(*) AS n FROM migration_log WHERE component = 'rollout:login'",
      );
      assert.equal(rows[0]!.n, 1);
    } finally {
      await db.close();
    }
  });
}
