/** `deno task sync` on PostgreSQL 15: usage errors, status, complete/reopen, apply, resync. */
import assert from "node:assert/strict";
import { main } from "../../scripts/sync.ts";
import { freshPostgres, TEST_DATABASE_URL } from "../helpers/db.ts";
import { AUTH_SCHEMA_URL } from "../../local/standin/database.ts";

async function run(args: string[], env: Record<string, string | undefined> = {}) {
  const lines: string[] = [];
  const code = await main(args, env, (line) => lines.push(line));
  return { code, text: lines.join("\n") };
}

Deno.test("sync CLI refuses bad usage before opening anything", async () => {
  assert.equal((await run([])).code, 2);
  assert.equal((await run(["explode"])).code, 2);
  const unconfirmed = await run(["complete"]);
  assert.equal(unconfirmed.code, 2);
  assert.match(unconfirmed.text, /--yes/);
  assert.equal((await run(["apply", "--budget-ms", "soon"])).code, 2);
  assert.equal((await run(["resync", "--since", "yesterday-ish"])).code, 2);
});

Deno.test({
  name: "sync CLI on PostgreSQL 15",
  ignore: !TEST_DATABASE_URL,
  async fn() {
    const db = await freshPostgres();
    try {
      await db.exec(await Deno.readTextFile(AUTH_SCHEMA_URL));
      await db.query(`SELECT public.identity_sync_install_auth_triggers()`);
      await db.query(
        `INSERT INTO auth.users (id, email, encrypted_password, created_at, updated_at)
         VALUES (gen_random_uuid(), 'cli@example.com', '', now(), now())`,
      );
      const env = { DATABASE_URL: db.url };
      const status = await run(["status"], env);
      assert.equal(status.code, 0);
      assert.equal(JSON.parse(status.text).toBetterAuth.pending, 1);
      const resynced = await run(["resync"], env);
      assert.equal(JSON.parse(resynced.text).users, 1);
      const applied = await run(["apply", "--budget-ms", "2000"], env);
      assert.equal(applied.code, 0, applied.text);
      assert.equal(JSON.parse(applied.text).toSupabase, null, "no GoTrue admin client given");
      const done = await run(["complete", "--yes"], env);
      assert.equal(JSON.parse(done.text).completedBy, "cli");
      assert.equal(JSON.parse((await run(["reopen", "--yes"], env)).text).complete, false);
    } finally {
      await db.close();
    }
  },
});
