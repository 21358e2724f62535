import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/env.ts";
import { DataDirInUseError } from "../../../shared/db/data-dir-lock.ts";
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

Deno.test("a persisted PGlite directory is held by one container at a time", async () => {
  const root = await Deno.makeTempDir({ prefix: "app-container-" });
  const config = loadConfig({ PGLITE_DATA_DIR: `${root}/pglite` });
  try {
    const first = createAppContainer(config);
    await first.get(SqlToken);
    const second = createAppContainer(config);
    await assert.rejects(() => second.get(SqlToken), DataDirInUseError);
    await first.dispose();
    // Released on dispose: the next process (or container) opens the same data.
    const third = createAppContainer(config);
    const sql = await third.get(SqlToken);
    assert.equal((await sql.query<{ n: number }>("SELECT 1 AS n")).rows[0]!.n, 1);
    await third.dispose();
    await second.dispose();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
