/**
 * IAuthService over Supabase Auth with supabase-js (the real GoTrue on the platform, the local
 * stand-in in development and tests), plus the admin/directory surface for moving users.
 *
 * - signUp without an id is exactly the original call (auth.signUp). With an id (dual write) the
 *   user is created through the admin API under that id, so both systems hold the same id. Then,
 *   as GoTrue's own /signup would (supabase/auth internal/api/signup.go): with "Confirm email" on
 *   (GET /settings `mailer_autoconfirm` false, the hosted default) the user is created
 *   unconfirmed and GoTrue is asked to send its confirmation mail (POST /resend type=signup — an
 *   admin-created user gets none otherwise, admin.go); the answer has no session and nothing is
 *   confirmed by admin. With autoconfirm the user is created confirmed, as GoTrue's signup
 *   confirms it, and signed in when a session is needed.
 * - Reads of auth.users with the password hash go through SQL when the database is shared (local
 *   and on Supabase, via SUPABASE_DB_URL): GoTrue's API never returns hashes.
 * - Logins can be abandoned: every request's fetch listens to the caller's AbortSignal. Signups
 *   are never aborted mid-flight (an aborted write may still have landed); the dual-write service
 *   settles them when they finish.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { EmailConfirmationSetting } from "./email-confirmation-setting.ts";
import { forwardingClientIp } from "./forwarded-client-ip.ts";
import { markIfObfuscated } from "./obfuscated-signup.ts";
import {
  type AuthError as SupabaseAuthError,
  createClient,
  type Session,
  type SupabaseClient,
  type User,
} from "@supabase/supabase-js";
import type { SqlClient } from "../db/sql-client.ts";
import { err, ok } from "../result.ts";
import { type AccessTokenVerifierConfig, verifyAccessToken } from "./access-tokens.ts";
import {
  AuthError,
  authUnavailable,
  emailNotConfirmed,
  invalidCredentials,
  invalidToken,
  userAlreadyExists,
  userBanned,
  validationFailed,
} from "./errors.ts";
import { checkNewPassword, type PasswordPolicy } from "./password-policy.ts";
import { hashKind } from "./passwords.ts";
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

export interface SupabaseAuthSettings {
  /** SUPABASE_URL (the stand-in's URL locally). */
  readonly url: string;
  readonly anonKey: string;
  /** Needed for dual write (create under an id), reconciliation and compensation. */
  readonly serviceKey?: string;
  /** The shared database, to read auth.users (hashes) for lazy migration. */
  readonly sql?: SqlClient;
  readonly passwordPolicy: PasswordPolicy;
  readonly tokens: AccessTokenVerifierConfig;
  /** Upper bound on any single HTTP request to Auth (default 30 s). */
  readonly requestTimeoutMs?: number;
}

const abortScope = new AsyncLocalStorage<AbortSignal>();

/** A fetch that honours the caller's AbortSignal (from abortScope) and a hard upper bound. */
function boundedFetch(timeoutMs: number): typeof fetch {
  return (input, init) => {
    const signals = [AbortSignal.timeout(timeoutMs)];
    const scoped = abortScope.getStore();
    if (scoped) signals.push(scoped);
    if (init?.signal) signals.push(init.signal);
    return fetch(input, { ...init, signal: AbortSignal.any(signals) });
  };
}

/** Runs `fn` so that every Auth request it makes is aborted with `signal`. */
export function withAbortSignal<T>(
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  return signal ? abortScope.run(signal, fn) : fn();
}

/** GoTrue's error (as supabase-js surfaces it) in our contract. */
export function mapSupabaseError(error: SupabaseAuthError | Error): AuthError {
  const status = "status" in error ? (error.status as number | undefined) : undefined;
  const code = "code" in error ? (error.code as string | undefined) : undefined;
  switch (code) {
    case "user_already_exists":
    case "email_exists":
      return userAlreadyExists(error);
    case "weak_password": {
      const reasons = "reasons" in error && Array.isArray(error.reasons)
        ? error.reasons as string[]
        : ["length"];
      return new AuthError("weak_password", error.message, { reasons, cause: error });
    }
    case "invalid_credentials":
      return invalidCredentials(error);
    // Definitive refusals of an existing account, passed on with GoTrue's own codes (errors.ts).
    case "user_banned":
      return userBanned(error);
    case "email_not_confirmed":
      return emailNotConfirmed(error);
    case "over_request_rate_limit":
    case "over_email_send_rate_limit":
      return new AuthError("rate_limited", "Too many requests; try again later", { cause: error });
    case "validation_failed":
    case "email_address_invalid":
      return validationFailed([{ path: "email", message: error.message }]);
  }
  if (status === 429) {
    return new AuthError("rate_limited", "Too many requests; try again later", { cause: error });
  }
  if (status === 400 && error.name === "AuthApiError") {
    return validationFailed([{ path: "body", message: error.message }]);
  }
  return authUnavailable("Supabase Auth is unavailable", error);
}

function userView(user: User): AuthUserView {
  return {
    id: user.id,
    email: user.email ?? "",
    user_metadata: (user.user_metadata ?? {}) as JsonObject,
    created_at: new Date(user.created_at).toISOString(),
  };
}

