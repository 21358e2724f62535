/**
 * migrate-batch's defaults over HTTP, with the env the platform always sets (SUPABASE_URL and a
 * service key, so the per-user supabase-js original exists) and the default rollout (0 %):
 * - the cron's `POST {}` runs the set-based engine; the per-user engine runs only when asked for
 *   (`engine: "per_user"`), and a run never gets the engine it did not ask for;
 * - DRY_RUN=true: the local cron's calls (pg_cron's `POST {}`) plan and write no user; a real run
 *   and a rollback are refused.
 */
import assert from "node:assert/strict";
import { type DevServer, startDevServer } from "../../../../local/standin/dev-server.ts";
import { RuntimeFlagsStore } from "../../../../shared/flags/store.ts";

const SEEDED_USERS = 30;

async function post(server: DevServer, path: string, body: unknown) {
  const key = server.keys.serviceRoleKey;
  const response = await fetch(`${server.url}/functions/v1/migrate-batch${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    path: response.headers.get("x-migration-path"),
    // deno-lint-ignore no-explicit-any
    body: await response.json() as any,
  };
}

/** Rows that hold users or their migration: none of them may change in a dry run. */
async function userRows(server: DevServer): Promise<Record<string, number>> {
  const { rows } = await server.sql.query<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM auth.users) AS supabase_users,
            (SELECT count(*)::int FROM "user") AS users,
            (SELECT count(*)::int FROM account) AS accounts,
            (SELECT count(*)::int FROM migrated_users) AS migrated_users,
            (SELECT count(*)::int FROM user_migration_status) AS status_rows,
            (SELECT count(*)::int FROM migration_states WHERE NOT dry_run) AS real_migrations`,
  );
  return rows[0]!;
}

async function waitFor(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test("migrate-batch with the platform env and the default rollout: POST {} runs the set-based engine", async () => {
  const server = await startDevServer({
    port: 0,
    profile: "hosted",
    dataDir: null,
    seedUsers: SEEDED_USERS,
    cron: false,
    log: () => {},
    // The stand-in sets SUPABASE_URL and the service-role key, as the platform does.
    env: { LOG_LEVEL: "error", FLAGS_CACHE_TTL_MS: "0", MIGRATION_BATCH_SIZE: "10" },
  });
  try {
    const cron = await post(server, "/", {});
    assert.equal(cron.status, 200, JSON.stringify(cron.body));
    assert.equal(cron.path, "abstracted", "the set-based engine served the cron's call");
    const { rows } = await server.sql.query<{ source: string }>(
      "SELECT source FROM migration_states WHERE id = $1",
      [cron.body.migration_id],
    );
    assert.equal(rows[0]!.source, "supabase_auth", "a set-based migration, not per_user");

    const perUser = await post(server, "/", { engine: "per_user", max_batches: 1 });
    assert.equal(perUser.status, 200, JSON.stringify(perUser.body));
    assert.equal(perUser.path, "original", "asked for: the per-user baseline");
    const { rows: perUserRows } = await server.sql.query<{ source: string }>(
      "SELECT source FROM migration_states WHERE id = $1",
      [perUser.body.migration_id],
    );
    assert.equal(perUserRows[0]!.source, "supabase_auth:per_user");

    const invalid = await post(server, "/", { engine: "fastest" });
    assert.equal(invalid.status, 400, JSON.stringify(invalid.body));

    // The kill switch sends every run to the original: an explicit set-based run is refused,
    // never silently served by the per-user engine.
    const flags = new RuntimeFlagsStore(server.sql);
    assert.ok(
      (await flags.upsert("migrate-batch", { forceOriginal: true }, { updatedBy: "test" })).ok,
    );
    const forced = await post(server, "/", { engine: "set_based", max_batches: 0 });
    assert.equal(forced.status, 409, JSON.stringify(forced.body));
    assert.equal(forced.body.error.code, "conflict");
    assert.match(forced.body.error.message, /force_original/);
  } finally {
    await server.close();
  }
});

Deno.test("migrate-batch with DRY_RUN=true: the cron's calls plan and write no user; real runs and rollbacks are refused", async () => {
  const server = await startDevServer({
    port: 0,
    profile: "hosted",
    dataDir: null,
    seedUsers: SEEDED_USERS,
    cron: { intervalMs: 100 },
    log: () => {},
    env: {
      LOG_LEVEL: "error",
      DRY_RUN: "true",
      MIGRATION_MODE: "dual_write",
      MIGRATION_BATCH_SIZE: "10",
      MIGRATION_BATCH_BUDGET_MS: "0",
    },
  });
  try {
    await server.cron!.stop();
    const before = await userRows(server);
    assert.equal(before.users, 0);
    server.cron!.start();
    // pg_cron's POST {} again and again, one batch per call.
    await waitFor("six cron calls", () => server.cron!.stats().succeeded >= 6);
    await server.cron!.stop();
    assert.equal(server.cron!.stats().failed, 0, server.cron!.stats().lastSummary ?? "");
    assert.deepEqual(await userRows(server), before, "no user written anywhere");
    const { rows } = await server.sql.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM migration_states WHERE dry_run",
    );
    assert.ok(rows[0]!.n >= 1, "the cron's calls were dry runs");

    const dry = await post(server, "/", {});
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.equal(dry.body.dry_run, true);
    // `migrated` counts the users a real run would migrate; none is written (checked below).

    const real = await post(server, "/", { dry_run: false });
    assert.equal(real.status, 409, JSON.stringify(real.body));
    assert.equal(real.body.error.details.variable, "DRY_RUN");
    const rollback = await post(server, "/rollback", { migration_id: "anything", confirm: true });
    assert.equal(rollback.status, 409, JSON.stringify(rollback.body));
    assert.match(rollback.body.error.message, /DRY_RUN is set/);
    assert.deepEqual(await userRows(server), before);
  } finally {
    await server.close();
  }
});
