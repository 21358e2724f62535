/**
 * Rotating refresh tokens for Better Auth sessions, with GoTrue's rules
 * (supabase/auth internal/tokens/service.go RefreshTokenGrant, formerly
 * internal/api/token_refresh.go; the local stand-in copies the same rules in
 * local/standin/auth/sessions.ts):
 *
 * - every refresh revokes the presented token and issues a child (`parent` = the old token);
 * - a revoked token that is the parent of the session's currently active token (a client that
 *   lost the response) gets that active token back, no new one;
 * - any other revoked token is accepted once more only inside the reuse interval
 *   (GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL, 10 s by default) measured from the moment it
 *   was revoked (`updated_at`); after it, the whole token family (every token of the session) is
 *   revoked and the request fails with `refresh_token_already_used` — the revocation is
 *   COMMITTED although the request fails (GoTrue's storage.NewCommitWithError);
 * - a banned user's token: `user_banned`; an ended session: `session_expired`; anything else:
 *   `refresh_token_not_found`.
 *
 * Unlike GoTrue no token is stored in clear (table better_auth_refresh_token, migration
 * 20261207020000): rows hold SHA-256 hashes. To still be able to hand back the active token,
 * a child is DERIVED from its parent: HMAC(key, index ":" parent), the key derived from
 * BETTER_AUTH_SECRET. Only someone holding both the parent token and the server key can compute
 * it, which is exactly who GoTrue would give it to. The first token of a session is random.
 *
 * Rows are locked FOR UPDATE (token and session), so concurrent refreshes of one token on
 * PostgreSQL serialise and the loser gets the winner's token through the parent rule.
 */
import type { SqlClient } from "../db/sql-client.ts";
import { hmacSha256, hmacSha256Key } from "../crypto/hmac.ts";

/** GoTrue's default GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL (internal/conf). */
export const DEFAULT_REUSE_INTERVAL_SECONDS = 10;

export type SecondFactor = "totp";

export type RefreshRefusal =
  | "refresh_token_not_found"
  | "refresh_token_already_used"
  | "session_expired"
  | "user_banned";

/** GoTrue's messages for each refusal (same file). */
export const REFUSAL_MESSAGES: Readonly<Record<RefreshRefusal, string>> = {
  refresh_token_not_found: "Invalid Refresh Token: Refresh Token Not Found",
  refresh_token_already_used: "Invalid Refresh Token: Already Used",
  session_expired: "Invalid Refresh Token: Session Expired",
  user_banned: "Invalid Refresh Token: User Banned",
};

export interface RotatedToken {
  readonly ok: true;
  readonly refreshToken: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly secondFactor: SecondFactor | null;
  readonly authenticatedAt: Date;
}

export type RotateOutcome = RotatedToken | { readonly ok: false; readonly refusal: RefreshRefusal };

export interface RefreshTokenStoreSettings {
  /** Better Auth's database (the "session" and "user" tables). */
  readonly db: SqlClient;
  /** BETTER_AUTH_SECRET: the child-derivation key is derived from it, never used as is. */
  readonly secret: string;
  readonly reuseIntervalSeconds?: number;
  /** A refresh slides the session's end this far (Better Auth's session.expiresIn). */
  readonly sessionTtlSeconds?: number;
}

/** Our tokens: 43 base64url characters. Anything far from that is not looked up. */
const PLAUSIBLE = /^[A-Za-z0-9_-]{16,128}$/;

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** SHA-256 hex: what the table stores. */
export async function hashRefreshToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** True when `token` has the shape of one of our refresh tokens (no database read). */
export function isPlausibleRefreshToken(token: string): boolean {
  return PLAUSIBLE.test(token);
}

interface TokenRow {
  id: number | string;
  token_hash: string;
  session_id: string;
  user_id: string;
  revoked: boolean;
  second_factor: string | null;
  authenticated_at: Date | string;
  past_reuse: boolean;
  expired: boolean;
  banned: boolean;
}

export class RefreshTokenStore {
  readonly #keyPromise: Promise<CryptoKey>;
  readonly #reuse: number;
  readonly #ttl: number;

  constructor(private readonly settings: RefreshTokenStoreSettings) {
    this.#reuse = settings.reuseIntervalSeconds ?? DEFAULT_REUSE_INTERVAL_SECONDS;
    this.#ttl = settings.sessionTtlSeconds ?? 7 * 24 * 3600;
    // A key of its own for deriving children, never the Better Auth secret itself.
    this.#keyPromise = hmacSha256(settings.secret, "edge-migrator/refresh-token-child/v1")
      .then(hmacSha256Key);
  }

