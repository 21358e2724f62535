/**
 * Reconciliation against the hosted-profile Auth stand-in, where admin createUser with an id that
 * already exists answers 500 `unexpected_failure` (not 422): when another writer creates the user
 * between reconciliation's look-up and its create, the row is resolved as "already present" —
 * verified by fetching the user by id — and a 500 for a user that is not there stays a failure.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { DivergenceRepository } from "../../../shared/auth/divergences.ts";
import { MigrationStatusRepository } from "../../../shared/auth/migration-status.ts";
import { hashBcrypt } from "../../../shared/auth/passwords.ts";
import { reconcileDivergences } from "../../../shared/auth/reconciliation.ts";
import { UserSync } from "../../../shared/auth/user-sync.ts";
import { createAuthApi } from "../../../local/standin/auth/app.ts";
import { createStandinKeys } from "../../../local/standin/keys.ts";
import { TEST_DATABASE_URL } from "../../helpers/db.ts";
import {
  betterAuthOn,
  email,
  openDatabase,
  PASSWORD,
  presence,
  type Provider,
  supabaseAt,
} from "./harness.ts";

/**
 * The hosted stand-in behind a proxy that plays "someone else was faster": on the next admin
 * createUser it first forwards the request once on its own (the other writer), then forwards
 * ours, which meets the existing id. `fail500` instead answers GoTrue's 500 without creating.
 */
function racingStandin(app: Hono) {
  const state = { race: false, fail500: false };
  const proxy = new Hono();
  proxy.all("*", async (c) => {
    const request = c.req.raw;
    const isCreate = request.method === "POST" && new URL(request.url).pathname.endsWith(
      "/admin/users",
    );
    if (isCreate && state.fail500) {
      state.fail500 = false;
      return c.json({
        code: 500,
        error_code: "unexpected_failure",
        msg: "Database error creating new user",
      }, 500);
    }
    if (isCreate && state.race) {
      state.race = false;
      const body = await request.text();
      const post = (text: string) =>
        new Request(request.url, { method: "POST", headers: request.headers, body: text });
      // The same id under an address changed meanwhile: GoTrue's email check passes (422
      // email_exists needs the same address) and the insert meets the primary key.
      const theirs = JSON.parse(body) as { email: string };
      theirs.email = `changed-${theirs.email}`;
      const first = await app.fetch(post(JSON.stringify(theirs)), c.env);
      assert.equal(first.status, 200, "the other writer created the user");
      await first.body?.cancel();
      return await app.fetch(post(body), c.env);
    }
    return await app.fetch(request, c.env);
  });
  return { proxy, state };
}

