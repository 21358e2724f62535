/**
 * Better Auth refresh tokens on PGlite and PostgreSQL 15, with GoTrue's rules
 * (supabase/auth internal/tokens/service.go RefreshTokenGrant): rotation, the parent rule, the
 * reuse interval, family revocation that survives the failed request, stored hashed only,
 * concurrent refreshes of one token, and the refusals (banned, expired, unknown) writing nothing.
 */
import assert from "node:assert/strict";
import { createStandinKeys } from "../../../local/standin/keys.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { hashRefreshToken } from "../../../shared/sessions/refresh-tokens.ts";
import { TEST_DATABASE_URL } from "../../helpers/db.ts";
import { betterAuthOn, email, openDatabase, PASSWORD, type Provider } from "../auth/harness.ts";

async function tokenRows(db: SqlClient, sessionId: string) {
  const { rows } = await db.query<{ revoked: boolean; parent_hash: string | null }>(
    `SELECT revoked, parent_hash FROM better_auth_refresh_token
      WHERE session_id = $1::uuid ORDER BY id`,
    [sessionId],
  );
  return rows;
}

async function tableState(db: SqlClient) {
  const { rows } = await db.query(
    `SELECT (SELECT count(*) FROM better_auth_refresh_token)::int AS tokens,
            (SELECT count(*) FROM better_auth_refresh_token WHERE revoked)::int AS revoked,
            (SELECT coalesce(max(updated_at)::text, '') FROM better_auth_refresh_token) AS touched,
            (SELECT count(*) FROM "session")::int AS sessions`,
  );
  return rows[0];
}

