/**
 * Sessions and rotating refresh tokens (auth.sessions / auth.refresh_tokens), following GoTrue's
 * RefreshTokenGrant:
 * - every refresh revokes the presented token and issues a child (`parent` = the old token);
 * - presenting the parent of the session's active token again (a client that lost the response)
 *   returns that active token instead of failing;
 * - presenting any other revoked token inside the reuse interval (default 10 s) issues a new
 *   child; after it, the whole token family is revoked (stolen-token detection) and the request
 *   fails with `refresh_token_already_used` — the revocation is committed even though the
 *   request fails.
 * Rows are locked FOR UPDATE, so concurrent refreshes of one token on PostgreSQL serialise and
 * the loser receives the winner's token (PGlite is one connection and serialises anyway).
 */
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { badRequest, type GoTrueError } from "./errors.ts";
import { type AuthUser, findUserById, isBanned, NIL_UUID } from "./users.ts";

export interface AuthSession {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: Date;
  readonly notAfter: Date | null;
}

export interface ClientInfo {
  readonly userAgent: string | null;
  readonly ip: string | null;
}

export type LogoutScope = "global" | "local" | "others";

const TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
const TOKEN_LENGTH = 32;

/** An opaque refresh token: 32 characters from a CSPRNG (~165 bits). */
export function newRefreshToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(TOKEN_LENGTH * 2));
  let token = "";
  for (const byte of bytes) {
    // Rejection sampling keeps every character equally likely (252 = 7 × 36).
    if (byte >= 252) continue;
    token += TOKEN_ALPHABET[byte % 36];
    if (token.length === TOKEN_LENGTH) return token;
  }
  return token + newRefreshToken().slice(token.length);
}

interface SessionRow {
  id: string;
  user_id: string;
  created_at: Date | null;
  not_after: Date | null;
}

function sessionFromRow(row: SessionRow): AuthSession {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: row.created_at ?? new Date(0),
    notAfter: row.not_after,
  };
}

export async function findSession(db: SqlClient, id: string): Promise<AuthSession | null> {
  const { rows } = await db.query<SessionRow>(
    `SELECT id::text AS id, user_id::text AS user_id, created_at, not_after
       FROM auth.sessions WHERE id = $1::uuid`,
    [id],
  );
  return rows[0] ? sessionFromRow(rows[0]) : null;
}

async function insertRefreshToken(
  db: SqlClient,
  userId: string,
  sessionId: string,
  parent: string | null,
): Promise<string> {
  const token = newRefreshToken();
  await db.query(
    `INSERT INTO auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id)
     VALUES ($1::uuid, $2, $3, false, now(), now(), $4, $5::uuid)`,
    [NIL_UUID, token, userId, parent, sessionId],
  );
  return token;
}

/** Opens a session with its first refresh token (GoTrue's issueRefreshToken). */
export async function createSession(
  db: SqlClient,
  userId: string,
  client: ClientInfo,
): Promise<{ session: AuthSession; refreshToken: string }> {
  const id = crypto.randomUUID();
  const { rows } = await db.query<SessionRow>(
    `INSERT INTO auth.sessions (id, user_id, created_at, updated_at, aal, user_agent, ip)
     VALUES ($1::uuid, $2::uuid, now(), now(), 'aal1', $3, $4::inet)
     RETURNING id::text AS id, user_id::text AS user_id, created_at, not_after`,
    [id, userId, client.userAgent, client.ip],
  );
  const refreshToken = await insertRefreshToken(db, userId, id, null);
  return { session: sessionFromRow(rows[0]!), refreshToken };
}

interface TokenRow {
  id: number;
  token: string;
  user_id: string | null;
  revoked: boolean | null;
  session_id: string | null;
  updated_at: Date | null;
}

type ExchangeOutcome =
  | {
    readonly ok: true;
    readonly user: AuthUser;
    readonly session: AuthSession;
    readonly refreshToken: string;
  }
  | { readonly ok: false; readonly error: GoTrueError };

const notFound = () =>
  badRequest("refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found");

