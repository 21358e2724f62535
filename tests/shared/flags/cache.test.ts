import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/env.ts";
import { openPostgres } from "../../../shared/db/postgres-client.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { FlagsCache, type FlagsRowsReader } from "../../../shared/flags/cache.ts";
import { RuntimeFlagsStore } from "../../../shared/flags/store.ts";
import { MigrationRuntime } from "../../../shared/migrator/runtime.ts";
import type { Handler, MigratorLogger } from "../../../shared/migrator/types.ts";
import { sqlProviders } from "../../helpers/db.ts";

const env = loadConfig({ MIGRATION_ROLLOUT_PERCENTAGE: "0", FLAGS_CACHE_TTL_MS: "100" }).env;

/** A clock the test moves by hand: "not yet expired" is then a fact, not a race. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const answer = (name: string): Handler => () => Promise.resolve(Response.json({ served: name }));

const login = (email: string) =>
  new Request("http://localhost/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: "pw" }),
  });

async function pathFor(runtime: MigrationRuntime, email: string): Promise<string | null> {
  const migrator = runtime.migrator({
    policy: {
      functionName: "login",
      classify: () => ({ name: "login", safety: "write", shadow: "off" }),
    },
    original: answer("original"),
    abstracted: answer("abstracted"),
  });
  const res = await migrator.handle(login(email));
  await res.body?.cancel();
  return res.headers.get("x-migration-path");
}

/** A second "instance" gets its own pool on PostgreSQL; PGlite is one in-process database. */
function secondConnection(db: SqlClient): SqlClient {
  const url = (db as { url?: string }).url;
  return url ? openPostgres({ url, max: 2 }) : db;
}

for (const provider of sqlProviders()) {
  Deno.test(`FlagsCache and runtime flags across instances on ${provider.name}`, async (t) => {
    const db = await provider.open();
    const otherDb = secondConnection(db);
    const store = new RuntimeFlagsStore(db);
    const clock = manualClock();
    const flagErrors: unknown[] = [];
    const quiet: MigratorLogger = { warn: () => {}, error: () => {} };
    const instance = (sql: SqlClient, onError?: (error: unknown) => void) =>
      new MigrationRuntime({
        sql,
        env,
        logger: quiet,
        flagsCache: new FlagsCache(new RuntimeFlagsStore(sql), {
          ttlMs: 100,
          now: clock.now,
          onError,
        }),
      });
    const a = instance(db);
    const b = instance(otherDb, (error) => flagErrors.push(error));
    try {
      await t.step("both instances start on env defaults (0% → original)", async () => {
        assert.equal(await pathFor(a, "carol@example.com"), "original");
        assert.equal(await pathFor(b, "carol@example.com"), "original");
      });

      await t.step(
        "a table change reaches the second instance after the TTL, not before",
        async () => {
          const changed = await store.upsert("login", { rolloutPercentage: 100 }, {
            updatedBy: "ops",
            reason: "full rollout",
          });
          assert.ok(changed.ok);
          clock.advance(99);
          assert.equal(await pathFor(b, "carol@example.com"), "original", "still cached");
          clock.advance(2);
          assert.equal(await pathFor(b, "carol@example.com"), "abstracted");
          assert.equal(await pathFor(a, "carol@example.com"), "abstracted");
        },
      );

      await t.step("the global kill switch reaches every instance within one TTL", async () => {
        const killed = await store.setKillSwitch(true, { updatedBy: "oncall", reason: "incident" });
        assert.ok(killed.ok);
        clock.advance(101);
        assert.equal(await pathFor(a, "carol@example.com"), "original");
        assert.equal(await pathFor(b, "carol@example.com"), "original");
        const lifted = await store.setKillSwitch(false);
        assert.ok(lifted.ok);
        clock.advance(101);
        assert.equal(await pathFor(b, "carol@example.com"), "abstracted");
      });

      await t.step("a database outage keeps the last good flags and reports it", async () => {
        await db.exec("ALTER TABLE runtime_flags RENAME TO runtime_flags_outage");
        try {
          clock.advance(101);
          assert.equal(await pathFor(b, "carol@example.com"), "abstracted", "last good: 100%");
          assert.equal(flagErrors.length, 1);
          assert.equal((flagErrors[0] as { code?: string }).code, "database_error");
          assert.equal(b.flagsCache.health().stale, true);
          // Within the TTL after a failure the dead table is not asked again.
          assert.equal(await pathFor(b, "carol@example.com"), "abstracted");
          assert.equal(flagErrors.length, 1);
          await b.flush();
          const { rows } = await otherDb.query<{ metadata: { flags_stale?: boolean } }>(
            "SELECT metadata FROM performance_metrics ORDER BY id DESC LIMIT 1",
          );
          assert.equal(rows[0]?.metadata.flags_stale, true, "stale flags are visible in metrics");
        } finally {
          await db.exec("ALTER TABLE runtime_flags_outage RENAME TO runtime_flags");
        }
        clock.advance(101);
        assert.equal(await pathFor(b, "carol@example.com"), "abstracted");
        assert.equal(b.flagsCache.health().stale, false, "recovered");
      });

      await t.step("with the real clock, a change is visible once the TTL has passed", async () => {
        const cache = new FlagsCache(store, { ttlMs: 30 });
        const before = await cache.get("login");
        assert.equal(before.function?.rolloutPercentage, 100);
        assert.ok((await store.upsert("login", { rolloutPercentage: 40 })).ok);
        await new Promise((resolve) => setTimeout(resolve, 40));
        assert.equal((await cache.get("login")).function?.rolloutPercentage, 40);
      });

      await t.step("concurrent refreshes of an expired entry share one read", async () => {
        let reads = 0;
        const counting: FlagsRowsReader = {
          rowsFor: (name) => {
            reads++;
            return store.rowsFor(name);
          },
        };
        const cache = new FlagsCache(counting, { ttlMs: 100, now: clock.now });
        const snapshots = await Promise.all(Array.from({ length: 25 }, () => cache.get("login")));
        assert.equal(reads, 1);
        assert.ok(snapshots.every((snapshot) => snapshot === snapshots[0]));
        clock.advance(101);
        await Promise.all(Array.from({ length: 25 }, () => cache.get("login")));
        assert.equal(reads, 2);
      });

      await t.step("a hung read does not hold requests longer than refreshWaitMs", async () => {
        const hang = Promise.withResolvers<never>();
        let reads = 0;
        const slow: FlagsRowsReader = {
          rowsFor: (name) => reads++ === 0 ? store.rowsFor(name) : hang.promise,
        };
        const errors: unknown[] = [];
        const cache = new FlagsCache(slow, {
          ttlMs: 100,
          refreshWaitMs: 10,
          now: clock.now,
          onError: (error) => errors.push(error),
        });
        const good = await cache.get("login");
        clock.advance(101);
        const served = await cache.get("login");
        assert.equal(served.function, good.function, "last good rows served");
        assert.equal(served.stale, true);
        assert.equal(errors.length, 1);
        assert.equal(await cache.get("login"), served, "later callers do not wait again");
        hang.reject(new Error("gave up"));
      });

      await t.step("TTL above 5 s is refused", () => {
        assert.throws(() => new FlagsCache(store, { ttlMs: 5001 }), RangeError);
      });
    } finally {
      await a.close();
      await b.close();
      if (otherDb !== db) await otherDb.close();
      await db.close();
    }
  });
}
