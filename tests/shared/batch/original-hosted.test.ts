/**
 * The per-user original on the hosted-profile Auth stand-in, whose admin listUsers orders by
 * created_at DESC with no tiebreaker (users sharing a created_at come in a fresh order on every
 * request, as PostgreSQL may return them): with many users sharing one created_at and signups and
 * deletions between pages, every user that exists at the end is migrated exactly once and counted
 * once; a user deleted before its turn is not migrated.
 */
import assert from "node:assert/strict";
import type { User } from "@supabase/supabase-js";
import { createClient } from "@supabase/supabase-js";
import { Hono } from "hono";
import { sqlProviders } from "../../helpers/db.ts";
import { type AdminUsersApi, runOriginal } from "../../../shared/batch/original.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { createAuthApi } from "../../../local/standin/auth/app.ts";
import { createStandinKeys } from "../../../local/standin/keys.ts";
import { AUTH_SCHEMA_SQL, originalContextOn, resetTables, seedAuthUsers } from "./helpers.ts";

const keys = await createStandinKeys();
const SHARED_CREATED_AT = "2024-03-01 12:00:00+00";
const USERS = 300;
const PER_PAGE = 25;

function hostedAdmin(db: SqlClient): AdminUsersApi {
  const app = new Hono().route("/auth/v1", createAuthApi({ sql: db, keys, profile: "hosted" }));
  return createClient("http://standin.local", keys.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: { fetch: async (input, init) => await app.fetch(new Request(input, init)) },
  }).auth.admin;
}

async function seedSameCreatedAt(db: SqlClient, from: number, to: number): Promise<void> {
  await seedAuthUsers(db, to, { from });
  await db.query(
    "UPDATE auth.users SET created_at = $1::timestamptz WHERE created_at <> $1::timestamptz",
    [SHARED_CREATED_AT],
  );
}

async function context(db: SqlClient, admin: AdminUsersApi, migrationId: string) {
  await db.query("INSERT INTO migration_states (id, source) VALUES ($1, 'original')", [
    migrationId,
  ]);
  return { ...(await originalContextOn(db, admin, migrationId)), migrationId };
}

async function ids(db: SqlClient, sql: string, params: unknown[] = []): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(sql, params);
  return rows.map((row) => row.id).sort();
}

