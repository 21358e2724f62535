import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/env.ts";
import { registerDatabaseService } from "../../../shared/db/register.ts";
import { SqlDatabaseService } from "../../../shared/db/sql-database-service.ts";
import { SupabaseDatabaseService } from "../../../shared/db/supabase-database-service.ts";
import { DatabaseServiceToken, SchemaCatalogToken } from "../../../shared/db/tokens.ts";
import { createAppContainer } from "../../../shared/di/app-container.ts";
import { freshPglite } from "../../helpers/db.ts";
import { AUTH_SCHEMA_SQL, serveRestStandin } from "../../local/standin/rest/serve-rest.ts";

Deno.test("registerDatabaseService picks the provider config names", async (t) => {
  const sql = await freshPglite();
  await sql.exec(AUTH_SCHEMA_SQL);
  const standin = await serveRestStandin(sql);
  try {
    await t.step("pglite: SQL on the container's database, sharing its catalog", async () => {
      const container = registerDatabaseService(createAppContainer(loadConfig({}), { sql }));
      const db = await container.get(DatabaseServiceToken);
      assert.ok(db instanceof SqlDatabaseService);
      assert.equal(db.provider, "pglite");
      assert.equal(db.catalog, await container.get(SchemaCatalogToken));
      const flags = await db.count("runtime_flags");
      assert.deepEqual(flags, { ok: true, value: 0 });
      await container.dispose();
    });

    await t.step("supabase: supabase-js against SUPABASE_URL with the service key", async () => {
      const config = loadConfig({
        DATABASE_PROVIDER: "supabase",
        SUPABASE_URL: standin.url,
        SUPABASE_SERVICE_ROLE_KEY: standin.keys.serviceRoleKey,
      });
      const container = registerDatabaseService(createAppContainer(config, { sql }));
      const db = await container.get(DatabaseServiceToken);
      assert.ok(db instanceof SupabaseDatabaseService);
      assert.deepEqual(await db.count("runtime_flags"), { ok: true, value: 0 });
      await container.dispose();
    });
  } finally {
    await standin.close();
    await sql.close();
  }
});
