/**
 * The circuit breaker through the real EdgeFunctionMigrator, with its shared state in the real
 * circuit_breakers table (PGlite and PostgreSQL 15). Two migrators with their own breakers stand
 * for two instances of one function. Time is a shared fake clock, so every assertion is a count:
 * how many calls reached the hanging dependency.
 */
import assert from "node:assert/strict";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { defaultRoutingConfig, staticRoutingSource } from "../../../shared/flags/resolve.ts";
import { BackgroundTasks } from "../../../shared/migrator/background.ts";
import {
  BREAKER_OPEN,
  CircuitBreaker,
  SqlBreakerStore,
  throughBreaker,
} from "../../../shared/migrator/circuit-breaker.ts";
import { MIGRATION_PATH_HEADER } from "../../../shared/migrator/http.ts";
import { BREAKER_HEADER, EdgeFunctionMigrator } from "../../../shared/migrator/migrator.ts";
import type { Handler } from "../../../shared/migrator/types.ts";
import { sqlProviders } from "../../helpers/db.ts";

const NAME = "coordinator";
const OPEN_MS = 10_000;

const routing = staticRoutingSource(defaultRoutingConfig({
  rolloutPercentage: 100,
  enableFallback: true,
  fallbackTimeoutMs: 20,
}));

const original: Handler = () => Promise.resolve(Response.json({ served: "original" }));

/** The abstracted path's dependency: hangs (until the migrator gives up) or answers `status`. */
class Dependency {
  calls = 0;
  mode: "hang" | number = "hang";
  readonly handler: Handler = (_req, ctx) => {
    this.calls++;
    if (this.mode !== "hang") {
      return Promise.resolve(Response.json({ served: "abstracted" }, { status: this.mode }));
    }
    return new Promise((_resolve, reject) => {
      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
    });
  };
}

function instance(
  db: SqlClient,
  dependency: Dependency,
  clock: { now: number },
  options: { breaker?: boolean } = {},
) {
  const background = new BackgroundTasks();
  const now = () => clock.now;
  const breaker = new CircuitBreaker({
    failureThreshold: 3,
    windowMs: 60_000,
    openMs: OPEN_MS,
    cacheTtlMs: 60_000,
    store: new SqlBreakerStore(db, { now }),
    track: (task) => background.track(task),
    now,
  });
  const migrator = new EdgeFunctionMigrator({
    policy: {
      functionName: NAME,
      classify: () => ({ name: "agents.list", safety: "read_only", shadow: "off" }),
    },
    original,
    abstracted: dependency.handler,
    routing,
    background,
    ...(options.breaker === false ? {} : { breaker }),
  });
  return { migrator, breaker };
}

const request = (i: number) =>
  new Request(`http://localhost/${NAME}/agents`, { headers: { "x-routing-key": `user-${i}` } });

/** Fires `count` concurrent requests; returns how each was answered. */
async function wave(migrator: EdgeFunctionMigrator, count: number) {
  const responses = await Promise.all(
    Array.from({ length: count }, (_, i) => migrator.handle(request(i))),
  );
  const seen = { original: 0, abstracted: 0, open: 0, probe: 0, statuses: new Set<number>() };
  for (const response of responses) {
    await response.body?.cancel();
    seen.statuses.add(response.status);
    if (response.headers.get(MIGRATION_PATH_HEADER) === "original") seen.original++;
    else seen.abstracted++;
    const breaker = response.headers.get(BREAKER_HEADER);
    if (breaker === "open") seen.open++;
    if (breaker === "probe") seen.probe++;
  }
  return seen;
}

