/**
 * The per-user original (supabase-js auth.admin + per-row writes) against the set-based engine:
 * the same plan for the same batch, the same migrated data, and a migrated user signs in to
 * Better Auth with the old password.
 */
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import { Hono } from "hono";
import { sqlProviders } from "../../helpers/db.ts";
import { BatchMigrationEngine } from "../../../shared/batch/engine.ts";
import {
  type OriginalContext,
  planOriginalIds,
  runOriginal,
} from "../../../shared/batch/original.ts";
import { comparePlans } from "../../../shared/batch/plan.ts";
import { SupabaseAuthSource } from "../../../shared/batch/supabase-source.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { createAuthApi } from "../../../local/standin/auth/app.ts";
import { createStandinKeys } from "../../../local/standin/keys.ts";
import { betterAuthOn } from "../auth/harness.ts";
import {
  AUTH_SCHEMA_SQL,
  countRows,
  dropKindsOnlyTheEngineCarries,
  originalContextOn,
  PASSWORD,
  resetTables,
  seedAuthUsers,
} from "./helpers.ts";

const keys = await createStandinKeys();

/** supabase-js talking to the Auth stand-in in-process (no socket). */
function adminClient(db: SqlClient) {
  const app = new Hono().route("/auth/v1", createAuthApi({ sql: db, keys }));
  const client = createClient("http://standin.local", keys.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: { fetch: async (input, init) => await app.fetch(new Request(input, init)) },
  });
  return client.auth.admin;
}

async function originalContext(
  db: SqlClient,
  migrationId: string | null,
): Promise<OriginalContext> {
  const asOf = new Date();
  if (migrationId) {
    const { rows } = await db.query<{ as_of: string }>(
      "SELECT config->>'as_of' AS as_of FROM migration_states WHERE id = $1",
      [migrationId],
    );
    if (rows[0]?.as_of) asOf.setTime(Date.parse(rows[0].as_of));
  }
  return await originalContextOn(db, adminClient(db), migrationId, asOf);
}

async function firstIds(db: SqlClient, n: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    "SELECT id FROM auth.users ORDER BY id LIMIT $1",
    [n],
  );
  return rows.map((row) => row.id);
}

for (const provider of sqlProviders()) {
  Deno.test(`original per-user path vs set-based engine on ${provider.name}`, async (t) => {
    const db = await provider.open();
    await db.exec(AUTH_SCHEMA_SQL);
    try {
      await t.step("both produce the same plan for the same batch", async () => {
        await resetTables(db);
        await seedAuthUsers(db, 150, { invalid: true });
        const dropped = await dropKindsOnlyTheEngineCarries(db);
        // Conflicts only the target knows about: a taken email and a taken Google identity.
        await db.query(
          `WITH u AS (INSERT INTO "user" (id, name, email, "emailVerified")
                      VALUES (gen_random_uuid(), 'Taken', 'user11@example.com', true)
                      RETURNING id)
           INSERT INTO account (id, "accountId", "providerId", "userId", "updatedAt")
           SELECT gen_random_uuid(), 'google-20', 'google', id, now() FROM u`,
        );
        const engine = new BatchMigrationEngine({
          db,
          source: new SupabaseAuthSource(db),
          options: { batchSize: 50 },
        });
        const created = await engine.run({ migration_id: "plan", max_batches: 1 });
        const ids = await firstIds(db, 150);
        // A dual-write signup in flight for one user (skipped), an expired claim for another.
        await db.query(
          `INSERT INTO auth_signup_claims (email, user_id, expires_at)
           SELECT lower(email), id, now() + CASE WHEN id = $1::uuid THEN interval '1 minute'
                                                  ELSE interval '-1 minute' END
             FROM auth.users WHERE id IN ($1::uuid, $2::uuid)`,
          [ids[120], ids[121]],
        );
        const abstracted = await engine.plan(ids, "plan");
        const original = await planOriginalIds(await originalContext(db, "plan"), ids);
        const comparison = comparePlans(original, abstracted);
        assert.deepEqual(comparison.differences, []);
        assert.equal(comparison.compared, 150 - dropped);
        const reasons = new Set(abstracted.users.map((u) => u.reason));
        for (
          const reason of [
            null,
            "migrated_by_this_migration",
            "invalid_email",
            "deleted_user",
            "duplicate_email",
            "email_exists_in_target",
            "identity_exists_in_target",
            "signup_in_flight",
          ]
        ) assert.ok(reasons.has(reason), `plan covers ${reason}`);
        const inFlight = abstracted.users.filter((u) => u.reason === "signup_in_flight");
        assert.deepEqual(inFlight.map((u) => u.id), [ids[120]], "only the live claim counts");
        const migrating = abstracted.users.find((u) =>
          u.action === "migrate" && u.accounts?.length
        );
        assert.ok(migrating?.user?.userMetadata.original_id === migrating?.id);
        assert.ok(!JSON.stringify(abstracted).includes("$2a$"), "plans carry no hashes");
        void created;

        // A difference is reported per user and field.
        const tampered = {
          users: abstracted.users.map((u, i) =>
            i === 0 ? { ...u, reason: "banned_user", action: "reject" as const } : u
          ),
        };
        const mismatch = comparePlans(original, tampered);
        assert.equal(mismatch.equal, false);
        assert.deepEqual(mismatch.differences, [{
          id: abstracted.users[0]!.id,
          fields: ["action", "reason"],
        }]);
      });

      await t.step(
        "the original writes what the engine writes (same verify checksum)",
        async () => {
          await resetTables(db);
          await seedAuthUsers(db, 120, { invalid: true });
          const dropped = await dropKindsOnlyTheEngineCarries(db);
          await db.query("INSERT INTO migration_states (id, source) VALUES ('orig', 'original')");
          const context = { ...(await originalContext(db, "orig")), migrationId: "orig" };
          const counts = await runOriginal(context, { perPage: 25 });
          assert.equal(counts.processed, 120 - dropped);
          const engine = new BatchMigrationEngine({ db, source: new SupabaseAuthSource(db) });
          const originalVerify = await engine.verify({ migration_id: "orig" });
          assert.equal(originalVerify.equal, true);
          const originalRows = await countRows(db);

          await resetTables(db);
          await seedAuthUsers(db, 120, { invalid: true });
          await dropKindsOnlyTheEngineCarries(db);
          const run = await engine.run({});
          assert.equal(run.migrated, counts.migrated);
          assert.equal(run.errors, counts.errors);
          const engineVerify = await engine.verify({ migration_id: run.migration_id });
          assert.equal(engineVerify.target_checksum, originalVerify.target_checksum);
          assert.deepEqual(await countRows(db), originalRows);
        },
      );

      await t.step("a migrated user signs in to Better Auth with the old password", async () => {
        const betterAuth = betterAuthOn(db, keys);
        const signedIn = await betterAuth.signIn({
          email: "user10@example.com",
          password: PASSWORD,
        });
        assert.equal(signedIn.ok, true);
        const wrong = await betterAuth.signIn({ email: "user10@example.com", password: "nope" });
        assert.equal(wrong.ok, false);
      });
    } finally {
      await db.close();
    }
  });
}