  async #derive(parent: string, index: number): Promise<string> {
    return base64url(await hmacSha256(await this.#keyPromise, `${index}:${parent}`));
  }

  /** Opens the token family of a new Better Auth session; returns the first token. */
  async issue(
    sessionId: string,
    userId: string,
    options: { secondFactor?: SecondFactor; authenticatedAt?: Date; db?: SqlClient } = {},
  ): Promise<string> {
    const token = base64url(crypto.getRandomValues(new Uint8Array(32)));
    await (options.db ?? this.settings.db).query(
      `INSERT INTO better_auth_refresh_token
         (token_hash, parent_hash, child_index, session_id, user_id, second_factor, authenticated_at)
       VALUES ($1, NULL, 0, $2::uuid, $3::uuid, $4, $5)`,
      [
        await hashRefreshToken(token),
        sessionId,
        userId,
        options.secondFactor ?? null,
        options.authenticatedAt ?? new Date(),
      ],
    );
    return token;
  }

  /** The refresh_token grant on a Better Auth session (the rules in the header). */
  async rotate(presented: string): Promise<RotateOutcome> {
    if (!isPlausibleRefreshToken(presented)) {
      return { ok: false, refusal: "refresh_token_not_found" };
    }
    const hash = await hashRefreshToken(presented);
    return await this.settings.db.transaction(async (tx): Promise<RotateOutcome> => {
      // Time comparisons use the database clock, the one updated_at was written with.
      const { rows } = await tx.query<TokenRow>(
        `SELECT t.id, t.token_hash, t.session_id::text AS session_id, t.user_id::text AS user_id,
                t.revoked, t.second_factor, t.authenticated_at,
                t.updated_at + make_interval(secs => $2::int) < now() AS past_reuse,
                s."expiresAt" <= now() AS expired,
                (coalesce(u.banned, false) AND (u."banExpires" IS NULL OR u."banExpires" > now()))
                  AS banned
           FROM better_auth_refresh_token t
           JOIN "session" s ON s.id = t.session_id
           JOIN "user" u ON u.id = t.user_id
          WHERE t.token_hash = $1
          FOR UPDATE OF t, s`,
        [hash, this.#reuse],
      );
      const row = rows[0];
      if (!row) return { ok: false, refusal: "refresh_token_not_found" };
      if (row.banned) return { ok: false, refusal: "user_banned" };
      if (row.expired) return { ok: false, refusal: "session_expired" };

      let issued: string | null = null;
      if (row.revoked) {
        const active = await tx.query<
          { token_hash: string; parent_hash: string | null; child_index: number }
        >(
          `SELECT token_hash, parent_hash, child_index FROM better_auth_refresh_token
            WHERE session_id = $1::uuid AND revoked = false ORDER BY id DESC LIMIT 1`,
          [row.session_id],
        );
        const current = active.rows[0];
        if (current && current.parent_hash === hash) {
          const candidate = await this.#derive(presented, Number(current.child_index));
          if (await hashRefreshToken(candidate) === current.token_hash) issued = candidate;
        }
        if (issued === null && row.past_reuse) {
          // Reuse outside the interval: a stolen token. The whole family goes, and stays gone.
          await tx.query(
            `UPDATE better_auth_refresh_token SET revoked = true, updated_at = now()
              WHERE session_id = $1::uuid AND revoked = false`,
            [row.session_id],
          );
          return { ok: false, refusal: "refresh_token_already_used" };
        }
      }
      if (issued === null) {
        if (!row.revoked) {
          await tx.query(
            `UPDATE better_auth_refresh_token SET revoked = true, updated_at = now() WHERE id = $1`,
            [row.id],
          );
        }
        const siblings = await tx.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM better_auth_refresh_token WHERE parent_hash = $1`,
          [hash],
        );
        const index = Number(siblings.rows[0]?.n ?? 0);
        issued = await this.#derive(presented, index);
        await tx.query(
          `INSERT INTO better_auth_refresh_token
             (token_hash, parent_hash, child_index, session_id, user_id, second_factor,
              authenticated_at)
           VALUES ($1, $2, $3, $4::uuid, $5::uuid, $6, $7)`,
          [
            await hashRefreshToken(issued),
            hash,
            index,
            row.session_id,
            row.user_id,
            row.second_factor,
            row.authenticated_at,
          ],
        );
      }
      // Better Auth's sliding session (session.updateAge): a used session lives on.
      await tx.query(
        `UPDATE "session" SET "updatedAt" = now(), "expiresAt" = now() + make_interval(secs => $2::int)
          WHERE id = $1::uuid`,
        [row.session_id, this.#ttl],
      );
      return {
        ok: true,
        refreshToken: issued,
        sessionId: row.session_id,
        userId: row.user_id,
        secondFactor: row.second_factor === "totp" ? "totp" : null,
        authenticatedAt: new Date(row.authenticated_at),
      };
    });
  }

  /** The session a token (any of its family, revoked or not) belongs to, or null. */
  async sessionOf(presented: string): Promise<{ sessionId: string; userId: string } | null> {
    if (!isPlausibleRefreshToken(presented)) return null;
    const { rows } = await this.settings.db.query<{ session_id: string; user_id: string }>(
      `SELECT session_id::text AS session_id, user_id::text AS user_id
         FROM better_auth_refresh_token WHERE token_hash = $1`,
      [await hashRefreshToken(presented)],
    );
    return rows[0] ? { sessionId: rows[0].session_id, userId: rows[0].user_id } : null;
  }

  /**
   * GoTrue's Logout scopes on Better Auth sessions (internal/api/logout.go): `local` ends this
   * session, `others` every other session of the user, `global` all of them. Tokens cascade.
   * Returns how many sessions ended.
   */
  async endSessions(
    userId: string,
    scope: "global" | "local" | "others",
    sessionId: string | null,
  ): Promise<number> {
    const db = this.settings.db;
    if (scope === "local") {
      if (!sessionId) return 0;
      return (await db.query(`DELETE FROM "session" WHERE id = $1::uuid`, [sessionId])).rowCount;
    }
    if (scope === "others") {
      return (await db.query(
        `DELETE FROM "session" WHERE "userId" = $1::uuid AND id IS DISTINCT FROM $2::uuid`,
        [userId, sessionId],
      )).rowCount;
    }
    return (await db.query(`DELETE FROM "session" WHERE "userId" = $1::uuid`, [userId])).rowCount;
  }
}
