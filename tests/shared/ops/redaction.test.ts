/**
 * Operator text is stored redacted like every other sink: a reason typed into the admin API (or
 * written through the runtime-flags store) never keeps a token, key or password in
 * runtime_flags, migration_log or ops_alerts.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/env.ts";
import { RuntimeFlagsStore } from "../../../shared/flags/store.ts";
import { createLogger } from "../../../shared/observability/logger.ts";
import { createOpsApp } from "../../../shared/ops/app.ts";
import { createOpsServices } from "../../../shared/ops/services.ts";
import { sqlProviders } from "../../helpers/db.ts";

const SERVICE_KEY = "sb_secret_test_service_role_key_0123456789";
const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLXNpZw";
const LEAKY = `pasted from the incident channel: Bearer ${JWT} password=hunter2`;

for (const provider of sqlProviders()) {
  Deno.test(`stored operator text is redacted on ${provider.name}`, async () => {
    const db = await provider.open();
    try {
      const ops = createOpsServices({
        sql: db,
        routingEnv: loadConfig({}).env,
        serviceRoleKeys: [SERVICE_KEY],
        logger: createLogger({ level: "silent" }),
      });
      const app = createOpsApp(ops);
      const call = (method: string, path: string, body: unknown) =>
        app.request(`/admin${path}`, {
          method,
          headers: { "content-type": "application/json", authorization: `Bearer ${SERVICE_KEY}` },
          body: JSON.stringify(body),
        });
      const set = await call("PUT", "/rollouts/login/percentage", { percentage: 5, reason: LEAKY });
      assert.equal(set.status, 200, await set.clone().text());
      await set.body?.cancel();
      const engaged = await call("POST", "/emergency-rollback", {
        confirm: "ROLLBACK",
        reason: LEAKY,
      });
      assert.equal(engaged.status, 200, await engaged.clone().text());
      await engaged.body?.cancel();
      await new RuntimeFlagsStore(db).upsert("signup", { rolloutPercentage: 1 }, {
        updatedBy: `ops ${JWT}`,
        reason: LEAKY,
      });

      const { rows } = await db.query<{ text: string }>(
        `SELECT coalesce(reason, '') || ' ' || coalesce(updated_by, '') AS text FROM runtime_flags
         UNION ALL SELECT coalesce(error_message, '') || ' ' || coalesce(metadata::text, '')
           FROM migration_log
         UNION ALL SELECT title || ' ' || details::text FROM ops_alerts`,
      );
      const stored = rows.map((row) => row.text).join("\n");
      assert.match(stored, /pasted from the incident channel/, "the reason itself is kept");
      assert.ok(!stored.includes(JWT), `a token was stored: ${stored}`);
      assert.ok(!stored.includes("hunter2"), `a password was stored: ${stored}`);
    } finally {
      await db.close();
    }
  });
}