/** The refresh_token grant. Throws GoTrueError for every refusal GoTrue reports. */
export async function exchangeRefreshToken(
  db: SqlClient,
  presented: string,
  options: { reuseIntervalSeconds: number; client: ClientInfo; now?: Date },
): Promise<{ user: AuthUser; session: AuthSession; refreshToken: string }> {
  const outcome = await db.transaction<ExchangeOutcome>(async (tx) => {
    const { rows } = await tx.query<TokenRow>(
      `SELECT id, token, user_id, revoked, session_id::text AS session_id, updated_at
         FROM auth.refresh_tokens WHERE token = $1 FOR UPDATE`,
      [presented],
    );
    const token = rows[0];
    if (!token) return { ok: false, error: notFound() };
    const user = token.user_id ? await findUserById(tx, token.user_id) : null;
    // A deleted account (hard or soft) keeps no usable refresh token.
    if (!user || user.deletedAt) return { ok: false, error: notFound() };
    if (isBanned(user, options.now)) {
      return { ok: false, error: badRequest("user_banned", "Invalid Refresh Token: User Banned") };
    }
    const sessionRows = token.session_id
      ? (await tx.query<SessionRow>(
        `SELECT id::text AS id, user_id::text AS user_id, created_at, not_after
           FROM auth.sessions WHERE id = $1::uuid FOR UPDATE`,
        [token.session_id],
      )).rows
      : [];
    const session = sessionRows[0] ? sessionFromRow(sessionRows[0]) : null;
    if (!session) {
      await tx.query("DELETE FROM auth.refresh_tokens WHERE id = $1", [token.id]);
      return {
        ok: false,
        error: badRequest("session_not_found", "Invalid Refresh Token: No Valid Session Found"),
      };
    }
    const now = options.now ?? new Date();
    if (session.notAfter && now > session.notAfter) {
      return {
        ok: false,
        error: badRequest("session_expired", "Invalid Refresh Token: Session Expired"),
      };
    }

    let issued: string | null = null;
    if (token.revoked) {
      const active = await tx.query<{ token: string; parent: string | null }>(
        `SELECT token, parent FROM auth.refresh_tokens
          WHERE session_id = $1::uuid AND revoked = false ORDER BY id DESC LIMIT 1`,
        [session.id],
      );
      if (active.rows[0]?.parent === token.token) {
        issued = active.rows[0].token;
      } else {
        const reuseUntil = (token.updated_at ?? new Date(0)).getTime() +
          options.reuseIntervalSeconds * 1000;
        if (now.getTime() > reuseUntil) {
          await tx.query(
            "UPDATE auth.refresh_tokens SET revoked = true, updated_at = now() WHERE session_id = $1::uuid",
            [session.id],
          );
          return {
            ok: false,
            error: badRequest("refresh_token_already_used", "Invalid Refresh Token: Already Used"),
          };
        }
      }
    }
    if (issued === null) {
      await tx.query(
        "UPDATE auth.refresh_tokens SET revoked = true, updated_at = now() WHERE id = $1",
        [token.id],
      );
      issued = await insertRefreshToken(tx, user.id, session.id, token.token);
    }
    await tx.query(
      `UPDATE auth.sessions
          SET refreshed_at = timezone('utc', now()), updated_at = now(), user_agent = $2, ip = $3::inet
        WHERE id = $1::uuid`,
      [session.id, options.client.userAgent, options.client.ip],
    );
    return { ok: true, user, session, refreshToken: issued };
  });
  if (!outcome.ok) throw outcome.error;
  return outcome;
}

/** GoTrue's Logout: `local` ends this session, `others` every other one, `global` all. */
export async function endSessions(
  db: SqlClient,
  userId: string,
  sessionId: string | null,
  scope: LogoutScope,
): Promise<void> {
  await db.transaction(async (tx) => {
    if (scope === "local") {
      if (sessionId) await tx.query("DELETE FROM auth.sessions WHERE id = $1::uuid", [sessionId]);
      return;
    }
    if (scope === "others") {
      await tx.query(
        "DELETE FROM auth.sessions WHERE user_id = $1::uuid AND id IS DISTINCT FROM $2::uuid",
        [userId, sessionId],
      );
      return;
    }
    await tx.query("DELETE FROM auth.sessions WHERE user_id = $1::uuid", [userId]);
    await tx.query("DELETE FROM auth.refresh_tokens WHERE user_id = $1", [userId]);
  });
}

/** Reported by logout when the `scope` query parameter is not one GoTrue knows. */
export function parseLogoutScope(raw: string | null): LogoutScope {
  if (raw === null || raw === "" || raw === "global") return "global";
  if (raw === "local" || raw === "others") return raw;
  throw badRequest("validation_failed", `Unsupported logout scope "${raw}"`);
}
