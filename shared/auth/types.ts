/**
 * The auth contract every adapter implements (Supabase Auth, Better Auth, and the dual-write
 * service on top), and the one response shape clients see whichever path served them.
 */
import type { Result } from "../result.ts";
import type { AuthError } from "./errors.ts";

export type AuthSystem = "supabase" | "better_auth";
export type JsonObject = Record<string, unknown>;

/** `user` of the response contract: the same fields from either system. */
export interface AuthUserView {
  readonly id: string;
  readonly email: string;
  readonly user_metadata: JsonObject;
  /** ISO 8601. */
  readonly created_at: string;
}

/** `session` of the response contract (GoTrue's token response fields). */
export interface AuthSessionView {
  readonly access_token: string;
  readonly refresh_token: string;
  readonly token_type: "bearer";
  /** Seconds the access token stays valid. */
  readonly expires_in: number;
  /** Unix seconds. */
  readonly expires_at: number;
}

/** `200 { user, session }`; session is null when the backend requires email confirmation first. */
export interface AuthResult {
  readonly user: AuthUserView;
  readonly session: AuthSessionView | null;
}

export interface SignUpInput {
  /** Lower-cased and validated (see input.ts). */
  readonly email: string;
  readonly password: string;
  readonly metadata?: JsonObject;
  /**
   * The user id to create the user under. Dual write sets it so both systems hold the same id;
   * without it the backend generates one.
   */
  readonly id?: string;
}

export interface SignInInput {
  readonly email: string;
  readonly password: string;
}

/** Per-call context from the function layer. Everything is optional. */
export interface AuthCallOptions {
  /** Client address, for rate limiting (never stored in clear). */
  readonly ip?: string;
  readonly userAgent?: string;
  /** The migrator's canary decision for this request; when absent, the service decides. */
  readonly canary?: boolean;
  /**
   * The migrator's commit gate (HandlerContext.claimCommit): asked right before the first durable
   * write; false means "do not write" (the migrator gave up on this attempt, or a plan run).
   */
  readonly claimCommit?: () => boolean;
  /** Aborts a login attempt that is no longer wanted (timeout, client gone). */
  readonly signal?: AbortSignal;
  /**
   * False when the caller will not use the session (a dual write's secondary), so a backend may
   * skip creating one. Default true.
   */
  readonly sessionNeeded?: boolean;
  /**
   * The project requires a confirmed email before a first session ("Confirm email" on, as
   * GoTrue's /settings reports it): a signup creates the user unconfirmed and opens no session.
   */
  readonly emailConfirmationRequired?: boolean;
}

export type AuthOutcome<T> = Result<T, AuthError>;

export interface IAuthService {
  signUp(input: SignUpInput, options?: AuthCallOptions): Promise<AuthOutcome<AuthResult>>;
  signIn(input: SignInInput, options?: AuthCallOptions): Promise<AuthOutcome<AuthResult>>;
  /** Verifies the access token (from either system) and returns its user. */
  getUserFromToken(accessToken: string): Promise<AuthOutcome<AuthUserView>>;
}

/**
 * A user as stored by one system, with the password hash when the reader can see it. Used to
 * copy a user from one system to the other (lazy migration, reconciliation).
 */
export interface StoredUser {
  readonly id: string;
  readonly email: string;
  readonly userMetadata: JsonObject;
  readonly appMetadata: JsonObject;
  readonly createdAt: Date;
  readonly emailConfirmed: boolean;
  /** bcrypt (Supabase) or scrypt (Better Auth); null when none or not readable. */
  readonly passwordHash: string | null;
}

/** The admin surface one system offers for moving users between systems. */
export interface AuthUserDirectory {
  readonly system: AuthSystem;
  findUserById(id: string): Promise<StoredUser | null>;
  findUserByEmail(email: string): Promise<StoredUser | null>;
  /**
   * Creates the user with exactly this id, metadata and password hash. Resolves "exists" when a
   * user with this id already exists (idempotent), and "conflict" when the email belongs to a
   * different id.
   */
  importUser(user: StoredUser): Promise<"created" | "exists" | "conflict">;
  /** Deletes the user (compensating a half-written signup). True when a user was deleted. */
  deleteUser(id: string): Promise<boolean>;
}
