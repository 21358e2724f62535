import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/env.ts";
import { createAppContainer } from "../../../shared/di/app-container.ts";
import { SqlToken } from "../../../shared/di/tokens.ts";
import { TEST_DATABASE_URL } from "../../helpers/db.ts";

Deno.test("the embedded default opens a migrated PGlite and closes it on dispose", async () => {
  const container = createAppContainer(loadConfig({}));
  const sql = await container.get(SqlToken);
  assert.equal(sql.dialect, "pglite");
  const { rows } = await sql.query<{ n: number }>("SELECT count(*) AS n FROM runtime_flags");
  assert.deepEqual(rows, [{ n: 0 }]);
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
