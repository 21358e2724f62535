/**
 * README's MIGRATION_BREAKER_* and MIGRATION_SHADOW_NOISE_* rows, each shown to do what its row
 * says through the migrator runtime built from loadConfig (PGlite; the breaker's shared table is
 * exercised on both databases in circuit-breaker.test.ts).
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/env.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { BREAKER_HEADER } from "../../../shared/migrator/migrator.ts";
import { noiseKey } from "../../../shared/migrator/noise-floor.ts";
import { createMigrationRuntime } from "../../../shared/migrator/runtime.ts";
import type { Handler, OperationPolicy } from "../../../shared/migrator/types.ts";
import { freshPglite } from "../../helpers/db.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function runtimeWith(sql: SqlClient, env: Record<string, string>) {
  return createMigrationRuntime({
    sql,
    env: loadConfig({ FLAGS_CACHE_TTL_MS: "0", MIGRATION_ROLLOUT_PERCENTAGE: "100", ...env }).env,
    logger: { warn() {}, error() {} },
  });
}

const READ: OperationPolicy = { name: "agents.list", safety: "read_only", shadow: "live" };

Deno.test("MIGRATION_BREAKER_* through the runtime", async (t) => {
  const sql = await freshPglite();
  let calls = 0;
  const failing: Handler = () => {
    calls++;
    return Promise.resolve(Response.json({ error: "down" }, { status: 503 }));
  };
  const original: Handler = () => Promise.resolve(Response.json({ ok: true }));
  const run = async (fn: string, env: Record<string, string>, count: number, pause = 0) => {
    const runtime = runtimeWith(sql, env);
    const migrator = runtime.migrator({
      policy: { functionName: fn, classify: () => ({ ...READ, shadow: "off" }) },
      original,
      abstracted: failing,
    });
    const headers: (string | null)[] = [];
    for (let i = 0; i < count; i++) {
      if (i > 0 && pause > 0) await sleep(pause);
      const response = await migrator.handle(new Request(`http://fn.local/${fn}`));
      assert.equal(response.status, 200);
      headers.push(response.headers.get(BREAKER_HEADER));
      await response.body?.cancel();
    }
    await runtime.close();
    return headers;
  };
  try {
    await t.step("MIGRATION_BREAKER_FAILURES failures open it (default on)", async () => {
      calls = 0;
      const headers = await run("alpha", { MIGRATION_BREAKER_FAILURES: "2" }, 5);
      assert.equal(calls, 2);
      assert.deepEqual(headers, [null, null, "open", "open", "open"]);
    });
    await t.step("MIGRATION_BREAKER_ENABLED=false: every request tries the path", async () => {
      calls = 0;
      await run(
        "bravo",
        { MIGRATION_BREAKER_ENABLED: "false", MIGRATION_BREAKER_FAILURES: "2" },
        5,
      );
      assert.equal(calls, 5);
    });
    await t.step(
      "failures further apart than MIGRATION_BREAKER_WINDOW_MS do not add up",
      async () => {
        calls = 0;
        const env = { MIGRATION_BREAKER_FAILURES: "2", MIGRATION_BREAKER_WINDOW_MS: "100" };
        await run("charlie", env, 3, 150);
        assert.equal(calls, 3);
      },
    );
    await t.step("after MIGRATION_BREAKER_OPEN_MS one probe goes through", async () => {
      calls = 0;
      const env = { MIGRATION_BREAKER_FAILURES: "1", MIGRATION_BREAKER_OPEN_MS: "300" };
      const runtime = runtimeWith(sql, env);
      const migrator = runtime.migrator({
        policy: { functionName: "delta", classify: () => ({ ...READ, shadow: "off" }) },
        original,
        abstracted: failing,
      });
      const header = async () => {
        const response = await migrator.handle(new Request("http://fn.local/delta"));
        await response.body?.cancel();
        return response.headers.get(BREAKER_HEADER);
      };
      assert.equal(await header(), null);
      await sleep(400);
      assert.equal(await header(), "probe");
      assert.equal(calls, 2);
      await runtime.close();
    });
  } finally {
    await sql.close();
  }
});

Deno.test("MIGRATION_SHADOW_NOISE_* through the runtime", async (t) => {
  const sql = await freshPglite();
  try {
    await t.step("MIGRATION_SHADOW_NOISE_SAMPLE_RATE: 1 re-runs the primary, 0 never", async () => {
      for (const [rate, perRequest] of [["1", 2], ["0", 1]] as const) {
        const runtime = runtimeWith(sql, {
          MIGRATION_SHADOW_NOISE_SAMPLE_RATE: rate,
          MIGRATION_ENABLE_COMPARISON: "true",
        });
        let primary = 0;
        const migrator = runtime.migrator({
          policy: { functionName: "echo", classify: () => READ },
          original: () => Promise.resolve(Response.json({ n: 1 })),
          abstracted: () => {
            primary++;
            return Promise.resolve(Response.json({ n: 1 }));
          },
        });
        for (let i = 0; i < 3; i++) {
          await (await migrator.handle(new Request("http://x/echo"))).text();
        }
        await runtime.close();
        assert.equal(primary, 3 * perRequest, `sample rate ${rate}`);
        assert.equal(runtime.noiseFloor === null, rate === "0");
      }
    });
    await t.step("MIGRATION_SHADOW_NOISE_HALF_LIFE_MS: old noise stops excusing", async () => {
      const key = noiseKey("echo", "agents.list");
      const short = runtimeWith(sql, { MIGRATION_SHADOW_NOISE_HALF_LIFE_MS: "1000" }).noiseFloor!;
      const long = runtimeWith(sql, {}).noiseFloor!;
      for (const floor of [short, long]) {
        floor.observeSecondary(key, ["data.0.trust_score"]);
        floor.observeSecondary(key, []);
        floor.observeCandidate(key, ["data.0.trust_score"]);
        floor.observeCandidate(key, []);
        assert.deepEqual(floor.classify(key, ["data.0.trust_score"]).noise, ["data.0.trust_score"]);
      }
      await sleep(1100);
      assert.deepEqual(short.classify(key, ["data.0.trust_score"]).noise, []);
      assert.deepEqual(long.classify(key, ["data.0.trust_score"]).noise, ["data.0.trust_score"]);
    });
  } finally {
    await sql.close();
  }
});