function sessionView(session: Session | null): AuthResult["session"] {
  if (!session) return null;
  return {
    access_token: session.access_token,
    refresh_token: session.refresh_token,
    token_type: "bearer",
    expires_in: session.expires_in,
    expires_at: session.expires_at ?? Math.floor(Date.now() / 1000) + session.expires_in,
  };
}

export class SupabaseAuthService implements IAuthService, AuthUserDirectory {
  readonly system = "supabase" as const;
  readonly #client: SupabaseClient;
  readonly #admin: SupabaseClient | null;
  readonly #confirmation: EmailConfirmationSetting;

  constructor(private readonly settings: SupabaseAuthSettings) {
    const options = {
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      // The end user's IP rides along (forwarded-client-ip.ts): GoTrue limits /token per IP.
      global: { fetch: forwardingClientIp(boundedFetch(settings.requestTimeoutMs ?? 30_000)) },
    };
    this.#client = createClient(settings.url, settings.anonKey, options);
    this.#confirmation = new EmailConfirmationSetting({
      url: settings.url,
      anonKey: settings.anonKey,
      fetch: boundedFetch(settings.requestTimeoutMs ?? 30_000),
    });
    this.#admin = settings.serviceKey
      ? createClient(settings.url, settings.serviceKey, options)
      : null;
  }

  /**
   * Does the project require a confirmed email before a first session? GoTrue's own answer
   * (email-confirmation-setting.ts: GET /settings, cached a minute, unreadable → required).
   */
  requiresEmailConfirmation(): Promise<boolean> {
    return this.#confirmation.required();
  }

  #requireAdmin(): SupabaseClient {
    if (!this.#admin) {
      throw authUnavailable("Supabase admin operations need SUPABASE_SERVICE_ROLE_KEY");
    }
    return this.#admin;
  }

  async signUp(
    input: SignUpInput,
    options: AuthCallOptions = {},
  ): Promise<AuthOutcome<AuthResult>> {
    const weak = checkNewPassword(input.password, this.settings.passwordPolicy);
    if (weak) return err(weak);
    if (options.claimCommit && !options.claimCommit()) {
      return err(authUnavailable("Signup abandoned before writing"));
    }
    try {
      if (input.id) return await this.#signUpWithId(input as SignUpInput & { id: string }, options);
      const { data, error } = await this.#client.auth.signUp({
        email: input.email,
        password: input.password,
        options: { data: input.metadata ?? {} },
      });
      if (error) return err(mapSupabaseError(error));
      if (!data.user) return err(authUnavailable("Supabase Auth returned no user"));
      const result = { user: userView(data.user), session: sessionView(data.session) };
      // "Confirm email" on and the address taken: a look-alike user (obfuscated-signup.ts).
      return ok(markIfObfuscated(result, data.user, data.session));
    } catch (error) {
      return err(mapSupabaseError(error as Error));
    }
  }

  async #signUpWithId(
    input: SignUpInput & { id: string },
    options: AuthCallOptions,
  ): Promise<AuthOutcome<AuthResult>> {
    const admin = this.#requireAdmin();
    const confirmationRequired = options.emailConfirmationRequired ??
      await this.requiresEmailConfirmation();
    const { data, error } = await admin.auth.admin.createUser({
      id: input.id,
      email: input.email,
      password: input.password,
      user_metadata: input.metadata ?? {},
      // Confirmed only where GoTrue's own signup would confirm it (autoconfirm); never by admin
      // on a project that asks its users to confirm.
      email_confirm: !confirmationRequired,
    });
    if (error) return err(mapSupabaseError(error));
    if (!data.user) return err(authUnavailable("Supabase Auth returned no user"));
    if (data.user.id !== input.id.toLowerCase()) {
      // Never hand out an identity that differs from the one requested.
      await admin.auth.admin.deleteUser(data.user.id);
      return err(authUnavailable("Supabase Auth did not keep the requested user id"));
    }
    if (confirmationRequired) {
      // GoTrue's signup sends the mail inside its transaction and fails without it (mail.go
      // sendConfirmation: 429 over_email_send_rate_limit, 500): so does this one.
      const sent = await this.#client.auth.resend({ type: "signup", email: input.email });
      // 429 over_email_send_rate_limit for a user created a moment ago (no mail sent yet at
      // creation) means a concurrent signup of the same address made GoTrue mail this user's
      // confirmation in between: the mail went out, the user stands.
      if (sent.error && sent.error.code !== "over_email_send_rate_limit") {
        await admin.auth.admin.deleteUser(data.user.id);
        return err(mapSupabaseError(sent.error));
      }
      return ok({ user: userView(data.user), session: null });
    }
    if (options.sessionNeeded === false) return ok({ user: userView(data.user), session: null });
    const signedIn = await this.#client.auth.signInWithPassword({
      email: input.email,
      password: input.password,
    });
    // The user exists now whatever happens to the sign-in; report it without a session.
    if (signedIn.error || !signedIn.data.session) {
      return ok({ user: userView(data.user), session: null });
    }
    return ok({ user: userView(data.user), session: sessionView(signedIn.data.session) });
  }

  async signIn(
    input: SignInInput,
    options: AuthCallOptions = {},
  ): Promise<AuthOutcome<AuthResult>> {
    try {
      const { data, error } = await withAbortSignal(
        options.signal,
        () =>
          this.#client.auth.signInWithPassword({ email: input.email, password: input.password }),
      );
      if (error) return err(mapSupabaseError(error));
      if (!data.user || !data.session) {
        return err(authUnavailable("Supabase Auth returned no session"));
      }
      return ok({ user: userView(data.user), session: sessionView(data.session) });
    } catch (error) {
      return err(mapSupabaseError(error as Error));
    }
  }

  async getUserFromToken(accessToken: string): Promise<AuthOutcome<AuthUserView>> {
    try {
      const verified = await verifyAccessToken(accessToken, this.settings.tokens);
      if (verified.system === "supabase") {
        const { data, error } = await this.#client.auth.getUser(accessToken);
        if (error) {
          const mapped = mapSupabaseError(error);
          return err(mapped.code === "auth_unavailable" ? mapped : invalidToken());
        }
        return ok(userView(data.user));
      }
      // A Better Auth token: same id here when the user exists in both systems.
      const user = await this.findUserById(verified.userId);
      if (!user) return err(invalidToken("User not found"));
      return ok(storedUserView(user));
    } catch (error) {
      return err(error instanceof AuthError ? error : mapSupabaseError(error as Error));
    }
  }

  // ---- AuthUserDirectory -------------------------------------------------------------------

  async findUserById(id: string): Promise<StoredUser | null> {
    if (!isUuid(id)) return null;
    if (this.settings.sql) return await this.#selectUser("id = $1::uuid", id);
    const { data, error } = await this.#requireAdmin().auth.admin.getUserById(id);
    if (error) {
      if (error.status === 404) return null;
      throw mapSupabaseError(error);
    }
    return data.user ? storedUserFromApi(data.user) : null;
  }

  async findUserByEmail(email: string): Promise<StoredUser | null> {
    if (!this.settings.sql) {
      throw authUnavailable("Looking users up by email needs the shared database");
    }
    return await this.#selectUser("lower(email) = lower($1) AND is_sso_user = false", email);
  }

  async #selectUser(where: string, value: string): Promise<StoredUser | null> {
    const { rows } = await this.settings.sql!.query<Record<string, unknown>>(
      `SELECT id::text AS id, email, raw_user_meta_data, raw_app_meta_data, created_at,
              email_confirmed_at, encrypted_password
         FROM auth.users
        WHERE ${where} AND deleted_at IS NULL
        LIMIT 1`,
      [value],
    );
    const row = rows[0];
    if (!row) return null;
    const hash = typeof row.encrypted_password === "string" ? row.encrypted_password : "";
    return {
      id: String(row.id),
      email: String(row.email ?? "").toLowerCase(),
      userMetadata: (row.raw_user_meta_data as JsonObject | null) ?? {},
      appMetadata: (row.raw_app_meta_data as JsonObject | null) ?? {},
      createdAt: row.created_at as Date,
      emailConfirmed: row.email_confirmed_at !== null,
      passwordHash: hashKind(hash) === "bcrypt" ? hash : null,
    };
  }

  async importUser(user: StoredUser): Promise<"created" | "exists" | "conflict"> {
    if (await this.findUserById(user.id)) return "exists";
    const passwordHash = user.passwordHash && hashKind(user.passwordHash) === "bcrypt"
      ? user.passwordHash
      : undefined;
    const { error } = await this.#requireAdmin().auth.admin.createUser({
      id: user.id,
      email: user.email,
      user_metadata: user.userMetadata,
      app_metadata: user.appMetadata,
      email_confirm: user.emailConfirmed,
      // GoTrue accepts bcrypt only; without it the user gets a random password (reset needed on
      // the Supabase side only, which is never the primary after Better Auth took over).
      ...(passwordHash ? { password_hash: passwordHash } : {}),
    });
    if (!error) return "created";
    const mapped = mapSupabaseError(error);
    if (mapped.code === "user_already_exists") {
      return (await this.findUserById(user.id)) ? "exists" : "conflict";
    }
    throw mapped;
  }

  async deleteUser(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const { error } = await this.#requireAdmin().auth.admin.deleteUser(id);
    if (!error) return true;
    if (error.status === 404) return false;
    throw mapSupabaseError(error);
  }
}

function storedUserFromApi(user: User): StoredUser {
  return {
    id: user.id,
    email: (user.email ?? "").toLowerCase(),
    userMetadata: (user.user_metadata ?? {}) as JsonObject,
    appMetadata: (user.app_metadata ?? {}) as JsonObject,
    createdAt: new Date(user.created_at),
    emailConfirmed: Boolean(user.email_confirmed_at),
    passwordHash: null,
  };
}

export function storedUserView(user: StoredUser): AuthUserView {
  return {
    id: user.id,
    email: user.email,
    user_metadata: user.userMetadata,
    created_at: user.createdAt.toISOString(),
  };
}