for (const provider of sqlProviders()) {
  Deno.test(`original on hosted listUsers (no tiebreaker) on ${provider.name}`, async (t) => {
    const db = await provider.open();
    await db.exec(AUTH_SCHEMA_SQL);
    try {
      await t.step("the hazard is real: plain OFFSET paging skips and repeats users", async () => {
        await resetTables(db);
        await seedSameCreatedAt(db, 1, USERS);
        const admin = hostedAdmin(db);
        const listed: string[] = [];
        for (let page = 1;; page++) {
          const { data, error } = await admin.listUsers({ page, perPage: PER_PAGE });
          assert.equal(error, null);
          listed.push(...data.users.map((user: User) => user.id));
          if (data.users.length < PER_PAGE) break;
        }
        assert.equal(listed.length, USERS, "as many rows as users were listed");
        assert.ok(new Set(listed).size < USERS, "some users came twice, so others never came");
      });

      await t.step(
        "every user is migrated exactly once despite the order and concurrent writes",
        async () => {
          await resetTables(db);
          await seedSameCreatedAt(db, 1, USERS);
          const admin = hostedAdmin(db);
          let next = USERS;
          const deletedBeforeTurn: string[] = [];
          // Between pages: one signup with the same created_at, one deletion of a user the
          // migration has not handled yet.
          const busy: AdminUsersApi = {
            listUsers: async (params) => {
              const answer = await admin.listUsers(params);
              next += 1;
              await seedSameCreatedAt(db, next, next);
              // Not one of the page just answered: a user listed and then deleted before its
              // writes is a race every copy has (the set-based engine too), not a skip.
              const listed = answer.data.users.map((user: User) => user.id);
              const victim = await db.query<{ id: string }>(
                `SELECT u.id::text AS id FROM auth.users u
                  WHERE NOT EXISTS (SELECT 1 FROM batch_original_seen s WHERE s.user_id = u.id)
                    AND NOT (u.id = ANY($1::uuid[]))
                  ORDER BY u.id DESC LIMIT 1`,
                [listed],
              );
              if (victim.rows[0]) {
                deletedBeforeTurn.push(victim.rows[0].id);
                await db.query("DELETE FROM auth.users WHERE id = $1::uuid", [victim.rows[0].id]);
              }
              return answer;
            },
            getUserById: (id) => admin.getUserById(id),
          };
          const result = await runOriginal(await context(db, busy, "hosted-orig"), {
            perPage: PER_PAGE,
          });
          assert.equal(result.reachedEnd, true);
          assert.ok(next > USERS + 5, "users signed up while the listing ran");
          assert.ok(deletedBeforeTurn.length > 5, "users were deleted while the listing ran");

          const existing = await ids(db, "SELECT id::text AS id FROM auth.users");
          const migrated = await ids(
            db,
            `SELECT new_auth_id::text AS id FROM migrated_users WHERE migration_id = $1`,
            ["hosted-orig"],
          );
          const inBetterAuth = await ids(db, `SELECT id::text AS id FROM "user"`);
          assert.deepEqual(migrated, existing, "every existing user migrated, no one else");
          assert.deepEqual(inBetterAuth, existing, "one Better Auth user per existing user");
          for (const gone of deletedBeforeTurn) {
            assert.ok(!migrated.includes(gone), "a user deleted before its turn is not migrated");
          }
          assert.equal(result.migrated, existing.length, "each counted once");
          assert.equal(result.processed, existing.length);
          const { rows } = await db.query<{ processed_count: number; migrated_count: number }>(
            "SELECT processed_count, migrated_count FROM migration_states WHERE id = $1",
            ["hosted-orig"],
          );
          assert.equal(Number(rows[0]!.migrated_count), existing.length);
          assert.equal(Number(rows[0]!.processed_count), existing.length);
        },
      );

      await t.step("a run resumed page by page still ends with every user once", async () => {
        await resetTables(db);
        await seedSameCreatedAt(db, 1, 120);
        const admin = hostedAdmin(db);
        const ctx = await context(db, admin, "resumed");
        let startPage = 1;
        let total = 0;
        for (let call = 0; call < 50; call++) {
          const result = await runOriginal(ctx, { perPage: 20, maxPages: 2, startPage });
          total += result.migrated;
          const { rows } = await db.query<{ next_page: number }>(
            "SELECT (config->>'next_page')::int AS next_page FROM migration_states WHERE id = $1",
            ["resumed"],
          );
          startPage = rows[0]!.next_page;
          if (result.reachedEnd) break;
        }
        assert.equal(total, 120);
        assert.deepEqual(
          await ids(db, `SELECT id::text AS id FROM "user"`),
          await ids(db, "SELECT id::text AS id FROM auth.users"),
        );
      });

      await t.step(
        "a user with a verified TOTP factor is refused, never migrated without it",
        async () => {
          await resetTables(db);
          await seedAuthUsers(db, 6);
          const { rows } = await db.query<{ id: string }>(
            "SELECT id::text AS id FROM auth.users ORDER BY id LIMIT 2",
          );
          const [verified, unverified] = rows.map((row) => row.id);
          for (const [userId, status] of [[verified, "verified"], [unverified, "unverified"]]) {
            await db.query(
              `INSERT INTO auth.mfa_factors (id, user_id, friendly_name, factor_type, status,
                                           created_at, updated_at, secret)
             VALUES (gen_random_uuid(), $1::uuid, 'app', 'totp', $2, now(), now(), 'JBSWY3DPEHPK3PXP')`,
              [userId, status],
            );
          }
          const result = await runOriginal(await context(db, hostedAdmin(db), "totp"), {
            perPage: 50,
          });
          assert.ok(result.reachedEnd);
          const migrated = await ids(db, `SELECT id::text AS id FROM "user"`);
          assert.ok(!migrated.includes(verified!), "the verified-TOTP user is not in Better Auth");
          assert.ok(
            migrated.includes(unverified!),
            "an unverified factor does not hold a user back",
          );
          const { rows: errors } = await db.query<{ error_code: string }>(
            "SELECT error_code FROM migration_errors WHERE user_id = $1",
            [verified],
          );
          assert.deepEqual(errors.map((row) => row.error_code), ["totp_not_carried"]);
        },
      );
    } finally {
      await db.close();
    }
  });
}
