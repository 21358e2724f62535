/**
 * IAuthService over Better Auth's server API (auth.api.signUpEmail / signInEmail), plus the
 * directory surface that moves users in (same id, same metadata, same password hash).
 *
 * Sessions become bearer tokens as described in access-tokens.ts: the Better Auth session token
 * is the refresh token, and an HS256 JWT with Supabase's claims is the access token.
 *
 * Until the migration is declared complete (shared/sync/completion.ts) passwords set here are
 * hashed with bcrypt and a verified bcrypt hash is NOT re-hashed to scrypt: the Better Auth →
 * Supabase change stream copies the hash to Supabase Auth, which imports bcrypt but not scrypt,
 * so a rollback keeps every password. After completion both switch to scrypt.
 */
import { BackgroundTasks } from "../migrator/background.ts";
import { isAPIError } from "better-auth/api";
import type { SqlClient } from "../db/sql-client.ts";
import { err, ok, type Result } from "../result.ts";
import {
  type AccessTokenSigning,
  type AccessTokenVerifierConfig,
  issueSessionTokens,
  verifyAccessToken,
} from "./access-tokens.ts";
import { type BetterAuthInstance, inCallScope } from "./better-auth.ts";
import {
  AuthError,
  authUnavailable,
  invalidCredentials,
  invalidToken,
  userAlreadyExists,
  userBanned,
  validationFailed,
} from "./errors.ts";
import { type AuthEventSink, emit, noopAuthEventSink } from "./events.ts";
import { checkNewPassword, type PasswordPolicy } from "./password-policy.ts";
import { hashKind, hashPassword, type NewPasswordFormat } from "./passwords.ts";
import { type CompletionSource, SyncCompletion } from "../sync/completion.ts";
import {
  type RefreshRefusal,
  RefreshTokenStore,
  type SecondFactor,
} from "../sessions/refresh-tokens.ts";
import type {
  AuthCallOptions,
  AuthOutcome,
  AuthResult,
  AuthUserDirectory,
  AuthUserView,
  IAuthService,
  JsonObject,
  SignInInput,
  SignUpInput,
  StoredUser,
} from "./types.ts";
import { isUuid } from "../uuid.ts";

export interface BetterAuthServiceSettings {
  readonly auth: BetterAuthInstance;
  /** The database Better Auth's tables live in (the one the instance was created over). */
  readonly db: SqlClient;
  readonly signing: AccessTokenSigning;
  readonly tokens: AccessTokenVerifierConfig;
  readonly passwordPolicy: PasswordPolicy;
  readonly events?: AuthEventSink;
  /** Reject access tokens whose Better Auth session was deleted (a DB read per check). */
  readonly checkSessionOnGetUser?: boolean;
  /**
   * Work that outlives the response, kept alive with EdgeRuntime.waitUntil on the platform and
   * drainable: the bcrypt → scrypt re-hash after a login, which would otherwise add a second slow
   * hash (scrypt costs about 1.5 bcrypt verifications) to the login the user is waiting for.
   * Default: the service's own.
   */
  readonly background?: BackgroundTasks;
  /** Whether the migration is declared complete. Default: identity_sync_state in `db`. */
  readonly completion?: CompletionSource;
  /**
   * The rotating refresh tokens of Better Auth sessions (shared/sessions/refresh-tokens.ts).
   * Default: one over `db`, keyed from the Better Auth instance's secret.
   */
  readonly refreshTokens?: RefreshTokenStore;
}

/** A refreshed Better Auth session: the user as stored and the new tokens. */
export interface RefreshedSession {
  readonly user: StoredUser;
  readonly session: NonNullable<AuthResult["session"]>;
}

/** Better Auth's required `name`, from the metadata Supabase apps usually keep it in. */
export function displayNameOf(metadata: JsonObject | undefined): string {
  const candidate = metadata?.full_name ?? metadata?.name ?? "";
  return typeof candidate === "string" ? candidate.trim().slice(0, 255) : "";
}

interface UserRow {
  id: string;
  email: string;
  userMetadata: JsonObject | null;
  appMetadata: JsonObject | null;
  createdAt: Date;
  emailVerified: boolean;
  password: string | null;
}

function storedUser(row: UserRow): StoredUser {
  return {
    id: row.id,
    email: row.email,
    userMetadata: row.userMetadata ?? {},
    appMetadata: row.appMetadata ?? {},
    createdAt: row.createdAt,
    emailConfirmed: row.emailVerified,
    passwordHash: row.password,
  };
}

