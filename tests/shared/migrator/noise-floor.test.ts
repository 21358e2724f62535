/**
 * The shadow noise floor under the workload that made shadow comparison noisy: coordinator agent
 * reads from concurrent clients racing writes that change trust_score, current_load and
 * last_assigned_*. Both real coordinator implementations run under the real migrator (the
 * original over supabase-js against the REST stand-in, the abstracted on SqlDatabaseService),
 * comparisons and metrics go to the real tables (PGlite and PostgreSQL 15).
 */
import assert from "node:assert/strict";
import { coordinatorMigratorPolicy } from "../../../shared/coordinator/policy.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { defaultRoutingConfig, staticRoutingSource } from "../../../shared/flags/resolve.ts";
import { BackgroundTasks } from "../../../shared/migrator/background.ts";
import { SqlComparisonSink } from "../../../shared/migrator/comparison-store.ts";
import { measureShadowAgreement } from "../../../shared/migrator/disagreement.ts";
import { SqlMetricsWriter } from "../../../shared/migrator/metrics-writer.ts";
import { EdgeFunctionMigrator } from "../../../shared/migrator/migrator.ts";
import {
  generalisePath,
  isRealDifference,
  NoiseFloor,
  noiseKey,
} from "../../../shared/migrator/noise-floor.ts";
import type { Handler } from "../../../shared/migrator/types.ts";
import { sqlProviders } from "../../helpers/db.ts";
import { insertAgents, uuid } from "../coordinator/fixtures.ts";
import { wireCoordinator } from "../coordinator/wired.ts";

const AGENTS = 6;
const CLIENTS = 4;

/** The candidate with one deliberate difference: an extra field on every agent it lists. */
function planted(handler: Handler): Handler {
  return async (req, ctx) => {
    const response = await handler(req, ctx);
    const body = await response.json() as { data?: Array<Record<string, unknown>> };
    for (const agent of body.data ?? []) agent.region = "eu-planted";
    return Response.json(body, { status: response.status });
  };
}

