/**
 * The system-of-record rule read straight from the tables, on PGlite and PostgreSQL 15: routing
 * target, cut-over, freshness (the outbox) and when the other system may answer.
 */
import assert from "node:assert/strict";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { routingProbe } from "../../../shared/identity/routing-probe.ts";
import {
  type IdentityDecision,
  SystemOfRecord,
} from "../../../shared/identity/system-of-record.ts";
import { defaultRoutingConfig } from "../../../shared/flags/resolve.ts";
import { sqlProviders } from "../../helpers/db.ts";
import { AUTH_SCHEMA_SQL } from "../batch/helpers.ts";

const HASH = "$2a$10$8zpUV76/WWrTy/mgQwiLxOvY/84FR6deyK0S9QxFSFf4cOO8MYPH.";
const OTHER_HASH = "$2a$10$abcdefghijklmnopqrstuu8zpUV76/WWrTy/mgQwiLxOvY/84FR6d";

async function supabaseUser(db: SqlClient, email: string, hash = HASH): Promise<string> {
  const id = crypto.randomUUID();
  await db.query(
    `INSERT INTO auth.users (instance_id, id, aud, role, email, encrypted_password,
                             email_confirmed_at, created_at, updated_at)
     VALUES ('00000000-0000-0000-0000-000000000000', $1::uuid, 'authenticated', 'authenticated',
             $2, $3, now(), now(), now())`,
    [id, email, hash],
  );
  return id;
}

async function betterAuthCopy(db: SqlClient, id: string, email: string, hash = HASH) {
  await db.query(
    `INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt")
     VALUES ($1::uuid, '', $2, true, now(), now())`,
    [id, email],
  );
  await db.query(
    `INSERT INTO account (id, "accountId", "providerId", "userId", password, "createdAt",
                          "updatedAt")
     VALUES (gen_random_uuid(), $1::text, 'credential', $1::uuid, $2, now(), now())`,
    [id, hash],
  );
}

async function pending(
  db: SqlClient,
  id: string,
  direction: "to_better_auth" | "to_supabase",
  op: "insert" | "update" = "update",
) {
  await db.query(
    `INSERT INTO identity_change_outbox (direction, user_id, entity, op)
     VALUES ($1, $2::uuid, 'user', $3)`,
    [direction, id, op],
  );
}

/** Marks the user's captured rows applied (as the appliers would). */
async function settle(db: SqlClient, id: string) {
  await db.query(`UPDATE identity_change_outbox SET applied_at = now() WHERE user_id = $1`, [id]);
}

/** A password change on one side that its applier has not carried over yet. */
async function newHashIn(
  db: SqlClient,
  id: string,
  side: "supabase" | "better_auth",
  hash: string,
) {
  if (side === "supabase") {
    await db.query(`UPDATE auth.users SET encrypted_password = $2 WHERE id = $1::uuid`, [id, hash]);
  } else {
    await db.query(`UPDATE account SET password = $2 WHERE "userId" = $1::uuid`, [id, hash]);
  }
}

function rule(db: SqlClient, useBetterAuth = true): SystemOfRecord {
  return new SystemOfRecord(
    { mode: "dual_write", useBetterAuth, supabase: true, betterAuth: true },
    { db },
  );
}

const brief = (d: IdentityDecision) => [d.systemOfRecord, d.reason, d.blocked];

