/**
 * Emergency rollback: one call forces the original for every function (the '*' kill switch),
 * recorded and alerted, and undone by one call. Across two separately started server processes
 * sharing one PostgreSQL database it takes effect within the flags cache TTL.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/env.ts";
import { FlagsCache } from "../../../shared/flags/cache.ts";
import { FlagsRoutingSource } from "../../../shared/flags/routing-source.ts";
import { RuntimeFlagsStore } from "../../../shared/flags/store.ts";
import { BackgroundTasks } from "../../../shared/migrator/background.ts";
import { createLogger } from "../../../shared/observability/logger.ts";
import { webhookAlertSink } from "../../../shared/ops/alert-sinks.ts";
import { AlertDispatcher } from "../../../shared/ops/alerts.ts";
import { OpsContext } from "../../../shared/ops/context.ts";
import { EmergencySwitch } from "../../../shared/ops/emergency.ts";
import { freshPostgres, sqlProviders, TEST_DATABASE_URL } from "../../helpers/db.ts";
import { logEntries, startWebhookReceiver } from "./helpers.ts";

const silent = createLogger({ level: "silent" });
const ONCALL = { by: "oncall@example.com" };

for (const provider of sqlProviders()) {
  Deno.test(`EmergencySwitch on ${provider.name}`, async (t) => {
    const db = await provider.open();
    const webhook = startWebhookReceiver();
    const background = new BackgroundTasks();
    const invalidated: string[] = [];
    const context = new OpsContext({
      sql: db,
      logger: silent,
      alerts: new AlertDispatcher({
        sql: db,
        sinks: [webhookAlertSink(webhook.url)],
        background,
        logger: silent,
      }),
      onFlagsChanged: (name) => invalidated.push(name),
    });
    const emergency = new EmergencySwitch(context);
    const store = new RuntimeFlagsStore(db);
    const env = loadConfig({}).env;
    const routing = new FlagsRoutingSource(env, new FlagsCache(store, { ttlMs: 0 }));
    try {
      await t.step("confirmation and reason are required, naming the field", async () => {
        const missing = await emergency.engage({ reason: "incident" }, ONCALL);
        assert.ok(!missing.ok);
        assert.equal((missing.error.details as { field: string }).field, "confirm");
        const wrong = await emergency.engage({ confirm: "yes", reason: "x" }, ONCALL);
        assert.ok(!wrong.ok);
        assert.match(wrong.error.message, /must be "ROLLBACK"/);
        const noReason = await emergency.engage({ confirm: "ROLLBACK" }, ONCALL);
        assert.ok(!noReason.ok);
        assert.equal((noReason.error.details as { field: string }).field, "reason");
        const state = await emergency.state();
        assert.ok(state.ok);
        assert.equal(state.value.engaged, false, "nothing changed");
      });

      await t.step(
        "engage forces the original everywhere, even over a function's own row",
        async () => {
          assert.ok(
            (await store.upsert("signup", { rolloutPercentage: 100, forceOriginal: false })).ok,
          );
          assert.equal((await routing.configFor("signup")).config.forceOriginal, false);

          const engaged = await emergency.engage(
            { confirm: "ROLLBACK", reason: "login errors spiking" },
            ONCALL,
          );
          assert.ok(engaged.ok, !engaged.ok ? engaged.error.message : "");
          assert.deepEqual(
            [engaged.value.engaged, engaged.value.changed, engaged.value.updatedBy],
            [true, true, "oncall@example.com"],
          );
          assert.deepEqual(invalidated, ["*"]);
          for (const fn of ["signup", "login", "coordinator", "migrate-batch"]) {
            assert.equal((await routing.configFor(fn)).config.forceOriginal, true, fn);
          }
          assert.equal((await routing.configFor("signup")).config.rolloutPercentage, 100, "kept");
          const global = await store.get("*");
          assert.ok(global.ok);
          assert.equal(global.value!.reason, "login errors spiking");

          const log = await logEntries(db, "ops");
          assert.equal(log.at(-1)!.phase, "emergency_rollback");
          assert.equal(log.at(-1)!.status, "completed");
          assert.equal(log.at(-1)!.metadata.by, "oncall@example.com");
          await background.drain();
          await webhook.waitFor(1);
          assert.match(String(webhook.bodies[0]!.text), /^\[CRITICAL\] EMERGENCY ROLLBACK/);
        },
      );

      await t.step("engaging again is harmless and does not alert twice", async () => {
        const again = await emergency.engage({ confirm: "ROLLBACK", reason: "still bad" }, ONCALL);
        assert.ok(again.ok);
        assert.equal(again.value.changed, false);
        await background.drain();
        assert.equal(webhook.bodies.length, 1);
      });

      await t.step("release needs its own confirmation and restores routing", async () => {
        const unconfirmed = await emergency.release({}, ONCALL);
        assert.ok(!unconfirmed.ok);
        assert.equal((unconfirmed.error.details as { field: string }).field, "confirm");
        const released = await emergency.release(
          { confirm: "RESTORE", reason: "fixed" },
          ONCALL,
        );
        assert.ok(released.ok);
        assert.deepEqual([released.value.engaged, released.value.changed], [false, true]);
        const global = await store.get("*");
        assert.ok(global.ok);
        assert.equal(global.value!.forceOriginal, null, "back to inheriting the environment");
        const config = (await routing.configFor("signup")).config;
        assert.equal(config.forceOriginal, false);
        assert.equal(config.rolloutPercentage, 100);
        await background.drain();
        await webhook.waitFor(2);
        assert.match(String(webhook.bodies[1]!.text), /^\[INFO\] Emergency rollback lifted/);
        const state = await emergency.state();
        assert.ok(state.ok);
        assert.equal(state.value.engaged, false);
      });
    } finally {
      await background.drain();
      await webhook.close();
      await db.close();
    }
  });
}

interface ServerProcess {
  readonly port: number;
  stop(): Promise<void>;
}

async function startServerProcess(url: string, ttlMs: number): Promise<ServerProcess> {
  const script = new URL("./migrator-server.ts", import.meta.url).pathname;
  // The deno binary itself (node_modules/.bin/deno is a Node wrapper).
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", script, url, String(ttlMs)],
    stdin: "piped",
    stdout: "piped",
    // Collected, and shown only when the process fails (Deno prints a harmless serve notice).
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  while (!/listening (\d+)/.test(output)) {
    const { value, done } = await reader.read();
    if (done) {
      throw new Error(`server process exited before listening: ${output}\n${await stderr}`);
    }
    output += value;
  }
  const port = Number(/listening (\d+)/.exec(output)![1]);
  return {
    port,
    async stop() {
      await child.stdin.close();
      await reader.cancel();
      const status = await child.status;
      const errors = await stderr;
      assert.equal(status.code, 0, `the server process shut down cleanly:\n${errors}`);
    },
  };
}

async function servedBy(port: number, user: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: `${user}@example.com` }),
  });
  const body = await res.json() as { impl: string };
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-migration-path"), body.impl);
  return body.impl;
}

async function allServedBy(ports: number[], users: number): Promise<Set<string>> {
  const impls = await Promise.all(
    ports.flatMap((port) => Array.from({ length: users }, (_, i) => servedBy(port, `u${i}`))),
  );
  return new Set(impls);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test({
  name: "emergency rollback reaches two separately started server processes within the flags TTL",
  // Two processes cannot share one embedded PGlite (single-process database): PostgreSQL only.
  ignore: !TEST_DATABASE_URL,
  async fn() {
    const TTL_MS = 1000;
    // Time for a request after the TTL to trigger and finish its re-read.
    const GRACE_MS = 500;
    const db = await freshPostgres({ max: 2 });
    const servers: ServerProcess[] = [];
    try {
      await new RuntimeFlagsStore(db).upsert("login", { rolloutPercentage: 100 });
      servers.push(await startServerProcess(db.url, TTL_MS));
      servers.push(await startServerProcess(db.url, TTL_MS));
      const ports = servers.map((s) => s.port);
      assert.deepEqual(await allServedBy(ports, 10), new Set(["abstracted"]));

      const emergency = new EmergencySwitch(new OpsContext({ sql: db, logger: silent }));
      const engaged = await emergency.engage({ confirm: "ROLLBACK", reason: "drill" }, ONCALL);
      assert.ok(engaged.ok);
      await sleep(TTL_MS + GRACE_MS);
      assert.deepEqual(await allServedBy(ports, 10), new Set(["original"]));

      const released = await emergency.release(
        { confirm: "RESTORE", reason: "drill over" },
        ONCALL,
      );
      assert.ok(released.ok);
      await sleep(TTL_MS + GRACE_MS);
      assert.deepEqual(await allServedBy(ports, 10), new Set(["abstracted"]));
    } finally {
      for (const server of servers) await server.stop();
      await db.close();
    }
  },
});