/** A writer as another instance's coordinator would be: loads, trust and assignment cursors. */
async function writeUntil(sql: SqlClient, done: { value: boolean }): Promise<number> {
  let writes = 0;
  while (!done.value) {
    const agent = uuid(1 + (writes % AGENTS));
    await sql.query(
      `UPDATE agents
       SET trust_score = ((trust_score * 100 + 7)::int % 500) / 100.0,
           current_load = (current_load + 1) % max_load,
           last_assigned_seq = coalesce(last_assigned_seq, 0) + 1,
           last_assigned_at = now()
       WHERE id = $1`,
      [agent],
    );
    writes++;
    // A few writes per read, not a write inside every read: some comparisons race, some do not.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return writes;
}

interface Row {
  matched: boolean;
  disagreement: boolean | null;
  differing_paths: string[];
  noise_paths: string[];
}

for (const provider of sqlProviders()) {
  Deno.test(`shadow noise floor on ${provider.name}: races are noise, a planted difference is not`, async () => {
    const sql = await provider.open();
    const wired = await wireCoordinator(sql);
    const { userToken } = wired;
    const background = new BackgroundTasks();
    const metrics = new SqlMetricsWriter(sql, { background, flushIntervalMs: 10 });
    try {
      await insertAgents(
        sql,
        Array.from({ length: AGENTS }, (_, i) => ({
          id: uuid(i + 1),
          name: `agent ${i + 1}`,
          capabilities: ["x"],
          trust_score: 3,
          max_load: 1000,
        })),
      );
      const noiseFloor = new NoiseFloor({ sampleRate: 1, halfLifeMs: 600_000 });
      const migratorWith = (abstracted: Handler) =>
        new EdgeFunctionMigrator({
          policy: coordinatorMigratorPolicy,
          original: wired.original,
          abstracted,
          routing: staticRoutingSource(
            defaultRoutingConfig({ rolloutPercentage: 0, enableComparison: true }),
          ),
          comparisons: new SqlComparisonSink(sql),
          metrics,
          background,
          noiseFloor,
          maxConcurrentShadows: 64,
        });

      /** CLIENTS concurrent clients, `reads` listings each, while one writer keeps writing. */
      const workload = async (migrator: EdgeFunctionMigrator, reads: number) => {
        const done = { value: false };
        const writer = writeUntil(sql, done);
        await Promise.all(Array.from({ length: CLIENTS }, async () => {
          for (let i = 0; i < reads; i++) {
            const response = await migrator.handle(
              new Request("http://fn.local/coordinator/agents?capability=x", {
                headers: { authorization: `Bearer ${userToken}` },
              }),
            );
            assert.equal(response.status, 200);
            await response.body?.cancel();
          }
        }));
        await background.drain();
        done.value = true;
        return await writer;
      };
      const comparisonsSince = async (id: number) =>
        (await sql.query<Row & { id: number }>(
          `SELECT id, matched, disagreement, differing_paths, noise_paths FROM shadow_comparisons
           WHERE operation = 'agents.list' AND id > $1 ORDER BY id`,
          [id],
        )).rows;

      // 1. The same implementation on both sides of the race: every mismatch must be noise once
      //    the floor has seen two runs of the primary differ on the same paths.
      const writes = await workload(migratorWith(wired.abstracted), 40);
      await metrics.flush();
      assert.ok(writes > 0);
      const raced = await comparisonsSince(0);
      const mismatched = raced.filter((row) => !row.matched);
      console.log(
        `${provider.name}: ${CLIENTS * 40} reads, ${writes} writes, ${mismatched.length} raw ` +
          `mismatches, ${mismatched.filter((r) => r.disagreement).length} disagreements; ` +
          JSON.stringify(noiseFloor.rates(noiseKey("coordinator", "agents.list"))),
      );
      assert.ok(mismatched.length > 0, "the writer raced the reads (raw mismatches seen)");
      const racedPaths = new Set(
        mismatched.flatMap((row) => row.differing_paths.map(generalisePath)),
      );
      for (const path of racedPaths) {
        assert.match(path, /^data\.\*\.(trust_score|current_load|last_assigned_\w+|id|name)$/);
      }
      const noise = mismatched.filter((row) => row.disagreement === false);
      assert.ok(noise.length > 0, "race mismatches are classified as noise");
      for (const row of noise) assert.deepEqual(row.noise_paths, row.differing_paths);
      // Only mismatches seen before the floor had learned a path can count as disagreement.
      const lateDisagreements = mismatched.slice(Math.floor(mismatched.length / 2))
        .filter((row) => row.disagreement);
      assert.equal(lateDisagreements.length, 0, "no disagreement once the noise is learned");

      const now = new Date(Date.now() + 60_000);
      const agreement = await measureShadowAgreement(
        sql,
        "coordinator",
        new Date(0),
        now,
      );
      assert.equal(agreement.compared, CLIENTS * 40);
      assert.equal(agreement.mismatches, mismatched.length);
      assert.equal(agreement.noiseOnly, noise.length);
      assert.ok(agreement.disagreementRate! < agreement.mismatches / agreement.compared);
      const view = await sql.query<{ compared: number | string; disagreements: number | string }>(
        `SELECT sum(compared) AS compared, sum(disagreements) AS disagreements
         FROM shadow_disagreement_rates WHERE function_name = 'coordinator'`,
      );
      assert.equal(Number(view.rows[0]!.compared), agreement.compared);
      assert.equal(Number(view.rows[0]!.disagreements), agreement.disagreements);

      // 2. A candidate with a real difference, under the same race: every comparison disagrees,
      //    on the planted path, while the racing fields stay noise.
      const last = raced.at(-1)!.id;
      await workload(migratorWith(planted(wired.abstracted)), 10);
      const plantedRows = await comparisonsSince(last);
      assert.equal(plantedRows.length, CLIENTS * 10);
      for (const row of plantedRows) {
        assert.equal(row.matched, false);
        assert.equal(row.disagreement, true);
        assert.ok(row.differing_paths.some((path) => path.endsWith(".region")));
        assert.ok(!row.noise_paths.some((path) => path.endsWith(".region")));
      }
      const rates = noiseFloor.rates(noiseKey("coordinator", "agents.list"));
      assert.equal(rates["data.*.region"]?.secondary, 0);
    } finally {
      await background.drain();
      await metrics.close();
      await wired.close();
      await sql.close();
    }
  });
}

Deno.test("noise floor: Diffy's filter on rates, per operation, decaying", () => {
  // Diffy: raw must exceed noise, by the relative and the absolute threshold.
  assert.equal(isRealDifference(0.12, 0.1, 0.5, 0.0003), false);
  assert.equal(isRealDifference(1, 0.1, 0.5, 0.0003), true);
  assert.equal(isRealDifference(0.1, 0.1, 0.5, 0.0003), false);

  let now = 0;
  let draw = 0;
  const floor = new NoiseFloor({
    sampleRate: 0.5,
    halfLifeMs: 1000,
    now: () => now,
    random: () => (draw++ % 2) * 0.9, // 0, 0.9, 0, 0.9 …: every other comparison is sampled
  });
  assert.deepEqual([floor.sample(), floor.sample(), floor.sample()], [true, false, true]);
  const key = noiseKey("coordinator", "agents.list");
  for (let i = 0; i < 10; i++) {
    floor.observeSecondary(key, i % 5 === 0 ? ["data.0.trust_score"] : []);
    floor.observeCandidate(key, i % 5 === 0 ? ["data.1.trust_score"] : []);
  }
  // Learned on item 0, excused on every item; another operation has learned nothing.
  assert.deepEqual(floor.classify(key, ["data.4.trust_score", "data.4.region"]), {
    noise: ["data.4.trust_score"],
    disagreement: ["data.4.region"],
  });
  assert.deepEqual(floor.classify(noiseKey("coordinator", "agents.get"), ["data.trust_score"]), {
    noise: [],
    disagreement: ["data.trust_score"],
  });
  // The candidate now differs on trust_score every time: far above the noise → disagreement.
  for (let i = 0; i < 40; i++) floor.observeCandidate(key, ["data.1.trust_score"]);
  assert.deepEqual(floor.classify(key, ["data.1.trust_score"]).disagreement, [
    "data.1.trust_score",
  ]);
  // Old noise decays: twenty half-lives later the candidate's difference is no longer excused.
  floor.observeCandidate(key, []);
  now += 20_000;
  floor.observeCandidate(key, ["data.2.trust_score"]);
  assert.deepEqual(floor.classify(key, ["data.2.trust_score"]).disagreement, [
    "data.2.trust_score",
  ]);
});
