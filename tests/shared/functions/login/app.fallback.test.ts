/**
 * Signup and login over HTTP while Better Auth is really broken: the dev server's functions are
 * built on a container whose Better Auth (instance and service) uses a database that does not
 * work. Everything else (the Auth stand-in, bookkeeping, flags) runs on the dev server's PGlite.
 *
 * - dual_write with Better Auth as primary, its database closed (every call fails at once):
 *   signups and logins are served by Supabase inside the abstracted path, the one-sided signup
 *   is recorded (missing_user) and survives a reconciliation run that cannot repair it yet; a
 *   wrong password is still a 400, not an outage.
 * - better_auth_only, its database a PostgreSQL port nobody listens on (postgres.js then backs
 *   off between reconnects, so calls fail or hang past MIGRATION_FALLBACK_TIMEOUT): login falls
 *   back to the original path (the migrator; login is idempotent); signup, a write that claimed
 *   its commit, is not repeated on the original and answers 503 auth_unavailable.
 */
import assert from "node:assert/strict";
import { BetterAuthService } from "../../../../shared/auth/better-auth-service.ts";
import { createBetterAuth } from "../../../../shared/auth/better-auth.ts";
import {
  AccessTokenSigningToken,
  AccessTokenVerifierToken,
  AuthEventSinkToken,
  BetterAuthServiceToken,
  BetterAuthToken,
  PasswordPolicyToken,
} from "../../../../shared/auth/tokens.ts";
import type { Container } from "../../../../shared/di/container.ts";
import { ConfigToken } from "../../../../shared/di/tokens.ts";
import { openPostgres } from "../../../../shared/db/postgres-client.ts";
import type { SqlClient } from "../../../../shared/db/sql-client.ts";
import {
  buildFunctionApp,
  FUNCTION_NAMES,
  isFunctionName,
} from "../../../../shared/functions/registry.ts";
import { openStandinDatabase } from "../../../../local/standin/database.ts";
import type { FunctionRegistry } from "../../../../local/standin/functions-gateway.ts";
import {
  assertAuthContract,
  assertAwaitingConfirmation,
  assertErrorCode,
  assertMigrationHeaders,
  assertStatusMatches,
  assertStoredIn,
  type AuthServer,
  callCoordinator,
  callFunction,
  clickConfirmationLink,
  DEMO,
  GOOD_PASSWORD,
  idsByEmail,
  rowCounts,
  setRollout,
  startAuthServer,
  tokenIssuer,
  uniqueEmail,
} from "../auth-e2e-helpers.ts";

const SUPABASE_ONLY = { supabase: true, betterAuth: false };

/** A port that was free a moment ago and is closed now: connections are refused at once. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Better Auth, as registerAuth builds it, but over `deadDb`. */
function registerDeadBetterAuth(container: Container, deadDb: SqlClient): void {
  container.register(BetterAuthToken, async (c) =>
    createBetterAuth({
      db: deadDb,
      secret: (await c.get(ConfigToken)).env.BETTER_AUTH_SECRET!,
      passwordPolicy: await c.get(PasswordPolicyToken),
      log: { warn: () => {}, error: () => {} },
    }));
  container.register(BetterAuthServiceToken, async (c) =>
    new BetterAuthService({
      auth: await c.get(BetterAuthToken),
      db: deadDb,
      signing: await c.get(AccessTokenSigningToken),
      tokens: await c.get(AccessTokenVerifierToken),
      passwordPolicy: await c.get(PasswordPolicyToken),
      events: await c.get(AuthEventSinkToken),
    }));
}

/** The real function registry, on a container whose Better Auth is replaced before first use. */
function registryWithDeadBetterAuth(deadDb: SqlClient): FunctionRegistry {
  let replaced = false;
  return {
    FUNCTION_NAMES,
    buildFunctionApp(name, container) {
      if (!replaced) {
        replaced = true;
        registerDeadBetterAuth(container, deadDb);
      }
      if (!isFunctionName(name)) throw new RangeError(`unknown function ${name}`);
      return buildFunctionApp(name, container);
    },
  };
}

interface BrokenDatabase {
  readonly db: SqlClient;
  release(): Promise<void>;
}

/** A database that fails every query at once: a migrated PGlite, closed. */
async function closedDatabase(): Promise<BrokenDatabase> {
  const { db } = await openStandinDatabase({ dataDir: null });
  await db.close();
  return { db, release: () => Promise.resolve() };
}

/** postgres.js towards a port nobody listens on: refused, then reconnect back-off. */
function unreachablePostgres(): Promise<BrokenDatabase> {
  const db = openPostgres({
    url: `postgres://nobody@127.0.0.1:${closedPort()}/better_auth`,
    max: 1,
    connectTimeoutSeconds: 1,
  });
  // end() without a grace period: there is no query worth waiting for.
  return Promise.resolve({ db, release: () => db.sql.end({ timeout: 0 }) });
}

