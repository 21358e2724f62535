/**
 * The signup function in front of hosted Supabase Auth with its default "Confirm email" on (the
 * stand-in's hosted profile). Signing up with an address that is already registered and
 * confirmed gets GoTrue's answer — 200, a look-alike user with a random id, no session — so the
 * endpoint does not reveal who is registered; and nothing of it is recorded: no migration
 * status, no Better Auth user, no divergence, no second identity anywhere.
 */
import assert from "node:assert/strict";
import {
  assertMigrationHeaders,
  type AuthServer,
  callFunction,
  DEMO,
  GOOD_PASSWORD,
  idsByEmail,
  migrationStatus,
  rowCounts,
  setRollout,
  startAuthServer,
  uniqueEmail,
} from "../auth-e2e-helpers.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function authUserExists(auth: AuthServer, id: string): Promise<boolean> {
  const { rows } = await auth.server.sql.query("SELECT 1 FROM auth.users WHERE id = $1::uuid", [
    id,
  ]);
  return rows.length > 0;
}

for (const rollout of [0, 100]) {
  const path = rollout === 0 ? "original" : "abstracted";
  Deno.test(`signup on hosted Auth with "Confirm email" on, supabase_only (${path})`, async (t) => {
    const auth = await startAuthServer({ MIGRATION_MODE: "supabase_only" }, {
      confirmEmail: true,
    });
    try {
      await setRollout(auth, rollout);

      await t.step("a new address: the user awaits confirmation, no session", async () => {
        const email = uniqueEmail("fresh");
        const result = await callFunction(auth, "signup", {
          email,
          password: GOOD_PASSWORD,
          metadata: { plan: "pro" },
        });
        assert.equal(result.status, 200, JSON.stringify(result.body));
        assertMigrationHeaders(result.headers, path);
        assert.equal(result.body.session, null);
        assert.match(result.body.user.id, UUID);
        assert.ok(await authUserExists(auth, result.body.user.id));
        const status = await migrationStatus(auth, result.body.user.id);
        assert.equal(status?.supabase_migrated, true, "a real user is recorded");
      });

      await t.step(
        "a registered, confirmed address: GoTrue's look-alike, nothing recorded",
        async () => {
          const before = await rowCounts(auth);
          const idsBefore = await idsByEmail(auth, DEMO.email);
          const result = await callFunction(auth, "signup", {
            email: DEMO.email,
            password: GOOD_PASSWORD,
            metadata: { plan: "free" },
          });
          assert.equal(result.status, 200, JSON.stringify(result.body));
          assertMigrationHeaders(result.headers, path);
          assert.equal(result.body.session, null);
          assert.equal(result.body.user.email, DEMO.email);
          assert.deepEqual(result.body.user.user_metadata, { plan: "free" });
          assert.match(result.body.user.id, UUID);
          assert.ok(!idsBefore.supabase.includes(result.body.user.id), "not the real id");
          assert.equal(await authUserExists(auth, result.body.user.id), false);
          assert.equal(await migrationStatus(auth, result.body.user.id), null);
          assert.deepEqual(await rowCounts(auth), before, "nothing written anywhere");
          assert.deepEqual(await idsByEmail(auth, DEMO.email), idsBefore);
        },
      );

      await t.step("the same answer as GoTrue gives a client directly", async () => {
        const direct = await auth.client.auth.signUp({
          email: DEMO.email,
          password: GOOD_PASSWORD,
          options: { data: { plan: "free" } },
        });
        assert.equal(direct.error, null);
        assert.equal(direct.data.session, null);
        assert.deepEqual(direct.data.user?.identities, []);
        const viaFunction = await callFunction(auth, "signup", {
          email: DEMO.email,
          password: GOOD_PASSWORD,
          metadata: { plan: "free" },
        });
        assert.deepEqual(
          { ...viaFunction.body.user, id: "", created_at: "" },
          {
            id: "",
            email: direct.data.user?.email,
            user_metadata: direct.data.user?.user_metadata,
            created_at: "",
          },
        );
        assert.equal(viaFunction.body.session, direct.data.session);
      });
    } finally {
      await auth.close();
    }
  });
}
