import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/env.ts";
import { createAppContainer } from "../../../shared/di/app-container.ts";
import { FlagsCacheToken, RuntimeFlagsStoreToken } from "../../../shared/flags/tokens.ts";
import { registerMigrator } from "../../../shared/migrator/register.ts";
import { MigrationRuntimeToken } from "../../../shared/migrator/tokens.ts";
import { sqlProviders } from "../../helpers/db.ts";

for (const provider of sqlProviders()) {
  Deno.test(`registerMigrator wires a working runtime on ${provider.name}`, async () => {
    const db = await provider.open();
    try {
      const config = loadConfig({ FLAGS_CACHE_TTL_MS: "0" });
      const container = registerMigrator(createAppContainer(config, { sql: db }));
      const store = await container.get(RuntimeFlagsStoreToken);
      assert.ok((await store.upsert("coordinator", { rolloutPercentage: 100 })).ok);
      const runtime = await container.get(MigrationRuntimeToken);
      assert.equal(runtime.flagsCache, await container.get(FlagsCacheToken));

      const migrator = runtime.migrator({
        policy: {
          functionName: "coordinator",
          classify: (req) => ({
            name: req.method === "GET" ? "status" : "command",
            safety: req.method === "GET" ? "read_only" : "write",
            shadow: "off",
          }),
        },
        original: () => Promise.resolve(Response.json({ impl: "original" })),
        abstracted: () => Promise.resolve(Response.json({ impl: "abstracted" })),
      });
      const res = await migrator.fetch(
        new Request("http://localhost/coordinator/status", {
          headers: { "x-request-id": "req-register-0001", "x-user-id": "u1" },
          // The rollout is 100%, so even a request without a routing key goes abstracted.
        }),
      );
      assert.deepEqual(await res.json(), { impl: "abstracted" });
      assert.equal(res.headers.get("x-migration-path"), "abstracted");

      // Disposing the container flushes the runtime's buffered metric before the pool closes.
      await container.dispose();
      const { rows } = await db.query<{ operation: string }>(
        "SELECT operation FROM performance_metrics WHERE request_id = 'req-register-0001'",
      );
      assert.deepEqual(rows, [{ operation: "status" }]);
    } finally {
      await db.close();
    }
  });
}
