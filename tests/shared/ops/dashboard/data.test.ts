/**
 * The dashboard's figures against independent SQL over the same seeded database: progress per
 * system, per-function and per-path stats, the chart buckets (which must add up to the totals),
 * resolved flags, recent lists (redacted, matches excluded).
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../../../shared/config/env.ts";
import { loadDashboardData } from "../../../../shared/ops/dashboard/data.ts";
import { sqlProviders } from "../../../helpers/db.ts";
import { seedDashboard } from "./fixtures.ts";

for (const provider of sqlProviders()) {
  Deno.test(`loadDashboardData on ${provider.name}`, async () => {
    const db = await provider.open();
    try {
      const now = new Date();
      await seedDashboard(db, now);
      const data = await loadDashboardData(db, { routingEnv: loadConfig({}).env }, now);

      assert.deepEqual(
        { ...data.progress, completionRate: Math.round(data.progress.completionRate * 100) },
        {
          total: 12,
          supabaseMigrated: 12,
          betterAuthMigrated: 7,
          // In both systems under the same id, whichever path put them there.
          fullyMigrated: 7,
          validated: 5,
          completionRate: Math.round((7 / 12) * 10_000),
          supabaseAuthUsers: 12,
          betterAuthUsers: 7,
          migratedUsers: 7,
          migratedVia: { batch: 4, lazy: 3 },
        },
      );
      assert.deepEqual(data.divergences.counts, {
        open: 2,
        failed: 1,
        resolved: 0,
        openByKind: { data_mismatch: 1, missing_user: 1 },
      });
      assert.deepEqual(data.divergences.unresolved.map((d) => d.kind), [
        "id_conflict",
        "missing_user",
        "data_mismatch",
      ]);
      assert.deepEqual(
        data.functions.map((f) => f.name),
        ["coordinator", "login", "migrate-batch", "signup"],
      );

      const login = data.functions.find((f) => f.name === "login")!;
      const { rows } = await db.query<{ path: string; n: number; errors: number; p95: number }>(
        `SELECT path, count(*) AS n, count(*) FILTER (WHERE status >= 500 OR NOT success) AS errors,
                percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95
           FROM performance_metrics
          WHERE function_name = 'login' AND recorded_at > $1::timestamptz - interval '1 hour'
            AND recorded_at <= $1::timestamptz
          GROUP BY path`,
        [now.toISOString()],
      );
      for (const row of rows) {
        const stats = login.paths[row.path as "original" | "abstracted"];
        assert.equal(stats.requests, Number(row.n));
        assert.equal(stats.errors, Number(row.errors));
        assert.equal(stats.p95Ms, Math.round(Number(row.p95) * 100) / 100);
        const series = login.series[row.path as "original" | "abstracted"];
        assert.equal(series.length, 12);
        assert.equal(series.reduce((sum, b) => sum + b.requests, 0), Number(row.n));
      }
      assert.equal(login.paths.original.fallbacks, 2);
      assert.equal(login.paths.abstracted.requests, 43);
      assert.equal(login.paths.abstracted.errors, 3);
      assert.equal(
        Math.round(login.split.abstracted! * 100),
        Math.round((43 / (43 + 122)) * 10_000),
      );
      assert.equal(login.config.rolloutPercentage, 25);
      assert.deepEqual(login.config.canary.emailDomains, ["staff.example.com"]);
      assert.equal(login.config.canary.selection, "email_domain");
      const empty = data.functions.find((f) => f.name === "coordinator")!;
      assert.deepEqual([empty.paths.original.requests, empty.split.original], [0, null]);

      assert.deepEqual(data.mismatches.map((m) => m.functionName), ["signup", "login"]);
      assert.deepEqual(data.mismatches[1]!.differingPaths, [
        "user.user_metadata.name",
        "session.expires_in",
      ]);
      assert.equal(data.errors.length, 2);
      assert.ok(data.errors.every((e) => !e.errorMessage.includes("hunter2")));
      assert.equal(data.killSwitch.engaged, false);
    } finally {
      await db.close();
    }
  });
}
