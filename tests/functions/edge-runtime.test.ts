/**
 * Edge Runtime conformance: every UNCHANGED functions/<name>/index.ts runs under the user-worker
 * surface of Supabase's Edge Runtime (tests/functions/edge-runtime/worker.ts: Deno.serve with no
 * `addr` that ignores our port, EdgeRuntime.waitUntil, drain, a request.signal that never aborts,
 * no-op Deno.exit and signal listeners, `--deny-run --allow-write=/tmp`), with only the
 * environment Supabase sets, against PostgreSQL 15 shared with the Auth/REST stand-in.
 *
 * The user's story: the four functions boot and answer /health; a user signs up, confirms by the
 * mailed link ("Confirm email" on, the hosted profile) and logs in
 * (dual-write, Better Auth and Supabase Auth both written); that login's token works on the
 * coordinator; legacy Supabase users are batch-migrated until the call says done. Then the
 * platform drains each worker: the metrics of the requests are in the database and the process
 * ends by itself (listener, SQL pool and timers closed).
 */
import assert from "node:assert/strict";
import { AuthClient } from "@supabase/auth-js";
import { createClient } from "@supabase/supabase-js";
import { FUNCTION_NAMES } from "../../shared/functions/registry.ts";
import { TEST_DATABASE_URL } from "../helpers/db.ts";
import {
  callFunction as call,
  type EdgeStack,
  type EdgeWorker,
  functionEnv,
  logRecords,
  startEdgeStack,
  startEdgeWorker,
} from "./edge-runtime/harness.ts";

const PASSWORD = "Correct-Horse-42";

async function metricCounts(stack: EdgeStack): Promise<Record<string, number>> {
  const { rows } = await stack.sql.query<{ function_name: string; n: number }>(
    "SELECT function_name, count(*)::int AS n FROM performance_metrics GROUP BY function_name",
  );
  return Object.fromEntries(rows.map((row) => [row.function_name, row.n]));
}