for (const provider of sqlProviders()) {
  Deno.test(`circuit breaker on ${provider.name}`, async (t) => {
    const db = await provider.open();
    try {
      await t.step(
        "a hanging dependency costs one timeout per probe interval across instances, not one per request",
        async () => {
          const clock = { now: 1_800_000_000_000 };
          const dependency = new Dependency();
          const a = instance(db, dependency, clock);
          const b = instance(db, dependency, clock);

          // Closed: three timeouts (each answered by the original) open the breaker.
          for (let i = 0; i < 3; i++) {
            const seen = await wave(a.migrator, 1);
            assert.equal(seen.original, 1);
            assert.deepEqual([...seen.statuses], [200]);
          }
          assert.equal(dependency.calls, 3);
          await a.migrator.flush();
          assert.equal(a.breaker.state(NAME), "open");

          // Open, on both instances (B learns it from the table): nothing reaches the dependency.
          await b.breaker.refresh(NAME);
          const open = await Promise.all([wave(a.migrator, 40), wave(b.migrator, 40)]);
          assert.equal(dependency.calls, 3);
          for (const seen of open) {
            assert.equal(seen.original, 40);
            assert.equal(seen.open, 40);
            assert.deepEqual([...seen.statuses], [200]);
          }

          // One probe interval later: exactly one probe among 80 concurrent requests; it times out.
          clock.now += OPEN_MS;
          await Promise.all([a.breaker.refresh(NAME), b.breaker.refresh(NAME)]);
          const halfOpen = await Promise.all([wave(a.migrator, 40), wave(b.migrator, 40)]);
          await Promise.all([a.migrator.flush(), b.migrator.flush()]);
          assert.equal(dependency.calls, 4);
          assert.equal(halfOpen[0].probe + halfOpen[1].probe, 1);
          assert.equal(halfOpen[0].original + halfOpen[1].original, 80);

          // The failed probe re-opened it for another interval, for both instances.
          await Promise.all([a.breaker.refresh(NAME), b.breaker.refresh(NAME)]);
          await Promise.all([wave(a.migrator, 40), wave(b.migrator, 40)]);
          assert.equal(dependency.calls, 4);

          // Healed: the next interval's single probe succeeds and closes the breaker everywhere.
          dependency.mode = 200;
          clock.now += OPEN_MS;
          await Promise.all([a.breaker.refresh(NAME), b.breaker.refresh(NAME)]);
          const healed = await Promise.all([wave(a.migrator, 40), wave(b.migrator, 40)]);
          await Promise.all([a.migrator.flush(), b.migrator.flush()]);
          // Exactly one probe; once it has closed the breaker, the other instance may already
          // send the rest of this wave to the healed path (each such request is one call).
          assert.equal(healed[0].probe + healed[1].probe, 1);
          const healedAbstracted = healed[0].abstracted + healed[1].abstracted;
          assert.ok(healedAbstracted >= 1);
          assert.equal(dependency.calls, 4 + healedAbstracted);
          const callsWhenClosed = dependency.calls;

          await Promise.all([a.breaker.refresh(NAME), b.breaker.refresh(NAME)]);
          const closed = await Promise.all([wave(a.migrator, 10), wave(b.migrator, 10)]);
          assert.equal(closed[0].abstracted + closed[1].abstracted, 20);
          assert.equal(closed[0].open + closed[1].open + closed[0].probe + closed[1].probe, 0);
          assert.equal(dependency.calls, callsWhenClosed + 20);
          const { rows } = await db.query<{ state: string; opened_count: number | string }>(
            "SELECT state, opened_count FROM circuit_breakers WHERE name = $1",
            [NAME],
          );
          assert.equal(rows[0]?.state, "closed");
          assert.equal(Number(rows[0]?.opened_count), 2);
        },
      );

      await t.step("without the breaker the same waves cost one timeout per request", async () => {
        const clock = { now: 1_800_000_000_000 };
        const dependency = new Dependency();
        const a = instance(db, dependency, clock, { breaker: false });
        for (let i = 0; i < 3; i++) await wave(a.migrator, 1);
        await wave(a.migrator, 40);
        await a.migrator.flush();
        assert.equal(dependency.calls, 43);
      });

      await t.step(
        "a refusal (4xx) is never counted as a failure nor turned into a success",
        async () => {
          await db.exec("DELETE FROM circuit_breakers");
          const clock = { now: 1_800_000_000_000 };
          const dependency = new Dependency();
          dependency.mode = 401;
          const a = instance(db, dependency, clock);
          for (let i = 0; i < 10; i++) {
            const response = await a.migrator.handle(request(i));
            assert.equal(response.status, 401);
            assert.equal(response.headers.get(MIGRATION_PATH_HEADER), "abstracted");
            assert.equal(response.headers.get(BREAKER_HEADER), null);
            await response.body?.cancel();
          }
          await a.migrator.flush();
          assert.equal(dependency.calls, 10);
          assert.equal(a.breaker.state(NAME), "closed");
          const { rows } = await db.query("SELECT 1 FROM circuit_breakers WHERE name = $1", [NAME]);
          assert.equal(rows.length, 0);
        },
      );
    } finally {
      await db.close();
    }
  });
}

Deno.test("circuit breaker: failures older than the window do not add up; one settle per attempt", async () => {
  let now = 0;
  // A backend of the dual-write service uses the same class under its own name.
  const breaker = new CircuitBreaker({
    failureThreshold: 2,
    windowMs: 1000,
    openMs: 5000,
    now: () => now,
  });
  const name = "signup:better_auth";
  const fail = async () => {
    const admission = await breaker.admit(name);
    assert.ok(admission.allowed);
    admission.settle("failure");
    admission.settle("failure"); // ignored: one attempt, one result
  };
  await fail();
  now += 1500;
  await fail();
  assert.equal(breaker.state(name), "closed");
  now += 10;
  await fail();
  assert.equal(breaker.state(name), "open");
  assert.deepEqual(await breaker.admit(name), { allowed: false, decision: "open" });
  assert.equal(breaker.state("signup:supabase"), "closed");
});

Deno.test("throughBreaker: the per-backend hook counts outages, never refusals", async () => {
  let now = 0;
  const breaker = new CircuitBreaker({
    failureThreshold: 2,
    windowMs: 60_000,
    openMs: 5000,
    now: () => now,
  });
  type Answer = { ok: true } | { ok: false; definitive: boolean };
  const failed = (answer: Answer) => !answer.ok && !answer.definitive;
  let calls = 0;
  const backend = (answer: Answer) => () => {
    calls++;
    return Promise.resolve(answer);
  };
  const name = "login:better_auth";
  // Ten wrong passwords: answers, not outages.
  for (let i = 0; i < 10; i++) {
    assert.deepEqual(
      await throughBreaker(breaker, name, backend({ ok: false, definitive: true }), failed),
      { ok: false, definitive: true },
    );
  }
  assert.equal(breaker.state(name), "closed");
  // Two outages (one thrown) open it; the next call never reaches the backend.
  await throughBreaker(breaker, name, backend({ ok: false, definitive: false }), failed);
  await assert.rejects(
    throughBreaker(breaker, name, () => Promise.reject<Answer>(new Error("down")), failed),
    /down/,
  );
  assert.equal(
    await throughBreaker(breaker, name, backend({ ok: true }), failed),
    BREAKER_OPEN,
  );
  assert.equal(calls, 11);
  now += 5000;
  assert.deepEqual(await throughBreaker(breaker, name, backend({ ok: true }), failed), {
    ok: true,
  });
  assert.equal(breaker.state(name), "closed");
  // Without a breaker the call simply runs.
  assert.deepEqual(await throughBreaker(undefined, name, backend({ ok: true }), failed), {
    ok: true,
  });
});