async function scenario(provider: Provider, t: Deno.TestContext) {
  const db = await openDatabase(provider);
  const keys = await createStandinKeys();
  const abort = new AbortController();
  const standin = new Hono();
  const { proxy, state } = racingStandin(standin);
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: abort.signal, onListen: () => {} },
    (request, info) => proxy.fetch(request, info),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  standin.route(
    "/auth/v1",
    createAuthApi({ sql: db, keys, issuer: `${url}/auth/v1`, profile: "hosted" }),
  );
  const supabase = supabaseAt(url, keys, db);
  const betterAuth = betterAuthOn(db, keys);
  const status = new MigrationStatusRepository(db);
  const divergences = new DivergenceRepository(db);
  const run = () =>
    reconcileDivergences({
      supabase,
      betterAuth,
      divergences,
      status,
      sync: new UserSync({ supabase, betterAuth, status, divergences, mode: "dual_write" }),
    }, { maxAttempts: 3 });
  const betterAuthOnlyUser = async (label: string) => {
    const address = email(label);
    const created = await betterAuth.signUp({ email: address, password: PASSWORD });
    assert.ok(created.ok);
    const id = created.value.user.id;
    await divergences.record({
      userId: id,
      email: address,
      kind: "missing_user",
      missingSide: "supabase",
      operation: "signup",
      reason: "timed out",
      passwordHash: await hashBcrypt(PASSWORD),
    });
    return { id, address };
  };
  try {
    await t.step("hosted createUser on an existing id is a 500 unexpected_failure", async () => {
      const { id, address } = await betterAuthOnlyUser("dup-id");
      const headers = {
        apikey: keys.serviceRoleKey,
        Authorization: `Bearer ${keys.serviceRoleKey}`,
        "Content-Type": "application/json",
        "X-Supabase-Api-Version": "2024-01-01",
      };
      const create = (mail: string) =>
        fetch(`${url}/auth/v1/admin/users`, {
          method: "POST",
          headers,
          body: JSON.stringify({ id, email: mail, password: PASSWORD }),
        });
      const first = await create(address);
      assert.equal(first.status, 200);
      await first.body?.cancel();
      const second = await create(`other-${address}`);
      assert.equal(second.status, 500);
      assert.deepEqual(await second.json(), {
        code: "unexpected_failure",
        message: "Database error creating new user",
      });
      await db.query("DELETE FROM auth_divergences WHERE user_id = $1::uuid", [id]);
    });

    await t.step("created meanwhile: the 500 is resolved as already present", async () => {
      const { id, address } = await betterAuthOnlyUser("raced");
      state.race = true;
      const report = await run();
      assert.equal(state.race, false, "the race happened");
      assert.deepEqual(report.outcomes.map((o) => o.result), ["already present in supabase"]);
      assert.deepEqual(await presence(db, `changed-${address}`), {
        supabase: [id],
        betterAuth: [],
      });
      const [row] = await divergences.listForUser(id);
      assert.equal(row!.status, "resolved");
      assert.equal((await status.get(id))?.supabaseMigrated, true);
    });

    await t.step("a 500 for a user that is not there stays a failure", async () => {
      const { id, address } = await betterAuthOnlyUser("real-500");
      state.fail500 = true;
      const report = await run();
      assert.equal(report.failed, 1);
      assert.match(report.outcomes[0]!.result, /^failed: /);
      assert.deepEqual(await presence(db, address), { supabase: [], betterAuth: [id] });
      const [row] = await divergences.listForUser(id);
      assert.equal(row!.status, "open");
      // The next run, with Auth healthy again, creates it.
      const retried = await run();
      assert.deepEqual(retried.outcomes.map((o) => o.result), ["created in supabase"]);
    });

    await t.step(
      '"Confirm email" on: an unverified user is created in Supabase unconfirmed, never by admin',
      async () => {
        const { id, address } = await betterAuthOnlyUser("awaiting");
        // As registerAuth wires it: GoTrue's own setting (hosted: confirmation required).
        const report = await reconcileDivergences({
          supabase,
          betterAuth,
          divergences,
          status,
          sync: new UserSync({
            supabase,
            betterAuth,
            status,
            divergences,
            mode: "dual_write",
            emailConfirmationRequired: () => supabase.requiresEmailConfirmation(),
          }),
        }, { maxAttempts: 3 });
        assert.deepEqual(report.outcomes.map((o) => o.result), ["created in supabase"]);
        const { rows } = await db.query<{ confirmed: boolean }>(
          "SELECT email_confirmed_at IS NOT NULL AS confirmed FROM auth.users WHERE id = $1::uuid",
          [id],
        );
        assert.deepEqual(rows, [{ confirmed: false }]);
        const login = await supabase.signIn({ email: address, password: PASSWORD });
        assert.equal(login.ok ? "signed in" : login.error.code, "email_not_confirmed");
      },
    );
  } finally {
    abort.abort();
    await server.finished;
    await db.close();
  }
}

Deno.test("reconciliation on the hosted stand-in (PGlite)", (t) => scenario("pglite", t));
Deno.test({
  name: "reconciliation on the hosted stand-in (PostgreSQL 15)",
  ignore: !TEST_DATABASE_URL,
  fn: (t) => scenario("postgres", t),
});
