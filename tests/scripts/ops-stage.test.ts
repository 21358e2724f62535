/**
 * `deno task ops stage …` as an operator runs it: a separate process against PostgreSQL
 * (DATABASE_URL) and against a PGlite data directory like the dev server's. List, a gate read,
 * a move forward, a refusal by a blocking dependency (exit 1 with the figures), a move back,
 * and the audit.
 */
import assert from "node:assert/strict";
import { openPglite } from "../../local/db/pglite-client.ts";
import { openStandinDatabase } from "../../local/standin/database.ts";
import { freshPostgres, TEST_DATABASE_URL } from "../helpers/db.ts";
import { AUTH_SCHEMA_SQL } from "../local/standin/rest/serve-rest.ts";
import { APP_SCHEMA } from "../shared/cutover/fixtures.ts";
import type { SqlClient } from "../../shared/db/sql-client.ts";
import { ops } from "./run-ops.ts";

const SECRET = { BETTER_AUTH_SECRET: "b".repeat(40) };

/** login: dual_write → better_auth_primary → better_auth_only, straight into a blocking FK. */
async function story(env: Record<string, string>, exec: (sql: string) => Promise<void>) {
  const listed = await ops(env, "stage");
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^signup: dual_write \(env seed: no row yet\)/m);
  assert.match(listed.stdout, /^login: dual_write/m);

  const gate = await ops(env, "stage", "login");
  assert.equal(gate.code, 0, gate.stderr);
  assert.match(gate.stdout, /gate to better_auth_primary: open/);

  const noReason = await ops(env, "stage", "login", "better_auth_primary");
  assert.equal(noReason.code, 2);
  assert.match(noReason.stderr, /--reason/);

  const moved = await ops(env, "stage", "login", "better_auth_primary", "--reason", "canary ok");
  assert.equal(moved.code, 0, moved.stderr);
  assert.match(moved.stdout, /^moved: login: better_auth_primary since /);

  await exec(APP_SCHEMA);
  const refused = await ops(
    env,
    "stage",
    "login",
    "better_auth_only",
    "--reason",
    "all copied",
    "--json",
  );
  assert.equal(refused.code, 1);
  const body = JSON.parse(refused.stdout);
  assert.equal(body.error.refusal, "gate_refused");
  const deps = body.error.gate.checks.find((c: { check: string }) =>
    c.check === "auth_dependencies"
  );
  assert.equal(deps.ok, false);
  assert.equal(deps.figures.blocking, 5);

  const back = await ops(env, "stage", "login", "supabase_only", "--reason", "rollback drill");
  assert.equal(back.code, 0, back.stderr);
  assert.match(back.stdout, /\(backwards: no gate\)/);

  const audit = await ops(env, "stage", "audit", "login");
  assert.equal(audit.code, 0, audit.stderr);
  const lines = audit.stdout.trim().split("\n");
  assert.equal(lines.length, 3);
  assert.match(
    lines[0]!,
    /login {2}better_auth_primary → supabase_only {2}moved {2}by tester: rollback drill/,
  );
  assert.match(
    lines[1]!,
    /better_auth_primary → better_auth_only {2}refused {2}by tester: all copied/,
  );
  assert.match(lines[2]!, /dual_write → better_auth_primary {2}moved {2}by tester: canary ok/);
}

Deno.test({
  name: "ops stage against PostgreSQL (DATABASE_URL)",
  ignore: !TEST_DATABASE_URL,
  async fn() {
    const db = await freshPostgres({ max: 2 });
    try {
      await db.exec(AUTH_SCHEMA_SQL);
      await story(
        { DATABASE_URL: db.url, MIGRATION_MODE: "dual_write", ...SECRET },
        (sql) => db.exec(sql),
      );
    } finally {
      await db.close();
    }
  },
});

Deno.test("ops stage against the embedded PGlite data directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ops-stage-" });
  const dataDir = `${dir}/pglite`;
  try {
    const opened = await openStandinDatabase({ dataDir, cacheDir: null });
    await opened.db.close();
    const exec = async (sql: string) => {
      const db: SqlClient = await openPglite({ dataDir });
      try {
        await db.exec(sql);
      } finally {
        await db.close();
      }
    };
    await story({ PGLITE_DATA_DIR: dataDir, MIGRATION_MODE: "dual_write", ...SECRET }, exec);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