for (const provider of ["pglite", "postgres"] as Provider[]) {
  Deno.test({
    name: `refresh tokens on ${provider}`,
    ignore: provider === "postgres" && !TEST_DATABASE_URL,
    async fn(t) {
      const db = await openDatabase(provider);
      const service = betterAuthOn(db, await createStandinKeys());
      const store = await service.refreshTokens();
      const login = async (tag: string) => {
        const address = email(tag);
        const created = await service.signUp({ email: address, password: PASSWORD });
        assert.ok(created.ok);
        const signedIn = await service.signIn({ email: address, password: PASSWORD });
        assert.ok(signedIn.ok && signedIn.value.session);
        const token = signedIn.value.session.refresh_token;
        const owner = await store.sessionOf(token);
        assert.ok(owner, "the token names its session");
        return { token, sessionId: owner.sessionId, userId: created.value.user.id };
      };
      try {
        await t.step("stored as a SHA-256 hash, never in clear", async () => {
          const { token, sessionId } = await login("hashed");
          const { rows } = await db.query<{ token_hash: string }>(
            `SELECT token_hash FROM better_auth_refresh_token WHERE session_id = $1::uuid`,
            [sessionId],
          );
          assert.deepEqual(rows.map((r) => r.token_hash), [await hashRefreshToken(token)]);
          const plain = await db.query(
            `SELECT 1 FROM better_auth_refresh_token WHERE token_hash = $1 OR parent_hash = $1`,
            [token],
          );
          assert.equal(plain.rows.length, 0);
        });

        await t.step(
          "rotation, the parent rule, the reuse interval, family revocation",
          async () => {
            const { token: a, sessionId, userId } = await login("rotation");
            const first = await store.rotate(a);
            assert.ok(first.ok);
            assert.equal(first.userId, userId);
            assert.equal(first.sessionId, sessionId);
            const b = first.refreshToken;
            assert.notEqual(b, a);
            // The client lost the response: presenting A again returns the active B.
            const again = await store.rotate(a);
            assert.ok(again.ok);
            assert.equal(again.refreshToken, b);
            const second = await store.rotate(b);
            assert.ok(second.ok);
            const c = second.refreshToken;
            // A is no longer the parent of the active token; inside the reuse interval it still
            // gets a (new) child, as GoTrue's.
            const reuse = await store.rotate(a);
            assert.ok(reuse.ok);
            assert.notEqual(reuse.refreshToken, c);
            // Past the interval: the whole family is revoked, and stays revoked after the refusal.
            await db.query(
              `UPDATE better_auth_refresh_token SET updated_at = now() - interval '11 seconds'
              WHERE session_id = $1::uuid AND revoked`,
              [sessionId],
            );
            assert.deepEqual(await store.rotate(b), {
              ok: false,
              refusal: "refresh_token_already_used",
            });
            assert.ok((await tokenRows(db, sessionId)).every((row) => row.revoked), "all revoked");
            await db.query(
              `UPDATE better_auth_refresh_token SET updated_at = now() - interval '11 seconds'
              WHERE session_id = $1::uuid`,
              [sessionId],
            );
            for (const token of [a, b, c, reuse.refreshToken]) {
              assert.deepEqual(await store.rotate(token), {
                ok: false,
                refusal: "refresh_token_already_used",
              });
            }
          },
        );

        await t.step("a refresh slides the session's end", async () => {
          const { token, sessionId } = await login("sliding");
          await db.query(
            `UPDATE "session" SET "expiresAt" = now() + interval '1 minute' WHERE id = $1::uuid`,
            [sessionId],
          );
          assert.ok((await store.rotate(token)).ok);
          const { rows } = await db.query<{ seconds: number }>(
            `SELECT extract(epoch FROM "expiresAt" - now())::float8 AS seconds
               FROM "session" WHERE id = $1::uuid`,
            [sessionId],
          );
          const seconds = Number(rows[0]!.seconds);
          assert.ok(seconds > 7 * 86400 - 600 && seconds <= 7 * 86400, `${seconds} s left`);
        });

        await t.step("refusals write nothing: unknown, garbage, banned, expired", async () => {
          const banned = await login("banned");
          const expired = await login("expired");
          await db.query(
            `UPDATE "user" SET banned = true, "banExpires" = NULL WHERE id = $1::uuid`,
            [banned.userId],
          );
          await db.query(
            `UPDATE "session" SET "expiresAt" = now() - interval '1 second' WHERE id = $1::uuid`,
            [expired.sessionId],
          );
          const before = await tableState(db);
          assert.deepEqual(await store.rotate(banned.token), {
            ok: false,
            refusal: "user_banned",
          });
          assert.deepEqual(await store.rotate(expired.token), {
            ok: false,
            refusal: "session_expired",
          });
          for (const junk of ["", "short", "x".repeat(5000), "a.b.c", "🙂".repeat(20)]) {
            assert.deepEqual(await store.rotate(junk), {
              ok: false,
              refusal: "refresh_token_not_found",
            });
          }
          const unknown = "A".repeat(43);
          assert.deepEqual(await store.rotate(unknown), {
            ok: false,
            refusal: "refresh_token_not_found",
          });
          assert.deepEqual(await tableState(db), before);
          // An expired ban is no ban.
          await db.query(
            `UPDATE "user" SET "banExpires" = now() - interval '1 minute' WHERE id = $1::uuid`,
            [banned.userId],
          );
          assert.ok((await store.rotate(banned.token)).ok);
        });

        await t.step("ending a session (logout, sync) ends its tokens", async () => {
          const one = await login("end-one");
          await db.query(`DELETE FROM "session" WHERE id = $1::uuid`, [one.sessionId]);
          assert.deepEqual(await store.rotate(one.token), {
            ok: false,
            refusal: "refresh_token_not_found",
          });
          assert.equal((await tokenRows(db, one.sessionId)).length, 0, "cascaded");
        });

        if (provider === "postgres") {
          await t.step("concurrent refreshes of one token: both get the same child", async () => {
            const { token } = await login("concurrent");
            const results = await Promise.all([store.rotate(token), store.rotate(token)]);
            assert.ok(results.every((r) => r.ok), JSON.stringify(results));
            const tokens = results.map((r) => r.ok ? r.refreshToken : "");
            assert.equal(tokens[0], tokens[1], "the loser gets the winner's token");
          });
        }
      } finally {
        await service.drain();
        await db.close();
      }
    },
  });
}
