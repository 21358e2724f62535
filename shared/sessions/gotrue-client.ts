/**
 * The three GoTrue calls the session surface forwards for Supabase-issued tokens, over plain
 * fetch so GoTrue's own status, body and headers can be passed back untouched:
 * POST /token?grant_type=refresh_token, GET /user, POST /logout?scope=…
 * The client's address rides along (Sb-Forwarded-For / X-Forwarded-For, as
 * shared/auth/forwarded-client-ip.ts does for supabase-js): GoTrue rate-limits /token per IP.
 *
 * And the one thing GoTrue has no API for: ending every session of a user by id (a logout,
 * password change or ban decided on the Better Auth side). GoTrue's models.Logout deletes the
 * user's auth.sessions rows (their refresh tokens go with them: refresh_tokens.session_id is
 * ON DELETE CASCADE in GoTrue's schema) — done here with SQL on the shared database, as the
 * identity sync already writes auth.users (shared/sync/to-supabase.ts).
 */
import { isIpAddress, SB_FORWARDED_FOR, X_FORWARDED_FOR } from "../auth/forwarded-client-ip.ts";
import type { SqlClient } from "../db/sql-client.ts";
import { API_VERSION_HEADER } from "./gotrue-errors.ts";

export interface GoTrueAnswer {
  readonly status: number;
  readonly body: Record<string, unknown> | null;
  readonly headers: Headers;
}

export interface GoTrueCallContext {
  readonly clientIp?: string;
  /** The caller's X-Supabase-Api-Version, so GoTrue answers in the format the client asked for. */
  readonly apiVersion?: string | null;
}

export class GoTrueClient {
  readonly #base: string;

  constructor(
    url: string,
    private readonly anonKey: string,
    private readonly fetchImpl: typeof fetch = fetch,
    private readonly timeoutMs = 10_000,
  ) {
    this.#base = `${url.replace(/\/+$/, "")}/auth/v1`;
  }

  async #call(
    method: string,
    path: string,
    context: GoTrueCallContext,
    options: { bearer?: string; body?: unknown } = {},
  ): Promise<GoTrueAnswer> {
    const headers = new Headers({
      apikey: this.anonKey,
      Authorization: `Bearer ${options.bearer ?? this.anonKey}`,
    });
    if (options.body !== undefined) headers.set("Content-Type", "application/json");
    if (context.apiVersion) headers.set(API_VERSION_HEADER, context.apiVersion);
    if (context.clientIp && isIpAddress(context.clientIp)) {
      headers.set(SB_FORWARDED_FOR, context.clientIp);
      headers.set(X_FORWARDED_FOR, context.clientIp);
    }
    const response = await this.fetchImpl(`${this.#base}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await response.text();
    let body: Record<string, unknown> | null = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    return { status: response.status, body, headers: response.headers };
  }

  refresh(refreshToken: string, context: GoTrueCallContext): Promise<GoTrueAnswer> {
    return this.#call("POST", "/token?grant_type=refresh_token", context, {
      body: { refresh_token: refreshToken },
    });
  }

  user(accessToken: string, context: GoTrueCallContext): Promise<GoTrueAnswer> {
    return this.#call("GET", "/user", context, { bearer: accessToken });
  }

  logout(
    accessToken: string,
    scope: string,
    context: GoTrueCallContext,
  ): Promise<GoTrueAnswer> {
    return this.#call("POST", `/logout?scope=${encodeURIComponent(scope)}`, context, {
      bearer: accessToken,
    });
  }
}

/**
 * GoTrue's models.Logout / LogoutAllExceptMe for a user id, on the shared database. Refresh
 * tokens are deleted explicitly too (a row without a session would otherwise survive).
 */
export async function endSupabaseSessions(
  db: SqlClient,
  userId: string,
  exceptSessionId: string | null = null,
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(
      `DELETE FROM auth.refresh_tokens
        WHERE user_id = $1 AND session_id IS DISTINCT FROM $2::uuid`,
      [userId, exceptSessionId],
    );
    await tx.query(
      `DELETE FROM auth.sessions WHERE user_id = $1::uuid AND id IS DISTINCT FROM $2::uuid`,
      [userId, exceptSessionId],
    );
  });
}