for (const rollout of [100, 0]) {
  Deno.test({
    name: `Edge Runtime conformance, ${
      rollout === 100 ? "abstracted" : "original"
    } paths (rollout ${rollout} %): each entrypoint boots, serves its flow on PostgreSQL 15, drains`,
    ignore: !TEST_DATABASE_URL,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async (t) => {
      const stack = await startEdgeStack();
      const workers = new Map<string, EdgeWorker>();
      try {
        const env = functionEnv(stack, {
          MIGRATION_MODE: "dual_write",
          MIGRATION_ROLLOUT_PERCENTAGE: String(rollout),
          FLAGS_CACHE_TTL_MS: "0",
        });
        const started = await Promise.all(FUNCTION_NAMES.map((name) => startEdgeWorker(name, env)));
        for (const worker of started) workers.set(worker.name, worker);
        const worker = (name: string) => workers.get(name)!;

        await t.step(
          "each function boots without reading a server address, answers /health",
          async () => {
            for (const name of FUNCTION_NAMES) {
              const health = await call(worker(name), "/health");
              assert.equal(health.status, 200, JSON.stringify(health.body));
              assert.deepEqual(health.body, { status: "ok", function: name });
              const records = logRecords(worker(name));
              // onListen reports the platform's own address, never one we asked for.
              assert.ok(
                records.some((r) => r.msg === "listening" && r.port === 9999),
                worker(name).output.join("\n"),
              );
            }
          },
        );

        const email = `edge-${crypto.randomUUID().slice(0, 8)}@example.com`;
        let token = "";
        await t.step("signup and login through the functions in dual_write mode", async () => {
          // MIGRATION_MODE=dual_write seeds the dual_write stage, which writes EVERY signup to both
          // systems whatever the rollout; the original path's signup is exercised at 0 % with
          // the signup stage moved back to supabase_only (shared/cutover/stages.ts).
          if (rollout === 0) {
            await stack.sql.query(
              `INSERT INTO migration_stages (function_name, stage, reason)
               VALUES ('signup', 'supabase_only', 'edge conformance: the original path')`,
            );
          }
          const signup = await call(worker("signup"), "", { body: { email, password: PASSWORD } });
          assert.equal(signup.status, 200, JSON.stringify(signup.body));
          const userId = (signup.body.user as { id: string }).id;
          const both = await stack.sql.query<{ supabase: number; better_auth: number }>(
            `SELECT (SELECT count(*)::int FROM auth.users WHERE id::text = $1::text) AS supabase,
                  (SELECT count(*)::int FROM "user" WHERE id::text = $1::text) AS better_auth`,
            [userId],
          );
          // The original is Supabase-only; the abstracted path writes both systems (dual-write).
          assert.deepEqual(
            both.rows[0],
            { supabase: 1, better_auth: rollout === 100 ? 1 : 0 },
            "written where the path writes",
          );
          // "Confirm email" on: no session yet; the user clicks the mail's link, then logs in.
          assert.equal(signup.body.session, null);
          const link = stack.mailbox.latest(email)?.link;
          assert.ok(link, "a confirmation mail");
          const clicked = await fetch(link, { redirect: "manual" });
          await clicked.body?.cancel();
          assert.equal(clicked.status, 303);
          assert.match(clicked.headers.get("location") ?? "", /#access_token=/);
          const login = await call(worker("login"), "", { body: { email, password: PASSWORD } });
          assert.equal(login.status, 200, JSON.stringify(login.body));
          token = (login.body.session as { access_token: string }).access_token;
          assert.equal(token.split(".").length, 3);
        });

        await t.step("coordinator with the user's token from login", async () => {
          const created = await call(worker("coordinator"), "/agents", {
            token,
            body: { name: "Edge", type: "llm", capabilities: ["nlp"], trust_score: 4, max_load: 2 },
          });
          assert.equal(created.status, 201, JSON.stringify(created.body));
          const id = (created.body.data as { id: string }).id;
          const read = await call(worker("coordinator"), `/agents/${id}`, { token });
          assert.equal(read.status, 200, JSON.stringify(read.body));
          const refused = await call(worker("coordinator"), "/agents");
          assert.equal(refused.status, 401, "no token, no access");
        });

        await t.step(
          "auth-js with the login worker as its Auth URL (shared/sessions/)",
          async () => {
            const auth = new AuthClient({
              url: worker("login").url,
              persistSession: false,
              autoRefreshToken: false,
            });
            const signedIn = await auth.signInWithPassword({ email, password: PASSWORD });
            assert.equal(signedIn.error, null, signedIn.error?.message);
            const refreshed = await auth.refreshSession();
            assert.equal(refreshed.error, null, refreshed.error?.message);
            assert.notEqual(
              refreshed.data.session?.refresh_token,
              signedIn.data.session?.refresh_token,
            );
            const me = await auth.getUser();
            assert.equal(me.data.user?.email, email);
            assert.equal((await auth.signOut({ scope: "global" })).error, null);
            const after = await new AuthClient({ url: worker("login").url }).refreshSession({
              refresh_token: refreshed.data.session!.refresh_token,
            });
            assert.ok(after.error && after.error.status === 400, "signed out everywhere");
          },
        );

        await t.step("migrate-batch runs legacy Supabase users to done", async () => {
          const admin = createClient(stack.url, stack.keys.serviceRoleKey, {
            auth: { persistSession: false, autoRefreshToken: false },
          });
          const legacy: string[] = [];
          for (let i = 0; i < 5; i++) {
            const { data, error } = await admin.auth.admin.createUser({
              email: `legacy-${i}-${crypto.randomUUID().slice(0, 6)}@example.com`,
              password: PASSWORD,
              email_confirm: true,
            });
            assert.equal(error, null, error?.message);
            legacy.push(data.user!.id);
          }
          let done = false;
          for (let calls = 0; calls < 20 && !done; calls++) {
            const run = await call(worker("migrate-batch"), "", {
              token: stack.keys.serviceRoleKey,
              body: { migration_id: `edge-harness-${rollout}` },
            });
            assert.equal(run.status, 200, JSON.stringify(run.body));
            done = run.body.done === true;
          }
          assert.ok(done, "the migration reached done");
          const migrated = await stack.sql.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM "user" WHERE id::text = ANY($1::text[])`,
            [legacy],
          );
          assert.equal(migrated.rows[0]!.n, legacy.length, "every legacy user is in Better Auth");
        });

        await t.step(
          "drain flushes metrics, closes the pool and the worker ends by itself",
          async () => {
            // A request right before the platform's drain: its metric is still in the writer's buffer.
            for (const name of FUNCTION_NAMES) await call(worker(name), "/health");
            const results = await Promise.all(FUNCTION_NAMES.map((name) => worker(name).drain()));
            for (const [i, name] of FUNCTION_NAMES.entries()) {
              const output = worker(name).output.join("\n");
              assert.equal(results[i]!.exitedByItself, true, `${name} ended by itself:\n${output}`);
              assert.equal(results[i]!.code, 0, output);
              const records = logRecords(worker(name));
              assert.ok(
                records.some((r) => r.msg === "shutting down" && r.reason === "drain"),
                output,
              );
              assert.ok(records.some((r) => r.msg === "shut down"), output);
            }
            const counts = await metricCounts(stack);
            for (const name of ["signup", "login", "coordinator", "migrate-batch"]) {
              assert.ok((counts[name] ?? 0) > 0, `metrics of ${name}: ${JSON.stringify(counts)}`);
            }
          },
        );
      } finally {
        for (const worker of workers.values()) worker.kill();
        await stack.close();
      }
    },
  });
}
