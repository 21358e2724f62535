/**
 * `deno task ops dependencies` as an operator runs it: a separate process against PostgreSQL
 * (DATABASE_URL) and against a PGlite data directory like the dev server's, each seeded with an
 * app schema that depends on Supabase Auth in every way the report knows.
 */
import assert from "node:assert/strict";
import { openPglite } from "../../local/db/pglite-client.ts";
import { openStandinDatabase } from "../../local/standin/database.ts";
import type { DependencyReport } from "../../shared/cutover/dependencies.ts";
import { freshPostgres, TEST_DATABASE_URL } from "../helpers/db.ts";
import { AUTH_SCHEMA_SQL } from "../local/standin/rest/serve-rest.ts";
import { APP_SCHEMA } from "../shared/cutover/fixtures.ts";
import { ops } from "./run-ops.ts";

Deno.test({
  name: "ops dependencies against PostgreSQL (DATABASE_URL)",
  ignore: !TEST_DATABASE_URL,
  async fn() {
    const db = await freshPostgres({ max: 2 });
    try {
      await db.exec(AUTH_SCHEMA_SQL);
      await db.exec(APP_SCHEMA);
      const human = await ops({ DATABASE_URL: db.url }, "dependencies");
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /^Supabase Auth dependencies: 5 blocking/);
      assert.match(human.stdout, /\[BLOCKING\] foreign_key public\.profiles\.profiles_id_fkey/);
      assert.match(human.stdout, /\[WARNING\] policy public\.memos: memos_owner/);
      const json = await ops({ DATABASE_URL: db.url }, "dependencies", "--json");
      assert.equal(json.code, 0, json.stderr);
      const report = JSON.parse(json.stdout) as DependencyReport;
      assert.equal(report.blocking, 5);
    } finally {
      await db.close();
    }
  },
});

Deno.test("ops dependencies against the embedded PGlite data directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ops-deps-" });
  const dataDir = `${dir}/pglite`;
  try {
    const opened = await openStandinDatabase({ dataDir, cacheDir: null });
    await opened.db.close();
    const db = await openPglite({ dataDir });
    try {
      await db.exec(APP_SCHEMA);
    } finally {
      await db.close();
    }
    const run = await ops({ PGLITE_DATA_DIR: dataDir }, "dependencies", "--json");
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as DependencyReport;
    assert.equal(report.blocking, 5);
    assert.ok(report.dependencies.some((d) => d.name === "auth.users: on_auth_user_created"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
