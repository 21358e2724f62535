/**
 * The login function as a GoTrue for @supabase/auth-js: the REAL AuthClient, its url the login
 * function's, over real HTTP (dev server, Auth stand-in, Better Auth, one PGlite).
 *
 * One dev server in dual_write with USE_BETTER_AUTH=true: at rollout 0 % a user's system of
 * record is Supabase (the original path), at 100 % Better Auth (the user was copied on their
 * first login). So the stories run on the Supabase path, the Better Auth path and across a
 * change of path — the user logged in on Supabase, is cut over, and refreshes.
 */
import assert from "node:assert/strict";
import { AuthClient, type GoTrueClient } from "@supabase/auth-js";
import { createClient } from "@supabase/supabase-js";
import { DEFAULT_BETTER_AUTH_ISSUER } from "../../../../shared/auth/access-tokens.ts";
import { hashPassword } from "../../../../shared/auth/passwords.ts";
import {
  type AuthServer,
  callCoordinator,
  callFunction,
  clickConfirmationLink,
  GOOD_PASSWORD,
  nextClientIp,
  setRollout,
  startAuthServer,
  tokenIssuer,
  uniqueEmail,
} from "../auth-e2e-helpers.ts";

function sessionIdOf(accessToken: string): string {
  const payload = accessToken.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/");
  return JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "="))).session_id;
}

const supabaseIssuer = (auth: AuthServer) => `${auth.url}/auth/v1`;

/** auth-js exactly as an app builds it, pointed at the login function. */
function authClient(auth: AuthServer): GoTrueClient {
  const key = auth.server.keys.anonKey;
  return new AuthClient({
    url: `${auth.url}/functions/v1/login`,
    headers: { apikey: key, Authorization: `Bearer ${key}`, "X-Forwarded-For": nextClientIp() },
    persistSession: false,
    autoRefreshToken: false,
    detectSessionInUrl: false,
  });
}

/** Signs up with "Confirm email" on (the hosted default) and clicks the mailed link. */
async function signUp(auth: AuthServer, email: string): Promise<string> {
  const signup = await callFunction(auth, "signup", { email, password: GOOD_PASSWORD });
  assert.equal(signup.status, 200, JSON.stringify(signup.body));
  await clickConfirmationLink(auth, email);
  return signup.body.user.id as string;
}

async function signIn(auth: AuthServer, email: string, password = GOOD_PASSWORD) {
  const client = authClient(auth);
  const { data, error } = await client.signInWithPassword({ email, password });
  assert.equal(error, null, `signInWithPassword: ${error?.message}`);
  assert.ok(data.session && data.user);
  return { client, session: data.session, user: data.user };
}

/** refreshSession on a fresh client (no local state): only the token decides. */
async function refresh(auth: AuthServer, refreshToken: string) {
  return await authClient(auth).refreshSession({ refresh_token: refreshToken });
}

async function expectRefreshRefused(auth: AuthServer, refreshToken: string, codes: string[]) {
  const { data, error } = await refresh(auth, refreshToken);
  assert.equal(data.session, null, "no session");
  assert.ok(error, "an error");
  assert.ok(codes.includes(error.code ?? ""), `code ${error.code} (${error.message})`);
  assert.ok((error.status ?? 0) >= 400 && (error.status ?? 0) < 500, `status ${error.status}`);
}