async function withBrokenBetterAuth(
  env: Record<string, string>,
  brokenDatabase: () => Promise<BrokenDatabase>,
  run: (auth: AuthServer) => Promise<void>,
): Promise<void> {
  const { db: deadDb, release } = await brokenDatabase();
  try {
    const auth = await startAuthServer(env, {
      functionRegistry: registryWithDeadBetterAuth(deadDb),
    });
    try {
      await run(auth);
    } finally {
      await auth.close();
    }
  } finally {
    await release();
  }
}

Deno.test("dual_write with Better Auth primary and Better Auth down: Supabase serves, nothing is lost", async (t) => {
  await withBrokenBetterAuth(
    { MIGRATION_MODE: "dual_write", USE_BETTER_AUTH: "true" },
    closedDatabase,
    async (auth) => {
      await setRollout(auth, 100);
      const email = uniqueEmail("ba-down");
      let userId = "";

      await t.step("signup: the secondary's result; the one-sided write is recorded", async () => {
        const signup = await callFunction(auth, "signup", {
          email,
          password: GOOD_PASSWORD,
          metadata: { plan: "free" },
        });
        assert.equal(signup.status, 200, JSON.stringify(signup.body));
        assertMigrationHeaders(signup.headers, "abstracted");
        // "Confirm email" on: Supabase's answer, awaiting the link the user then clicks.
        const result = assertAwaitingConfirmation(signup.body, {
          email,
          metadata: { plan: "free" },
        });
        userId = result.user.id;
        await assertStoredIn(auth, email, userId, SUPABASE_ONLY);
        await assertStatusMatches(auth, userId, SUPABASE_ONLY);
        const divergences = await auth.server.sql.query<{ kind: string; missing_side: string }>(
          `SELECT kind, missing_side FROM auth_divergences
            WHERE user_id = $1::uuid AND status = 'open'`,
          [userId],
        );
        assert.deepEqual(divergences.rows, [{ kind: "missing_user", missing_side: "better_auth" }]);
        await clickConfirmationLink(auth, email);
      });

      await t.step(
        "login: Better Auth fails, Supabase answers; the token opens the coordinator",
        async () => {
          for (const [address, password] of [[email, GOOD_PASSWORD], [DEMO.email, DEMO.password]]) {
            const login = await callFunction(auth, "login", { email: address, password });
            assert.equal(login.status, 200, JSON.stringify(login.body));
            assertMigrationHeaders(login.headers, "abstracted");
            const result = assertAuthContract(login.body, { email: address! });
            assert.equal(tokenIssuer(result.session.access_token), `${auth.url}/auth/v1`);
            assert.equal(await callCoordinator(auth, result.session.access_token), 200);
            // The lazy copy could not be made: still only in Supabase, to be retried later.
            assert.deepEqual((await idsByEmail(auth, address!)).betterAuth, []);
          }
        },
      );

      await t.step("a wrong password is still invalid_credentials, not an outage", async () => {
        const wrong = await callFunction(auth, "login", { email, password: "wrong-password" });
        assertErrorCode(wrong, 400, "invalid_credentials");
      });

      await t.step("reconciliation cannot repair yet and keeps the divergence open", async () => {
        const report = await callFunction(auth, "signup/reconcile", {}, {
          Authorization: `Bearer ${auth.server.keys.serviceRoleKey}`,
        });
        assert.equal(report.status, 200, JSON.stringify(report.body));
        assert.ok(report.body.failed >= 1, JSON.stringify(report.body));
        assert.ok(report.body.remainingOpen >= 1, JSON.stringify(report.body));
        const row = await auth.server.sql.query<{ status: string; attempts: number }>(
          `SELECT status, attempts FROM auth_divergences WHERE user_id = $1::uuid`,
          [userId],
        );
        assert.deepEqual(row.rows, [{ status: "open", attempts: 1 }]);
      });
    },
  );
});

Deno.test("better_auth_only with Better Auth unreachable: login falls back to the original, signup is 503", async (t) => {
  const env = { MIGRATION_MODE: "better_auth_only", MIGRATION_FALLBACK_TIMEOUT: "1000" };
  await withBrokenBetterAuth(env, unreachablePostgres, async (auth) => {
    await setRollout(auth, 100);

    await t.step("login: the migrator serves the original (Supabase) path", async () => {
      const login = await callFunction(auth, "login", DEMO);
      assert.equal(login.status, 200, JSON.stringify(login.body));
      assertMigrationHeaders(login.headers, "original");
      assertAuthContract(login.body, { email: DEMO.email });
    });

    await t.step("signup: every backend of the mode is down → 503, nothing written", async () => {
      const before = await rowCounts(auth);
      const signup = await callFunction(auth, "signup", {
        email: uniqueEmail("nowhere"),
        password: GOOD_PASSWORD,
      });
      assertErrorCode(signup, 503, "auth_unavailable");
      assertMigrationHeaders(signup.headers, "abstracted");
      assert.deepEqual(await rowCounts(auth), before);
    });
  });
});
