import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../../shared/config/env.ts";
import { createAppContainer } from "../../../shared/di/app-container.ts";
import { SqlToken } from "../../../shared/di/tokens.ts";
import { TEST_DATABASE_URL } from "../../helpers/db.ts";

Deno.test("a deployed container without a database URL names SUPABASE_DB_URL (PGlite is local-only)", async () => {
  const container = createAppContainer(loadConfig({}));
  await assert.rejects(
    () => container.get(SqlToken),
    (error: unknown) =>
      error instanceof ConfigError && error.issues.some((i) => i.variable === "SUPABASE_DB_URL"),
  );
  await container.dispose();
});

Deno.test({
  name: "a database URL selects postgres.js",
  ignore: !TEST_DATABASE_URL,
  fn: async () => {
    const container = createAppContainer(loadConfig({ DATABASE_URL: TEST_DATABASE_URL }));
    const sql = await container.get(SqlToken);
    assert.equal(sql.dialect, "postgres");
    assert.deepEqual((await sql.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
    await container.dispose();
  },
});