async function syncApply(auth: AuthServer): Promise<void> {
  const response = await fetch(`${auth.url}/functions/v1/migrate-batch/admin/sync/apply`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${auth.server.keys.serviceRoleKey}`,
      "Content-Type": "application/json",
    },
    body: "{}",
  });
  assert.equal(response.status, 200, await response.text());
}

function admin(auth: AuthServer) {
  return createClient(auth.url, auth.server.keys.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
}

/** A user who exists in both systems (a dual-write signup on the abstracted path). */
async function userInBoth(auth: AuthServer, tag: string): Promise<{ email: string; id: string }> {
  await setRollout(auth, 100);
  const email = uniqueEmail(tag);
  const id = await signUp(auth, email);
  // The signup's own captured rows are settled before a story changes anything.
  await syncApply(auth);
  const { rows } = await auth.server.sql.query(`SELECT 1 FROM "user" WHERE id = $1::uuid`, [id]);
  assert.equal(rows.length, 1, "copied to Better Auth");
  return { email, id };
}

async function sessionsOnBothSides(auth: AuthServer, email: string, password = GOOD_PASSWORD) {
  await setRollout(auth, 0);
  const supabase = await signIn(auth, email, password);
  assert.equal(tokenIssuer(supabase.session.access_token), supabaseIssuer(auth));
  await setRollout(auth, 100);
  const betterAuth = await signIn(auth, email, password);
  assert.equal(tokenIssuer(betterAuth.session.access_token), DEFAULT_BETTER_AUTH_ISSUER);
  return { supabase: supabase.session, betterAuth: betterAuth.session };
}

async function counts(auth: AuthServer): Promise<Record<string, number>> {
  const { rows } = await auth.server.sql.query<Record<string, number>>(
    `SELECT (SELECT count(*) FROM better_auth_refresh_token)::int AS ba_tokens,
            (SELECT count(*) FROM better_auth_refresh_token WHERE revoked)::int AS ba_revoked,
            (SELECT count(*) FROM "session")::int AS ba_sessions,
            (SELECT count(*) FROM auth.sessions)::int AS sb_sessions,
            (SELECT count(*) FROM auth.refresh_tokens)::int AS sb_tokens,
            (SELECT count(*) FROM auth.refresh_tokens WHERE revoked)::int AS sb_revoked`,
  );
  return rows[0]!;
}

Deno.test("auth-js against the login function: both paths, a change of path, revocation in both systems, bad input", async (t) => {
  const auth = await startAuthServer({ MIGRATION_MODE: "dual_write", USE_BETTER_AUTH: "true" });
  try {
    await t.step(
      "Supabase path: signIn, getUser, refreshSession, signOut (local, others)",
      async () => {
        const { email, id } = await userInBoth(auth, "sb-path");
        await setRollout(auth, 0);
        const { client, session, user } = await signIn(auth, email);
        assert.equal(user.id, id);
        assert.equal(tokenIssuer(session.access_token), supabaseIssuer(auth));
        assert.equal(user.aud, "authenticated");
        assert.ok(Array.isArray(user.identities));

        const me = await client.getUser();
        assert.equal(me.error, null, me.error?.message);
        assert.equal(me.data.user?.id, id);

        const refreshed = await refresh(auth, session.refresh_token);
        assert.equal(refreshed.error, null, refreshed.error?.message);
        const next = refreshed.data.session!;
        assert.equal(tokenIssuer(next.access_token), supabaseIssuer(auth), "still Supabase's");
        assert.notEqual(next.refresh_token, session.refresh_token, "rotated by GoTrue");
        assert.equal(refreshed.data.user?.id, id);

        const signOutClient = authClient(auth);
        await signOutClient.setSession({
          access_token: next.access_token,
          refresh_token: next.refresh_token,
        });
        const out = await signOutClient.signOut({ scope: "local" });
        assert.equal(out.error, null, out.error?.message);
        await expectRefreshRefused(auth, next.refresh_token, [
          "refresh_token_not_found",
          "session_not_found",
        ]);
        // GoTrue's 403 session_not_found, which auth-js raises as AuthSessionMissingError.
        const after = await authClient(auth).getUser(next.access_token);
        assert.equal(after.data.user, null);
        assert.equal(after.error?.name, "AuthSessionMissingError");

        // `others` from a Supabase session: the caller's survives, every other one ends.
        const one = await signIn(auth, email);
        const two = await signIn(auth, email);
        assert.equal((await two.client.signOut({ scope: "others" })).error, null);
        await expectRefreshRefused(auth, one.session.refresh_token, [
          "refresh_token_not_found",
          "session_not_found",
        ]);
        const kept = await refresh(auth, two.session.refresh_token);
        assert.equal(kept.error, null, kept.error?.message);
      },
    );

    await t.step(
      "Better Auth path: signIn, getUser, refreshSession with rotation and reuse detection",
      async () => {
        const { email, id } = await userInBoth(auth, "ba-path");
        await setRollout(auth, 100);
        const { client, session, user } = await signIn(auth, email);
        assert.equal(tokenIssuer(session.access_token), DEFAULT_BETTER_AUTH_ISSUER);
        assert.equal(user.id, id, "the same user id on both paths");
        assert.equal(user.email, email);
        assert.equal(user.aud, "authenticated");
        const me = await client.getUser();
        assert.equal(me.error, null, me.error?.message);
        assert.equal(me.data.user?.id, id);

        // Stored hashed, never in clear.
        const clear = await auth.server.sql.query(
          `SELECT 1 FROM better_auth_refresh_token WHERE token_hash = $1`,
          [session.refresh_token],
        );
        assert.equal(clear.rows.length, 0, "the token itself is not stored");

        const first = await refresh(auth, session.refresh_token);
        assert.equal(first.error, null, first.error?.message);
        const b = first.data.session!;
        assert.notEqual(b.refresh_token, session.refresh_token, "rotated");
        assert.equal(tokenIssuer(b.access_token), DEFAULT_BETTER_AUTH_ISSUER);
        assert.equal(first.data.user?.id, id);

        // A client that lost the response presents the parent again: it gets the active token.
        const lost = await refresh(auth, session.refresh_token);
        assert.equal(lost.error, null, lost.error?.message);
        assert.equal(lost.data.session?.refresh_token, b.refresh_token, "GoTrue's parent rule");

        const second = await refresh(auth, b.refresh_token);
        assert.equal(second.error, null, second.error?.message);
        const c = second.data.session!;

        // The reuse interval (10 s) has passed for the first token: reuse revokes the family.
        await auth.server.sql.query(
          `UPDATE better_auth_refresh_token SET updated_at = now() - interval '1 minute'
          WHERE revoked`,
        );
        await expectRefreshRefused(auth, session.refresh_token, ["refresh_token_already_used"]);
        await auth.server.sql.query(
          `UPDATE better_auth_refresh_token SET updated_at = now() - interval '1 minute'`,
        );
        await expectRefreshRefused(auth, c.refresh_token, ["refresh_token_already_used"]);
      },
    );

    await t.step("Better Auth path: signOut local / others / global", async () => {
      const { email } = await userInBoth(auth, "ba-logout");
      await setRollout(auth, 100);
      const one = await signIn(auth, email);
      const two = await signIn(auth, email);
      const three = await signIn(auth, email);
      const others = await two.client.signOut({ scope: "others" });
      assert.equal(others.error, null, others.error?.message);
      await expectRefreshRefused(auth, one.session.refresh_token, ["refresh_token_not_found"]);
      await expectRefreshRefused(auth, three.session.refresh_token, ["refresh_token_not_found"]);
      const alive = await refresh(auth, two.session.refresh_token);
      assert.equal(alive.error, null, "the caller's own session survives `others`");

      const local = await authClient(auth);
      await local.setSession({
        access_token: alive.data.session!.access_token,
        refresh_token: alive.data.session!.refresh_token,
      });
      assert.equal((await local.signOut({ scope: "local" })).error, null);
      await expectRefreshRefused(auth, alive.data.session!.refresh_token, [
        "refresh_token_not_found",
      ]);
      const me = await authClient(auth).getUser(alive.data.session!.access_token);
      assert.equal(me.data.user, null);
      assert.equal(me.error?.name, "AuthSessionMissingError", "GoTrue's session_not_found");
    });

    await t.step(
      "a Better Auth session token handed out as refresh token by an earlier release is exchanged once",
      async () => {
        const { email, id } = await userInBoth(auth, "legacy-token");
        await setRollout(auth, 100);
        const { session } = await signIn(auth, email);
        const sessionId = sessionIdOf(session.access_token);
        const { rows } = await auth.server.sql.query<{ token: string }>(
          `SELECT token FROM "session" WHERE id = $1::uuid`,
          [sessionId],
        );
        const legacy = rows[0]!.token;
        const adopted = await refresh(auth, legacy);
        assert.equal(adopted.error, null, adopted.error?.message);
        assert.equal(adopted.data.user?.id, id);
        assert.equal(
          sessionIdOf(adopted.data.session!.access_token),
          sessionId,
          "the same session",
        );
        await expectRefreshRefused(auth, legacy, ["refresh_token_not_found"]);
        assert.equal((await refresh(auth, adopted.data.session!.refresh_token)).error, null);
      },
    );

    await t.step(
      "across a change of path: a Supabase refresh token after cutover returns a Better Auth session",
      async () => {
        const { email, id } = await userInBoth(auth, "cutover");
        await setRollout(auth, 0);
        const before = await signIn(auth, email);
        assert.equal(tokenIssuer(before.session.access_token), supabaseIssuer(auth));

        await setRollout(auth, 100); // the user's system of record is now Better Auth
        const moved = await refresh(auth, before.session.refresh_token);
        assert.equal(moved.error, null, moved.error?.message);
        const session = moved.data.session!;
        assert.equal(
          tokenIssuer(session.access_token),
          DEFAULT_BETTER_AUTH_ISSUER,
          "Better Auth's",
        );
        assert.equal(moved.data.user?.id, id, "the same user id");
        assert.equal(await callCoordinator(auth, session.access_token), 200);

        // The Supabase session is gone: neither the old token nor its access token works.
        await expectRefreshRefused(auth, before.session.refresh_token, [
          "refresh_token_not_found",
          "session_not_found",
          "refresh_token_already_used",
        ]);
        const old = await authClient(auth).getUser(before.session.access_token);
        assert.equal(old.data.user, null, "the Supabase session ended");
        // And the new one refreshes on the Better Auth path.
        const again = await refresh(auth, session.refresh_token);
        assert.equal(again.error, null, again.error?.message);
        assert.equal(tokenIssuer(again.data.session!.access_token), DEFAULT_BETTER_AUTH_ISSUER);
      },
    );

    await t.step(
      "logout everywhere: global on one side ends the other side's sessions",
      async () => {
        const { email } = await userInBoth(auth, "global");
        let sides = await sessionsOnBothSides(auth, email);
        const fromBa = authClient(auth);
        await fromBa.setSession(sides.betterAuth);
        assert.equal((await fromBa.signOut({ scope: "global" })).error, null);
        await expectRefreshRefused(auth, sides.supabase.refresh_token, [
          "refresh_token_not_found",
          "session_not_found",
        ]);
        await expectRefreshRefused(auth, sides.betterAuth.refresh_token, [
          "refresh_token_not_found",
        ]);

        sides = await sessionsOnBothSides(auth, email);
        await setRollout(auth, 0);
        const fromSb = authClient(auth);
        await fromSb.setSession(sides.supabase);
        assert.equal((await fromSb.signOut({ scope: "global" })).error, null);
        await expectRefreshRefused(auth, sides.betterAuth.refresh_token, [
          "refresh_token_not_found",
        ]);
      },
    );

    await t.step(
      "a password change in Supabase ends the Better Auth sessions, and back",
      async () => {
        const { email, id } = await userInBoth(auth, "password");
        let sides = await sessionsOnBothSides(auth, email);
        const changed = await admin(auth).auth.admin.updateUserById(id, {
          password: "Another-Horse-43",
        });
        assert.equal(changed.error, null, changed.error?.message);
        await syncApply(auth);
        await expectRefreshRefused(auth, sides.betterAuth.refresh_token, [
          "refresh_token_not_found",
        ]);

        sides = await sessionsOnBothSides(auth, email, "Another-Horse-43");
        // A password set on the Better Auth side (bcrypt until the migration is complete).
        await auth.server.sql.query(
          `UPDATE account SET password = $2, "updatedAt" = now()
          WHERE "userId" = $1::uuid AND "providerId" = 'credential'`,
          [id, await hashPassword("Third-Horse-44", "bcrypt")],
        );
        await syncApply(auth);
        await setRollout(auth, 0);
        await expectRefreshRefused(auth, sides.supabase.refresh_token, [
          "refresh_token_not_found",
          "session_not_found",
        ]);
      },
    );

    await t.step("a ban on either side ends the sessions of the other", async () => {
      const one = await userInBoth(auth, "ban-sb");
      const sides = await sessionsOnBothSides(auth, one.email);
      const banned = await admin(auth).auth.admin.updateUserById(one.id, {
        ban_duration: "24h",
      });
      assert.equal(banned.error, null, banned.error?.message);
      await syncApply(auth);
      await expectRefreshRefused(auth, sides.betterAuth.refresh_token, [
        "refresh_token_not_found",
        "user_banned",
      ]);

      const two = await userInBoth(auth, "ban-ba");
      const other = await sessionsOnBothSides(auth, two.email);
      await auth.server.sql.query(
        `UPDATE "user" SET banned = true, "banExpires" = now() + interval '1 day',
                "updatedAt" = now() WHERE id = $1::uuid`,
        [two.id],
      );
      await syncApply(auth);
      await setRollout(auth, 0);
      await expectRefreshRefused(auth, other.supabase.refresh_token, [
        "refresh_token_not_found",
        "session_not_found",
        "user_banned",
      ]);
      const me = await authClient(auth).getUser(other.supabase.access_token);
      assert.equal(me.data.user, null, "the Supabase access token's session ended");
    });

    await t.step("bad input: GoTrue's 4xx, never a 500, nothing written", async () => {
      const { email } = await userInBoth(auth, "bad-input");
      await setRollout(auth, 100);
      const { session } = await signIn(auth, email);
      const base = `${auth.url}/functions/v1/login`;
      const key = auth.server.keys.anonKey;
      const call = async (
        method: string,
        path: string,
        body?: string,
        bearer = key,
        modern = true,
      ) => {
        const response = await fetch(`${base}${path}`, {
          method,
          headers: {
            apikey: key,
            Authorization: `Bearer ${bearer}`,
            "Content-Type": "application/json",
            ...(modern ? { "X-Supabase-Api-Version": "2024-01-01" } : {}),
          },
          body,
        });
        return { status: response.status, body: await response.json().catch(() => null) };
      };
      // An ended (expired) Better Auth session, and a reused token past the reuse interval.
      const expired = await signIn(auth, email);
      await auth.server.sql.query(
        `UPDATE "session" SET "expiresAt" = now() - interval '1 second' WHERE id = $1::uuid`,
        [sessionIdOf(expired.session.access_token)],
      );
      const reused = await signIn(auth, email);
      assert.equal((await refresh(auth, reused.session.refresh_token)).error, null);
      const rotated = await refresh(auth, reused.session.refresh_token); // parent rule
      assert.equal((await refresh(auth, rotated.data.session!.refresh_token)).error, null);
      await auth.server.sql.query(
        `UPDATE better_auth_refresh_token SET updated_at = now() - interval '1 minute'
          WHERE revoked`,
      );
      const before = await counts(auth);
      const cases: [string, Awaited<ReturnType<typeof call>>, number, string][] = [
        [
          "expired session",
          await call(
            "POST",
            "/token?grant_type=refresh_token",
            JSON.stringify({ refresh_token: expired.session.refresh_token }),
          ),
          400,
          "session_expired",
        ],
        [
          "unknown grant",
          await call("POST", "/token?grant_type=magic", "{}"),
          400,
          "invalid_credentials",
        ],
        ["no grant", await call("POST", "/token", "{}"), 400, "invalid_credentials"],
        ["bad JSON", await call("POST", "/token?grant_type=refresh_token", "{"), 400, "bad_json"],
        [
          "token of the wrong type",
          await call("POST", "/token?grant_type=refresh_token", '{"refresh_token":42}'),
          400,
          "bad_json",
        ],
        [
          "garbage token",
          await call(
            "POST",
            "/token?grant_type=refresh_token",
            '{"refresh_token":"nope-nope-nope-nope-nope"}',
          ),
          400,
          "refresh_token_not_found",
        ],
        [
          "access token as refresh token",
          await call(
            "POST",
            "/token?grant_type=refresh_token",
            JSON.stringify({ refresh_token: session.access_token }),
          ),
          400,
          "refresh_token_not_found",
        ],
        [
          "refresh token as access token",
          await call("GET", "/user", undefined, session.refresh_token),
          403,
          "bad_jwt",
        ],
        ["garbage bearer", await call("POST", "/logout", undefined, "x.y.z"), 403, "bad_jwt"],
        [
          "password grant without email",
          await call("POST", "/token?grant_type=password", "{}"),
          400,
          "validation_failed",
        ],
        [
          "wrong password",
          await call(
            "POST",
            "/token?grant_type=password",
            JSON.stringify({ email, password: "wrong-password" }),
          ),
          400,
          "invalid_credentials",
        ],
        [
          "bad logout scope",
          await call("POST", "/logout?scope=everyone", undefined, session.access_token),
          400,
          "validation_failed",
        ],
      ];
      for (const [label, result, status, code] of cases) {
        assert.equal(result.status, status, `${label}: ${JSON.stringify(result.body)}`);
        assert.equal(result.body?.code, code, `${label}: ${JSON.stringify(result.body)}`);
        assert.equal(typeof result.body?.message, "string", label);
      }
      const missing = await call("POST", "/token?grant_type=refresh_token", "{}");
      assert.equal(missing.status, 400);
      assert.deepEqual(missing.body, {
        error: "invalid_request",
        error_description: "refresh_token required",
      });
      // The pre-2024 format: { code: status, error_code, msg }.
      const legacy = await call(
        "POST",
        "/token?grant_type=refresh_token",
        '{"refresh_token":"nope-nope-nope-nope-nope"}',
        key,
        false,
      );
      assert.deepEqual(legacy.body, {
        code: 400,
        error_code: "refresh_token_not_found",
        msg: "Invalid Refresh Token: Refresh Token Not Found",
      });
      const noBearer = await fetch(`${base}/user`, { headers: { apikey: key } });
      assert.equal(noBearer.status, 401);
      await noBearer.body?.cancel();
      assert.deepEqual(await counts(auth), before, "nothing written");
      // Reuse past the interval: GoTrue's 400, and the family revocation IS written (on purpose).
      const reuse = await call(
        "POST",
        "/token?grant_type=refresh_token",
        JSON.stringify({ refresh_token: reused.session.refresh_token }),
      );
      assert.equal(reuse.status, 400, JSON.stringify(reuse.body));
      assert.equal(reuse.body?.code, "refresh_token_already_used");
    });
  } finally {
    await auth.close();
  }
});
