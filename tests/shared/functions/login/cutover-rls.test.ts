/**
 * Issue 13's cutover story, on PGlite AND PostgreSQL 15: a user logs in on Supabase through
 * @supabase/auth-js pointed at the login function, is cut over to Better Auth, refreshes the
 * Supabase refresh token, and reads an RLS-protected table (public.notes, `user_id = auth.uid()`)
 * straight from Supabase's REST with the Better Auth-path token — only their rows, nobody logged
 * out. The project is the hosted-profile stand-in (ES256 GoTrue, our key imported into its
 * signing keys as README's key set-up says) with the functions deployed on it.
 */
import assert from "node:assert/strict";
import { AuthClient } from "@supabase/auth-js";
import { createClient } from "@supabase/supabase-js";
import { DEFAULT_BETTER_AUTH_ISSUER } from "../../../../shared/auth/access-tokens.ts";
import { decodeJwt } from "../../../../shared/auth/jwt.ts";
import { RuntimeFlagsStore } from "../../../../shared/flags/store.ts";
import { DEV_ACCESS_TOKEN_SIGNING_JWK } from "../../../../local/standin/dev-server.ts";
import { importSigningKey } from "../../../../local/standin/keys.ts";
import { addNotes } from "../../../../local/standin/seed-notes.ts";
import { TEST_DATABASE_URL } from "../../../helpers/db.ts";
import type { Provider } from "../../auth/harness.ts";
import { startProjectStack } from "../project-stack.ts";

const PASSWORD = "Correct-Horse-42";
const providers: Provider[] = TEST_DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];

for (const provider of providers) {
  Deno.test(`log in on Supabase, cut over, refresh, read an RLS table on ${provider}`, async () => {
    const stack = await startProjectStack(provider);
    try {
      const { url, keys, db } = stack;
      // Dual write with Better Auth primary for the users the rollout routes: at 0 % a user's
      // system of record is Supabase, at 100 % Better Auth (shared/identity/system-of-record.ts).
      await stack.deploy("app", {
        MIGRATION_MODE: "dual_write",
        USE_BETTER_AUTH: "true",
        MIGRATION_ROLLOUT_PERCENTAGE: "0",
      });
      importSigningKey(keys, DEV_ACCESS_TOKEN_SIGNING_JWK);
      const functions = `${url}/app/functions/v1`;
      const flags = new RuntimeFlagsStore(db);
      const rollout = (percentage: number) =>
        flags.upsert("login", { rolloutPercentage: percentage }, { updatedBy: "cutover test" });

      const email = `cutover-${provider}-${crypto.randomUUID().slice(0, 8)}@example.com`;
      const signup = await fetch(`${functions}/signup`, {
        method: "POST",
        headers: { "Content-Type": "application/json", apikey: keys.publishableKey },
        body: JSON.stringify({ email, password: PASSWORD }),
      });
      const created = await signup.json() as { user: { id: string } };
      assert.equal(signup.status, 200, JSON.stringify(created));
      const id = created.user.id;
      // The signup's captured changes are applied before the story goes on.
      const applied = await fetch(`${functions}/migrate-batch/admin/sync/apply`, {
        method: "POST",
        headers: { Authorization: `Bearer ${keys.serviceRoleKey}` },
      });
      assert.equal(applied.status, 200, await applied.text());
      await addNotes(db, id, ["mine: one", "mine: two"]);
      await addNotes(db, crypto.randomUUID(), ["somebody else's"]);

      const notesWith = (token: string) =>
        createClient(url, keys.publishableKey, {
          auth: { persistSession: false, autoRefreshToken: false },
          accessToken: () => Promise.resolve(token),
        }).from("notes").select("body").order("body");
      const authClient = () =>
        new AuthClient({
          url: `${functions}/login`,
          headers: { apikey: keys.publishableKey },
          persistSession: false,
          autoRefreshToken: false,
          detectSessionInUrl: false,
        });

      // 1. Logged in while Supabase is the system of record: a GoTrue token.
      const before = await authClient().signInWithPassword({ email, password: PASSWORD });
      assert.equal(before.error, null, before.error?.message);
      const supabaseSession = before.data.session!;
      assert.equal(decodeJwt(supabaseSession.access_token)!.claims.iss, `${url}/auth/v1`);
      const own = await notesWith(supabaseSession.access_token);
      assert.equal(own.error, null, own.error?.message);
      assert.deepEqual(own.data, [{ body: "mine: one" }, { body: "mine: two" }]);

      // 2. Cut over, 3. refresh the token issued before: a Better Auth session, same user.
      await rollout(100);
      const after = await authClient().refreshSession({
        refresh_token: supabaseSession.refresh_token,
      });
      assert.equal(after.error, null, after.error?.message);
      const session = after.data.session!;
      const jwt = decodeJwt(session.access_token)!;
      assert.equal(jwt.claims.iss, DEFAULT_BETTER_AUTH_ISSUER);
      assert.equal(jwt.claims.sub, id, "the same user id");
      assert.equal(jwt.header.alg, "ES256");
      assert.equal(jwt.header.kid, DEV_ACCESS_TOKEN_SIGNING_JWK.kid);

      // 4. Supabase's REST accepts it: RLS by auth.uid() gives exactly the user's rows.
      const moved = await notesWith(session.access_token);
      assert.equal(moved.error, null, moved.error?.message);
      assert.deepEqual(moved.data, [{ body: "mine: one" }, { body: "mine: two" }]);

      // The Supabase refresh token was used once and its session ended.
      const replay = await authClient().refreshSession({
        refresh_token: supabaseSession.refresh_token,
      });
      assert.equal(replay.data.session, null);
      assert.ok(replay.error && (replay.error.status ?? 0) >= 400 && replay.error.status! < 500);
      const { rows } = await db.query(`SELECT 1 FROM auth.sessions WHERE user_id = $1::uuid`, [id]);
      assert.equal(rows.length, 0, "no Supabase session left for the user");
      // And the Better Auth session keeps working: it refreshes and still reads the rows.
      const again = await authClient().refreshSession({ refresh_token: session.refresh_token });
      assert.equal(again.error, null, again.error?.message);
      const still = await notesWith(again.data.session!.access_token);
      assert.equal(still.data?.length, 2);
    } finally {
      await stack.close();
    }
  });
}
