/**
 * The session surface's cutover story on PGlite AND PostgreSQL 15 (the dev-server end-to-end test,
 * tests/shared/functions/login/sessions.test.ts, runs on PGlite): the Auth stand-in over HTTP on
 * the database, Better Auth on it, SessionService in front.
 *
 * A user signed up by dual write logs in while Supabase is their system of record, is cut over
 * (the rule now routes them to Better Auth as primary), and refreshes the Supabase token: they get
 * a Better Auth session for the same id, and the Supabase session is gone.
 */
import assert from "node:assert/strict";
import { DEFAULT_BETTER_AUTH_ISSUER } from "../../../shared/auth/access-tokens.ts";
import type { DualWriteAuthService } from "../../../shared/auth/dual-write-auth-service.ts";
import { SystemOfRecord } from "../../../shared/identity/system-of-record.ts";
import { GoTrueClient } from "../../../shared/sessions/gotrue-client.ts";
import { SessionService } from "../../../shared/sessions/session-service.ts";
import { TEST_DATABASE_URL } from "../../helpers/db.ts";
import {
  email,
  openStack,
  PASSWORD,
  type Provider,
  type Stack,
  verifierConfig,
} from "../auth/harness.ts";

const claimsOf = (token: string) => {
  const payload = token.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/");
  return JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "=")));
};
const ISSUER_OF = (token: string) => claimsOf(token).iss as string;

function sessions(stack: Stack, login: DualWriteAuthService, useBetterAuth: boolean) {
  return new SessionService({
    login: async (request) => {
      const outcome = await login.signIn(await request.json());
      return outcome.ok ? Response.json(outcome.value) : outcome.error.toResponse();
    },
    identity: new SystemOfRecord(
      { mode: "dual_write", useBetterAuth, supabase: true, betterAuth: true },
      { db: stack.db },
    ),
    tokens: verifierConfig(stack.keys),
    betterAuth: stack.betterAuth,
    betterAuthDb: stack.db,
    gotrue: new GoTrueClient(stack.standin.url, stack.keys.anonKey),
    supabaseDb: stack.db,
  });
}

const call = (
  service: SessionService,
  method: "token" | "user" | "logout",
  query: string,
  init: { body?: unknown; bearer?: string } = {},
) =>
  service[method](
    new Request(`http://functions.local/login/${method}${query}`, {
      method: method === "user" ? "GET" : "POST",
      headers: {
        "Content-Type": "application/json",
        "X-Supabase-Api-Version": "2024-01-01",
        ...(init.bearer ? { Authorization: `Bearer ${init.bearer}` } : {}),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    }),
  ).then(async (response) => ({
    status: response.status,
    // deno-lint-ignore no-explicit-any
    body: response.status === 204 ? null : await response.json() as any,
  }));

for (const provider of ["pglite", "postgres"] as Provider[]) {
  Deno.test({
    name: `session surface on ${provider}: log in on Supabase, cut over, refresh`,
    ignore: provider === "postgres" && !TEST_DATABASE_URL,
    async fn() {
      const stack = await openStack(provider);
      try {
        const before = sessions(stack, stack.service({ mode: "dual_write" }), false);
        const after = sessions(
          stack,
          stack.service({ mode: "dual_write", useBetterAuth: true }),
          true,
        );
        const address = email("cutover");
        const created = await stack.service({ mode: "dual_write" }).signUp({
          email: address,
          password: PASSWORD,
        });
        assert.ok(created.ok);
        const id = created.value.user.id;

        const login = await call(before, "token", "?grant_type=password", {
          body: { email: address, password: PASSWORD },
        });
        assert.equal(login.status, 200, JSON.stringify(login.body));
        assert.equal(login.body.user.id, id);
        assert.equal(ISSUER_OF(login.body.access_token), `${stack.standin.url}/auth/v1`);
        // Supabase still the system of record: GoTrue's refresh, passed through.
        const onSupabase = await call(before, "token", "?grant_type=refresh_token", {
          body: { refresh_token: login.body.refresh_token },
        });
        assert.equal(onSupabase.status, 200, JSON.stringify(onSupabase.body));
        assert.equal(ISSUER_OF(onSupabase.body.access_token), `${stack.standin.url}/auth/v1`);

        // Cut over: the same token now yields a Better Auth session for the same user.
        const moved = await call(after, "token", "?grant_type=refresh_token", {
          body: { refresh_token: onSupabase.body.refresh_token },
        });
        assert.equal(moved.status, 200, JSON.stringify(moved.body));
        assert.equal(ISSUER_OF(moved.body.access_token), DEFAULT_BETTER_AUTH_ISSUER);
        assert.equal(moved.body.user.id, id);
        assert.deepEqual(
          Object.keys(moved.body).sort(),
          ["access_token", "expires_at", "expires_in", "refresh_token", "token_type", "user"],
        );
        const supabaseSessions = await stack.db.query(
          `SELECT 1 FROM auth.sessions WHERE id = $1::uuid`,
          [claimsOf(onSupabase.body.access_token).session_id],
        );
        assert.equal(supabaseSessions.rows.length, 0, "the Supabase session ended");
        const replay = await call(after, "token", "?grant_type=refresh_token", {
          body: { refresh_token: onSupabase.body.refresh_token },
        });
        assert.equal(replay.status, 400, JSON.stringify(replay.body));
        const oldAccess = await call(after, "user", "", { bearer: onSupabase.body.access_token });
        assert.equal(oldAccess.status, 403, JSON.stringify(oldAccess.body));

        const me = await call(after, "user", "", { bearer: moved.body.access_token });
        assert.equal(me.status, 200, JSON.stringify(me.body));
        assert.equal(me.body.id, id);
        assert.equal(me.body.email, address);

        const out = await call(after, "logout", "?scope=global", {
          bearer: moved.body.access_token,
        });
        assert.equal(out.status, 204);
        const dead = await call(after, "token", "?grant_type=refresh_token", {
          body: { refresh_token: moved.body.refresh_token },
        });
        assert.equal(dead.status, 400);
        assert.equal(dead.body.code, "refresh_token_not_found");
      } finally {
        await stack.close();
      }
    },
  });
}