for (const provider of sqlProviders()) {
  Deno.test(`system of record on ${provider.name}`, async (t) => {
    const db = await provider.open();
    await db.exec(AUTH_SCHEMA_SQL);
    try {
      await t.step("routing keeps the user on Supabase: Supabase", async () => {
        const email = `a-${crypto.randomUUID()}@example.com`;
        const id = await supabaseUser(db, email);
        await betterAuthCopy(db, id, email);
        const d = await rule(db, false).decide(email);
        assert.deepEqual(brief(d), ["supabase", "routed_to_supabase", null]);
        assert.equal(d.userId, id);
        assert.deepEqual(rule(db, false).otherMayAnswer(d), { kind: "in_sync" });
      });

      await t.step("routed to Better Auth: cut over only with a copy in sync", async () => {
        const email = `b-${crypto.randomUUID()}@example.com`;
        const id = await supabaseUser(db, email);
        assert.deepEqual(brief(await rule(db).decide(email)), [
          "supabase",
          "no_better_auth_copy",
          null,
        ]);
        await betterAuthCopy(db, id, email);
        assert.deepEqual(brief(await rule(db).decide(email)), ["better_auth", "cut_over", null]);
        // Echoes are not changes: a captured insert toward a side that holds the user, or any
        // row whose effect both copies already show, leaves the user cut over.
        await pending(db, id, "to_better_auth", "insert");
        assert.deepEqual(brief(await rule(db).decide(email)), ["better_auth", "cut_over", null]);
        await pending(db, id, "to_better_auth");
        assert.deepEqual(brief(await rule(db).decide(email)), ["better_auth", "cut_over", null]);
        // A reset in Supabase, not applied yet: Supabase is the truth.
        await newHashIn(db, id, "supabase", OTHER_HASH);
        const behind = await rule(db).decide(email);
        assert.deepEqual(brief(behind), ["supabase", "better_auth_behind", null]);
        assert.equal(rule(db).otherMayAnswer(behind).kind, "not_in_sync");
        await pending(db, id, "to_supabase");
        const both = await rule(db).decide(email);
        assert.match(both.blocked ?? "", /both directions/);
        assert.equal(rule(db).otherMayAnswer(both).kind, "not_in_sync");
        await db.query(`UPDATE identity_change_outbox SET applied_at = now() WHERE user_id = $1`, [
          id,
        ]);
        await newHashIn(db, id, "better_auth", OTHER_HASH);
        assert.deepEqual(brief(await rule(db).decide(email)), ["better_auth", "cut_over", null]);
      });

      await t.step("changes toward Supabase make Better Auth the truth", async () => {
        const email = `c-${crypto.randomUUID()}@example.com`;
        const id = await supabaseUser(db, email);
        await betterAuthCopy(db, id, email);
        await newHashIn(db, id, "better_auth", OTHER_HASH);
        await pending(db, id, "to_supabase");
        const d = await rule(db, false).decide(email);
        assert.deepEqual(brief(d), ["better_auth", "supabase_behind", null]);
        assert.equal(rule(db, false).otherMayAnswer(d).kind, "not_in_sync");
      });

      await t.step("the other answers only with the same hash, ban and email", async () => {
        const email = `d-${crypto.randomUUID()}@example.com`;
        const id = await supabaseUser(db, email);
        await betterAuthCopy(db, id, email, OTHER_HASH);
        const sor = rule(db, false);
        // Each system hashed the password with its own salt (a dual-write signup): the password
        // must first verify against the system of record's stored hash.
        assert.deepEqual(sor.otherMayAnswer(await sor.decide(email)), {
          kind: "in_sync",
          recordHash: HASH,
        });
        await db.query(`UPDATE account SET password = $2 WHERE "userId" = $1::uuid`, [id, HASH]);
        await db.query(`UPDATE "user" SET banned = true WHERE id = $1::uuid`, [id]);
        await settle(db, id); // this step compares states; the capture triggers' rows are applied
        assert.deepEqual(sor.otherMayAnswer(await sor.decide(email)), {
          kind: "not_in_sync",
          reason: "ban differs",
        });
        // An expired ban is no ban (the admin plugin lifts it at the next session).
        await db.query(
          `UPDATE "user" SET "banExpires" = now() - interval '1 minute' WHERE id = $1::uuid`,
          [id],
        );
        await settle(db, id);
        assert.deepEqual(sor.otherMayAnswer(await sor.decide(email)), { kind: "in_sync" });
        await db.query(`UPDATE "user" SET email = 'x' || email WHERE id = $1::uuid`, [id]);
        await settle(db, id);
        assert.deepEqual(sor.otherMayAnswer(await sor.decide(email)), {
          kind: "not_in_sync",
          reason: "email differs",
        });
      });

      await t.step("the system of record's stored refusal is its answer", async () => {
        const email = `e-${crypto.randomUUID()}@example.com`;
        const id = await supabaseUser(db, email);
        await betterAuthCopy(db, id, email);
        const sor = rule(db, false);
        await db.query(
          `UPDATE auth.users SET banned_until = now() + interval '1 day' WHERE id = $1::uuid`,
          [id],
        );
        const banned = sor.otherMayAnswer(await sor.decide(email));
        assert.equal(banned.kind === "refused" && banned.error.code, "user_banned");
        await db.query(`UPDATE auth.users SET deleted_at = now() WHERE id = $1::uuid`, [id]);
        const deleted = sor.otherMayAnswer(await sor.decide(email));
        assert.equal(deleted.kind === "refused" && deleted.error.code, "invalid_credentials");
        await db.query(
          `UPDATE auth.users SET deleted_at = NULL, banned_until = NULL, email_confirmed_at = NULL
            WHERE id = $1::uuid`,
          [id],
        );
        const unconfirmed = await sor.decide(email);
        assert.equal(sor.betterAuthRefusalAfterPassword(unconfirmed)?.code, "email_not_confirmed");
      });

      await t.step("routing comes from the login flags: kill switch and rollout", async () => {
        const email = `f-${crypto.randomUUID()}@example.com`;
        const id = await supabaseUser(db, email);
        await betterAuthCopy(db, id, email);
        let config = defaultRoutingConfig({ rolloutPercentage: 100 });
        const source = {
          configFor: () =>
            Promise.resolve({
              config,
              provenance: { globalVersion: null, functionVersion: null, stale: false },
            }),
        };
        const sor = new SystemOfRecord(
          { mode: "dual_write", useBetterAuth: true, supabase: true, betterAuth: true },
          { db, routing: routingProbe(source) },
        );
        assert.deepEqual(brief(await sor.decide(email)), ["better_auth", "cut_over", null]);
        config = defaultRoutingConfig({ rolloutPercentage: 0 });
        assert.deepEqual(brief(await sor.decide(email)), [
          "supabase",
          "routed_to_supabase",
          null,
        ]);
        config = defaultRoutingConfig({ rolloutPercentage: 100, forceOriginal: true });
        assert.equal((await sor.decide(email)).routedTo, "supabase");
      });

      await t.step("without a readable outbox nothing is known to be in sync", async () => {
        const sor = new SystemOfRecord(
          { mode: "dual_write", useBetterAuth: true, supabase: true, betterAuth: true },
          {},
        );
        const d = await sor.decide("nobody@example.com");
        assert.deepEqual(brief(d), ["supabase", "state_unreadable", null]);
        assert.equal(sor.otherMayAnswer(d).kind, "not_in_sync");
      });
    } finally {
      await db.close();
    }
  });
}