function userView(user: StoredUser): AuthUserView {
  return {
    id: user.id,
    email: user.email,
    user_metadata: user.userMetadata,
    created_at: user.createdAt.toISOString(),
  };
}

export class BetterAuthService implements IAuthService, AuthUserDirectory {
  readonly system = "better_auth" as const;
  readonly #events: AuthEventSink;
  readonly #tasks: BackgroundTasks;
  readonly #completion: CompletionSource;
  #refreshTokens: Promise<RefreshTokenStore> | undefined;

  constructor(private readonly settings: BetterAuthServiceSettings) {
    this.#events = settings.events ?? noopAuthEventSink;
    this.#tasks = settings.background ?? new BackgroundTasks();
    this.#completion = settings.completion ?? new SyncCompletion(settings.db);
  }

  /** The refresh-token store (created on first use from the instance's secret). */
  refreshTokens(): Promise<RefreshTokenStore> {
    this.#refreshTokens ??= this.settings.refreshTokens
      ? Promise.resolve(this.settings.refreshTokens)
      : this.settings.auth.$context.then((context) =>
        new RefreshTokenStore({
          db: this.settings.db,
          secret: context.secret,
          sessionTtlSeconds: context.sessionConfig.expiresIn,
        })
      );
    return this.#refreshTokens;
  }

  /** bcrypt until the migration is declared complete (an unreadable state counts as not). */
  async #newPasswordFormat(): Promise<NewPasswordFormat> {
    return await this.#completion.isComplete() ? "scrypt" : "bcrypt";
  }

  async signUp(
    input: SignUpInput,
    options: AuthCallOptions = {},
  ): Promise<AuthOutcome<AuthResult>> {
    const weak = checkNewPassword(input.password, this.settings.passwordPolicy);
    if (weak) return err(weak);
    if (input.id !== undefined && !isUuid(input.id)) {
      return err(validationFailed([{ path: "id", message: "User id must be a UUID" }]));
    }
    if (options.claimCommit && !options.claimCommit()) {
      return err(authUnavailable("Signup abandoned before writing"));
    }
    try {
      const { value, scope } = await inCallScope(
        { userId: input.id?.toLowerCase(), newPasswordFormat: await this.#newPasswordFormat() },
        () =>
          this.settings.auth.api.signUpEmail({
            body: {
              email: input.email,
              password: input.password,
              name: displayNameOf(input.metadata),
              userMetadata: input.metadata ?? {},
            },
          }),
      );
      const user = value.user as unknown as UserRow;
      if (input.id && user.id !== input.id.toLowerCase()) {
        // Never hand out an identity that differs from the one requested (see better-auth.ts).
        await this.deleteUser(user.id);
        return err(authUnavailable("Better Auth did not keep the requested user id"));
      }
      const stored = storedUser({ ...user, password: null });
      if (options.emailConfirmationRequired) {
        // "Confirm email" on: the user stays unverified and gets no session until the address
        // is confirmed (GoTrue's signup answers without one). autoSignIn is a global setting, so
        // the session it just opened is ended here, before anyone has seen its token.
        if (scope.session) await this.revokeSession(scope.session.token);
        return ok({ user: userView(stored), session: null });
      }
      // Better Auth creates the session row anyway (autoSignIn); minting its token is cheap, so
      // it is returned even when not asked for (a dual write whose primary fails needs it).
      const session = scope.session ? await this.#tokensFor(stored, scope.session) : null;
      return ok({ user: userView(stored), session });
    } catch (error) {
      return err(await this.#signUpError(error, input));
    }
  }

  async #signUpError(error: unknown, input: SignUpInput): Promise<AuthError> {
    if (!isAPIError(error)) return authUnavailable("Better Auth is unavailable", error);
    const code = (error.body as { code?: string } | undefined)?.code;
    switch (code) {
      case "USER_ALREADY_EXISTS":
      case "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL":
        return userAlreadyExists(error);
      case "PASSWORD_TOO_SHORT":
        return new AuthError("weak_password", "Password is too short", {
          reasons: ["length"],
          cause: error,
        });
      case "PASSWORD_TOO_LONG":
        return validationFailed([{ path: "password", message: "Password is too long" }]);
      case "INVALID_EMAIL":
        return validationFailed([{ path: "email", message: "Email address is invalid" }]);
      case "FAILED_TO_CREATE_USER": {
        // A concurrent signup for the same email (or id) won the unique constraint.
        const byEmail = await this.findUserByEmail(input.email).catch(() => null);
        const byId = input.id ? await this.findUserById(input.id).catch(() => null) : null;
        if (byEmail || byId) return userAlreadyExists(error);
        return authUnavailable("Better Auth could not create the user", error);
      }
    }
    return authUnavailable("Better Auth is unavailable", error);
  }

  async signIn(
    input: SignInInput,
    _options: AuthCallOptions = {},
  ): Promise<AuthOutcome<AuthResult>> {
    try {
      const { value, scope } = await inCallScope({}, () =>
        this.settings.auth.api.signInEmail({
          body: { email: input.email, password: input.password, rememberMe: true },
        }));
      const user = storedUser({ ...(value.user as unknown as UserRow), password: null });
      if (scope.verifiedLegacyHash && await this.#newPasswordFormat() === "scrypt") {
        this.#tasks.track(this.#upgradeHash(user.id, input.password, scope.verifiedLegacyHash));
      }
      if (!scope.session) return err(authUnavailable("Better Auth created no session"));
      return ok({ user: userView(user), session: await this.#tokensFor(user, scope.session) });
    } catch (error) {
      if (isAPIError(error) && error.statusCode === 401) return err(invalidCredentials(error));
      // The admin plugin refuses a banned user's session (plugins/admin/admin.mjs): a refusal,
      // never an outage (an outage would let a fallback answer instead).
      if (
        isAPIError(error) && (error.body as { code?: string } | undefined)?.code === "BANNED_USER"
      ) {
        return err(userBanned(error));
      }
      // Any other 403 (an unverified email when verification is required) is also an answer about
      // the user, not an outage: definitive, and the same body as a wrong password.
      if (isAPIError(error) && error.statusCode === 403) return err(invalidCredentials(error));
      if (
        isAPIError(error) && (error.body as { code?: string } | undefined)?.code === "INVALID_EMAIL"
      ) {
        return err(invalidCredentials(error));
      }
      return err(authUnavailable("Better Auth is unavailable", error));
    }
  }

  /**
   * Ends one session by a refresh token of it (any of its family); a login refused after the
   * fact. A Better Auth session token (what refresh tokens were before rotation existed) too.
   */
  async revokeSession(refreshToken: string): Promise<void> {
    if (!refreshToken) return;
    const owner = await (await this.refreshTokens()).sessionOf(refreshToken);
    if (owner) {
      await this.settings.db.query(`DELETE FROM "session" WHERE id = $1::uuid`, [owner.sessionId]);
      return;
    }
    await this.settings.db.query(`DELETE FROM "session" WHERE token = $1`, [refreshToken]);
  }

  /** Resolves when every background re-hash has finished (tests, graceful shutdown). */
  async drain(): Promise<void> {
    await this.#tasks.drain();
  }

  /**
   * Re-hashes a verified bcrypt password to native scrypt, after the response (the login does
   * not wait for it); only once the migration is declared complete. Compare-and-set on the old hash, so a
   * password changed meanwhile is never overwritten. A failure only delays the upgrade to the
   * next login; it never fails this one.
   */
  async #upgradeHash(userId: string, password: string, oldHash: string): Promise<void> {
    const started = performance.now();
    let success = false;
    try {
      success = await this.replacePasswordHash(
        userId,
        await hashPassword(password, "scrypt"),
        oldHash,
      );
    } catch {
      success = false;
    }
    emit(this.#events, {
      type: "rehash",
      system: "better_auth",
      mode: "better_auth_only",
      canary: false,
      durationMs: performance.now() - started,
      success,
      userId,
    });
  }

  /**
   * A new session's tokens: the first refresh token of its family (stored hashed; the Better Auth
   * session token itself never leaves the server) and the access token.
   */
  async #tokensFor(
    user: StoredUser,
    session: { id: string; token: string },
  ): Promise<NonNullable<AuthResult["session"]>> {
    const authenticatedAt = new Date();
    const refreshToken = await (await this.refreshTokens()).issue(session.id, user.id, {
      authenticatedAt,
    });
    return await this.#mint(user, session.id, refreshToken, authenticatedAt, null);
  }

  #mint(
    user: StoredUser,
    sessionId: string,
    refreshToken: string,
    authenticatedAt: Date,
    secondFactor: SecondFactor | null,
  ): Promise<NonNullable<AuthResult["session"]>> {
    return issueSessionTokens(this.settings.signing, {
      userId: user.id,
      email: user.email,
      userMetadata: user.userMetadata,
      appMetadata: user.appMetadata,
      sessionId,
      // TokenSubject.sessionToken is what the response returns as the refresh token.
      sessionToken: refreshToken,
      authenticatedAt,
      ...(secondFactor ? { secondFactor } : {}),
    });
  }

  /**
   * Opens a Better Auth session for a user already verified elsewhere (a Supabase refresh token
   * exchanged at GoTrue: shared/sessions/session-service.ts). No password is involved.
   */
  async openSession(userId: string): Promise<AuthOutcome<RefreshedSession>> {
    try {
      const user = await this.findUserById(userId);
      if (!user) return err(invalidToken("User not found"));
      const context = await this.settings.auth.$context;
      const created = await context.internalAdapter.createSession(user.id);
      if (!created) return err(authUnavailable("Better Auth created no session"));
      const session = await this.#tokensFor(user, {
        id: String(created.id),
        token: created.token,
      });
      return ok({ user, session });
    } catch (error) {
      return err(authUnavailable("Better Auth is unavailable", error));
    }
  }

  async getUserFromToken(accessToken: string): Promise<AuthOutcome<AuthUserView>> {
    try {
      const verified = await verifyAccessToken(accessToken, this.settings.tokens);
      if (
        verified.system === "better_auth" && this.settings.checkSessionOnGetUser !== false &&
        !(await this.#sessionAlive(verified.sessionId))
      ) {
        return err(invalidToken("Session has ended"));
      }
      const user = await this.findUserById(verified.userId);
      if (!user) return err(invalidToken("User not found"));
      return ok(userView(user));
    } catch (error) {
      return err(
        error instanceof AuthError ? error : authUnavailable("Better Auth is unavailable", error),
      );
    }
  }

  async #sessionAlive(sessionId: string | null): Promise<boolean> {
    if (!sessionId || !isUuid(sessionId)) return false;
    const { rows } = await this.settings.db.query(
      `SELECT 1 FROM "session" WHERE id = $1::uuid AND "expiresAt" > now()`,
      [sessionId],
    );
    return rows.length > 0;
  }

  /**
   * The refresh_token grant on a Better Auth session: rotation with reuse detection
   * (shared/sessions/refresh-tokens.ts), then a fresh access token for the same session.
   */
  async refreshSession(
    refreshToken: string,
  ): Promise<Result<RefreshedSession, RefreshRefusal | AuthError>> {
    try {
      const rotated = await (await this.refreshTokens()).rotate(refreshToken);
      if (!rotated.ok) return err(rotated.refusal);
      const user = await this.findUserById(rotated.userId);
      if (!user) return err("refresh_token_not_found");
      const session = await this.#mint(
        user,
        rotated.sessionId,
        rotated.refreshToken,
        rotated.authenticatedAt,
        rotated.secondFactor,
      );
      return ok({ user, session });
    } catch (error) {
      return err(authUnavailable("Better Auth is unavailable", error));
    }
  }

  /**
   * The user of a live Better Auth session whose session token was handed out as the refresh
   * token (before rotating refresh tokens existed), or null.
   */
  async legacySessionOwner(sessionToken: string): Promise<{ userId: string } | null> {
    if (!sessionToken || sessionToken.length > 256) return null;
    const { rows } = await this.settings.db.query<{ userId: string }>(
      `SELECT "userId"::text AS "userId" FROM "session" WHERE token = $1 AND "expiresAt" > now()`,
      [sessionToken],
    );
    return rows[0] ?? null;
  }

  /**
   * Exchanges such a session token, once, for the session's first rotating refresh token: the
   * session's own token is replaced in the same transaction, so the old one is dead afterwards
   * (presented again it is simply not found).
   */
  async adoptLegacySessionToken(
    sessionToken: string,
  ): Promise<Result<RefreshedSession, RefreshRefusal | AuthError>> {
    try {
      const store = await this.refreshTokens();
      const adopted = await this.settings.db.transaction(async (tx) => {
        const { rows } = await tx.query<{ id: string; userId: string }>(
          `SELECT id::text AS id, "userId"::text AS "userId" FROM "session"
            WHERE token = $1 AND "expiresAt" > now() FOR UPDATE`,
          [sessionToken],
        );
        const row = rows[0];
        if (!row) return null;
        await tx.query(`UPDATE "session" SET token = $2, "updatedAt" = now() WHERE id = $1::uuid`, [
          row.id,
          crypto.randomUUID() + crypto.randomUUID(),
        ]);
        const refreshToken = await store.issue(row.id, row.userId, { db: tx });
        return { sessionId: row.id, userId: row.userId, refreshToken };
      });
      if (!adopted) return err("refresh_token_not_found");
      const user = await this.findUserById(adopted.userId);
      if (!user) return err("refresh_token_not_found");
      const session = await this.#mint(
        user,
        adopted.sessionId,
        adopted.refreshToken,
        new Date(),
        null,
      );
      return ok({ user, session });
    } catch (error) {
      return err(authUnavailable("Better Auth is unavailable", error));
    }
  }

  // ---- AuthUserDirectory -------------------------------------------------------------------

  async findUserById(id: string): Promise<StoredUser | null> {
    if (!isUuid(id)) return null;
    return await this.#selectUser(`u.id = $1::uuid`, id);
  }

  async findUserByEmail(email: string): Promise<StoredUser | null> {
    return await this.#selectUser(`u.email = lower($1)`, email);
  }

  async #selectUser(where: string, value: string): Promise<StoredUser | null> {
    const { rows } = await this.settings.db.query<UserRow>(
      `SELECT u.id::text AS id, u.email, u."userMetadata", u."appMetadata", u."createdAt",
              u."emailVerified", a.password
         FROM "user" u
         LEFT JOIN account a ON a."userId" = u.id AND a."providerId" = 'credential'
        WHERE ${where}
        LIMIT 1`,
      [value],
    );
    return rows[0] ? storedUser(rows[0]) : null;
  }

  /**
   * Creates the user exactly as given (id, email, metadata, created_at, password hash) with its
   * credential account, in one transaction. Idempotent: an existing id answers "exists" (and gets
   * its missing credential account); the email under another id answers "conflict".
   */
  async importUser(user: StoredUser): Promise<"created" | "exists" | "conflict"> {
    if (!isUuid(user.id)) throw new Error("importUser needs a UUID id");
    const hash = user.passwordHash && hashKind(user.passwordHash) ? user.passwordHash : null;
    return await this.settings.db.transaction(async (tx) => {
      const inserted = await tx.query(
        `INSERT INTO "user" (id, name, email, "emailVerified", "userMetadata", "appMetadata",
                             "createdAt", "updatedAt")
         VALUES ($1::uuid, $2, lower($3), $4, $5::text::jsonb, $6::text::jsonb, $7, now())
         ON CONFLICT DO NOTHING
         RETURNING id`,
        [
          user.id,
          displayNameOf(user.userMetadata),
          user.email,
          user.emailConfirmed,
          JSON.stringify(user.userMetadata),
          JSON.stringify(user.appMetadata),
          user.createdAt,
        ],
      );
      // JSON goes in as text (::text::jsonb): postgres.js would JSON-encode a string a second
      // time for a jsonb parameter, PGlite would not.
      if (inserted.rows.length === 0) {
        const existing = await tx.query(`SELECT 1 FROM "user" WHERE id = $1::uuid`, [user.id]);
        if (existing.rows.length === 0) return "conflict";
      }
      await tx.query(
        `INSERT INTO account (id, "accountId", "providerId", "userId", password, "createdAt",
                              "updatedAt")
         VALUES (gen_random_uuid(), $1::text, 'credential', $1::uuid, $2, now(), now())
         ON CONFLICT DO NOTHING`,
        [user.id, hash],
      );
      return inserted.rows.length > 0 ? "created" : "exists";
    });
  }

  async deleteUser(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const { rowCount } = await this.settings.db.query(`DELETE FROM "user" WHERE id = $1::uuid`, [
      id,
    ]);
    return rowCount > 0;
  }

  /**
   * Sets the credential password hash; with `expectedOld`, only if it is still that hash.
   * True when a row changed.
   */
  async replacePasswordHash(
    userId: string,
    newHash: string,
    expectedOld?: string,
  ): Promise<boolean> {
    const { rowCount } = await this.settings.db.query(
      `UPDATE account SET password = $2, "updatedAt" = now()
        WHERE "userId" = $1::uuid AND "providerId" = 'credential'
          AND ($3::text IS NULL OR password = $3::text)`,
      [userId, newHash, expectedOld ?? null],
    );
    return rowCount > 0;
  }
}
