/**
 * The auth service the signup and login functions use: the function's migration stage (deps.stages,
 * shared/cutover/stages.ts; without it MIGRATION_MODE) decides where users are written and read,
 * the stage (or USE_BETTER_AUTH) and a canary selection decide which system is primary.
 *
 * Signup
 * - supabase_only / better_auth_only: one system, as before.
 * - dual_write: one id is chosen up front and both systems are written concurrently under it,
 *   each bounded by MIGRATION_FALLBACK_TIMEOUT. The primary's result is returned; if only the
 *   secondary succeeded, the secondary's. A definitive refusal from either system (the user
 *   already exists, weak password) fails the signup and UNDOES the other system's write, so no
 *   half-written user is left. A success on one side only is recorded as a `missing_user`
 *   divergence (reconciliation creates the missing side); when every system failed and one timed
 *   out, an `aborted_signup` divergence makes sure a late-landing write is removed.
 * - dual_write with "Confirm email" on (GoTrue's /settings says mailer_autoconfirm false, the
 *   hosted default) answers as GoTrue's /signup does (supabase/auth internal/api/signup.go):
 *   a new address is written to both systems UNCONFIRMED, GoTrue mails the confirmation, and the
 *   answer has `session: null` (Better Auth's copy gets no session either and is refused at login
 *   until the confirmation reaches it through the sync outbox: email_confirmed_at →
 *   emailVerified). An address already registered is not written at all: if Supabase holds it,
 *   GoTrue's own signup answers (a confirmed one: 200 with sanitizeUser's look-alike, random id,
 *   no session; an unconfirmed one: its user, the mail re-sent), else the look-alike is made here
 *   (obfuscated-signup.ts) — 200 either way, the shape of a new signup, nothing recorded. Nothing
 *   is ever confirmed by admin. With autoconfirm, signup works as described above.
 * - better_auth_only writes Better Auth alone, as Better Auth is configured (no confirmation).
 * Login
 * - Follows the system-of-record rule (shared/identity/system-of-record.ts): the user's system of
 *   record answers, bounded by the timeout; its refusal (wrong password, unknown, banned,
 *   unconfirmed) is final; the other system answers only when the system of record is
 *   unavailable and the user is in sync toward it. With "Confirm email" on, a Better Auth copy
 *   that a failed Supabase write left alone is refused (email_not_confirmed) while unverified.
 * - Lazy migration: a user who authenticated through Supabase but is missing in Better Auth is
 *   created there with the same id, metadata and bcrypt hash (rehashed to scrypt on its first
 *   Better Auth login). In better_auth_only the user is verified against Supabase first (stored
 *   hash, or GoTrue) and gets a Better Auth session.
 * - Failed logins are padded to a constant floor (no timing enumeration), counted per email and
 *   IP in the database, and refused with 429 once over the limit.
 */
import { BackgroundTasks } from "../migrator/background.ts";
import { BREAKER_OPEN, type CircuitBreaker, throughBreaker } from "../migrator/circuit-breaker.ts";
import type { StageBehaviour, StagedFunction } from "../cutover/stages.ts";
import type { MigrationMode } from "../config/env.ts";
import { err, ok } from "../result.ts";
import { type AccessTokenVerifierConfig, verifyAccessToken } from "./access-tokens.ts";
import type { BetterAuthService } from "./better-auth-service.ts";
import { type CanaryConfig, isCanaryUser } from "./canary.ts";
import { compareUsers } from "./consistency.ts";
import { type Bounded, sleep, withDeadline } from "./deadline.ts";
import type { DivergenceRepository } from "./divergences.ts";
import {
  asAuthError,
  AuthError,
  authUnavailable,
  emailNotConfirmed,
  invalidCredentials,
  isDefinitive,
  userAlreadyExists,
  userBanned,
} from "./errors.ts";
import {
  abstractedPrimary,
  type IdentityDecision,
  SystemOfRecord,
} from "../identity/system-of-record.ts";
import { type AuthEvent, type AuthEventSink, emit, noopAuthEventSink } from "./events.ts";
import type { MigrationStatusRepository } from "./migration-status.ts";
import { checkLoginPassword, checkNewPassword, type PasswordPolicy } from "./password-policy.ts";
import { hashBcrypt, verifyDummy, verifyPassword } from "./passwords.ts";
import type { LoginRateLimiter } from "./rate-limiter.ts";
import type { SignupClaims } from "./signup-claims.ts";
import type { SupabaseAuthService } from "./supabase-auth-service.ts";
import { storedUserView } from "./supabase-auth-service.ts";
import type {
  AuthCallOptions,
  AuthOutcome,
  AuthResult,
  AuthSystem,
  AuthUserView,
  IAuthService,
  SignInInput,
  SignUpInput,
} from "./types.ts";
import { isObfuscatedSignup, lookAlikeSignUp } from "./obfuscated-signup.ts";
import { UserSync } from "./user-sync.ts";

export interface DualWriteSettings {
  readonly mode: MigrationMode;
  /** USE_BETTER_AUTH: Better Auth is the primary in dual_write. */
  readonly useBetterAuth: boolean;
  /** MIGRATION_VALIDATION: compare the two copies after a dual write. */
  readonly validation: boolean;
  /** MIGRATION_FALLBACK_TIMEOUT, in ms. */
  readonly fallbackTimeoutMs: number;
  readonly canary: CanaryConfig;
  readonly passwordPolicy: PasswordPolicy;
  /** Create users in Better Auth when they log in through Supabase (default true). */
  readonly lazyMigration?: boolean;
  /**
   * Every failed login lasts at least this long. Default: measured once, twice the slower of a
   * bcrypt and a scrypt verification, plus a quarter (covers two attempts in dual write).
   */
  readonly failureFloorMs?: number;
}

export interface DualWriteDeps {
  readonly supabase?: SupabaseAuthService;
  readonly betterAuth?: BetterAuthService;
  readonly status: MigrationStatusRepository;
  readonly divergences: DivergenceRepository;
  readonly rateLimiter: LoginRateLimiter;
  readonly claims: SignupClaims;
  readonly tokens: AccessTokenVerifierConfig;
  readonly events?: AuthEventSink;
  /**
   * Work that outlives the response (late writes, compensation): kept alive with
   * EdgeRuntime.waitUntil on the platform and drainable; default: the service's own.
   */
  readonly background?: BackgroundTasks;
  /**
   * The system-of-record rule (shared/identity/). Default: one built from the settings with no
   * database — the one configured system, or, with both, Supabase (nothing can be read, so no
   * user is known to be cut over or in sync; the other system never answers).
   */
  readonly identity?: SystemOfRecord;
  /**
   * The migration stage of the function being served (shared/cutover/stages.ts, through the
   * runtime flags cache): when it answers, it — not `settings.mode` — decides which systems are
   * written and read. Absent or undefined: `settings.mode` as configured.
   */
  readonly stages?: (fn: StagedFunction) => Promise<StageBehaviour | undefined>;
  /**
   * Per-backend circuit breaker (the runtime's MigrationRuntime.breaker): each backend call of a
   * dual write / login goes through it as `signup:<system>` / `login:<system>`. An open breaker
   * skips the call as if it had timed out without starting; a definitive refusal never counts.
   */
  readonly breaker?: CircuitBreaker;
}

/** The answer of a backend call the breaker did not let start. */
function breakerSkipped(system: AuthSystem, call: string): AuthError {
  return authUnavailable(`${system} ${call} skipped: its circuit breaker is open`);
}

/** A bounded backend call failed as an outage (a timeout, 5xx, network): what a breaker counts. */
const outage = (side: SideOutcome) =>
  side.kind === "timeout" || (!side.value.ok && !isDefinitive(side.value.error));

interface Route {
  readonly mode: MigrationMode;
  readonly primary: AuthSystem;
  readonly canary: boolean;
}

type SideOutcome = Bounded<AuthOutcome<AuthResult>>;

const OTHER: Record<AuthSystem, AuthSystem> = { supabase: "better_auth", better_auth: "supabase" };
const BOTH: readonly AuthSystem[] = ["supabase", "better_auth"];

let calibratedFloor: Promise<number> | undefined;

/** Twice the slower of the two verifications, plus a quarter: the cost of the worst real failure. */
function calibrateFailureFloor(): Promise<number> {
  calibratedFloor ??= (async () => {
    const timeOf = async (kind: "bcrypt" | "scrypt") => {
      const started = performance.now();
      await verifyDummy("calibration-password", kind);
      return performance.now() - started;
    };
    await verifyDummy("warm-up", "bcrypt"); // builds the dummy hashes
    const slowest = Math.max(await timeOf("bcrypt"), await timeOf("scrypt"));
    return Math.ceil(slowest * 2 * 1.25);
  })();
  return calibratedFloor;
}

export class DualWriteAuthService implements IAuthService {
  readonly #events: AuthEventSink;
  readonly #sync: UserSync | null;
  readonly #tasks: BackgroundTasks;
  readonly #identity: SystemOfRecord;

  constructor(private readonly settings: DualWriteSettings, private readonly deps: DualWriteDeps) {
    this.#events = deps.events ?? noopAuthEventSink;
    this.#identity = deps.identity ?? new SystemOfRecord({
      mode: settings.mode,
      useBetterAuth: settings.useBetterAuth,
      supabase: deps.supabase !== undefined,
      betterAuth: deps.betterAuth !== undefined,
    });
    this.#tasks = deps.background ?? new BackgroundTasks();
    if (settings.mode !== "better_auth_only" && !deps.supabase) {
      throw new Error(`MIGRATION_MODE ${settings.mode} needs the Supabase auth service`);
    }
    if (settings.mode !== "supabase_only" && !deps.betterAuth) {
      throw new Error(`MIGRATION_MODE ${settings.mode} needs the Better Auth service`);
    }
    this.#sync = deps.supabase && deps.betterAuth
      ? new UserSync({
        supabase: deps.supabase,
        betterAuth: deps.betterAuth,
        status: deps.status,
        divergences: deps.divergences,
        events: this.#events,
        mode: settings.mode,
        emailConfirmationRequired: () => deps.supabase!.requiresEmailConfirmation(),
      })
      : null;
  }

  /**
   * Resolves when all background settlement (late writes, compensation) and Better Auth's
   * background re-hashes have finished.
   */
  async drain(): Promise<void> {
    await this.#tasks.drain();
    await this.deps.betterAuth?.drain();
  }

  #service(system: AuthSystem): SupabaseAuthService | BetterAuthService {
    const service = system === "supabase" ? this.deps.supabase : this.deps.betterAuth;
    if (!service) throw new Error(`${system} is not configured`);
    return service;
  }

  async #route(
    email: string,
    canaryHint: boolean | undefined,
    fn: StagedFunction,
  ): Promise<Route> {
    const stage = await this.deps.stages?.(fn).catch(() => undefined);
    if (stage) return await this.#stageRoute(email, canaryHint, fn, stage);
    const { mode, useBetterAuth, canary: canaryConfig } = this.settings;
    // Canary users get Better Auth as primary in dual write (only when Better Auth is set up).
    const canary = mode !== "better_auth_only" && this.deps.betterAuth !== undefined &&
      (canaryHint ?? await isCanaryUser(canaryConfig, { email }));
    return {
      mode: canary ? "dual_write" : mode,
      primary: abstractedPrimary(mode, useBetterAuth, canary),
      canary,
    };
  }

  /**
   * The stage decides the mode (clamped to the systems configured here). A canary user is
   * Better Auth primary only in the dual-write stages; a signup's primary in
   * better_auth_primary is where that user's logins are routed (the system-of-record rule).
   */
  async #stageRoute(
    email: string,
    canaryHint: boolean | undefined,
    fn: StagedFunction,
    stage: StageBehaviour,
  ): Promise<Route> {
    let mode = stage.mode;
    if (!this.deps.betterAuth) mode = "supabase_only";
    else if (!this.deps.supabase) mode = "better_auth_only";
    const canary = mode === "dual_write" &&
      (canaryHint ?? await isCanaryUser(this.settings.canary, { email }));
    let primary: AuthSystem = mode === "better_auth_only" ? "better_auth" : "supabase";
    if (mode === "dual_write") {
      primary = canary
        ? "better_auth"
        : stage.betterAuthPrimary
        ? (fn === "login" ? "better_auth" : await this.#identity.routedTo(email, canary))
        : "supabase";
    }
    return { mode, primary, canary };
  }

  #emit(route: Route, event: Omit<AuthEvent, "mode" | "canary">): void {
    emit(this.#events, { ...event, mode: route.mode, canary: route.canary });
  }

  /** Bookkeeping must never fail the user's request; a failure becomes an event. */
  async #bookkeep(route: Route, work: () => Promise<unknown>, userId?: string): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.#emit(route, {
        type: "divergence",
        system: "dual_write",
        durationMs: 0,
        success: false,
        userId,
        detail: `bookkeeping failed: ${error instanceof Error ? error.name : "error"}`,
      });
    }
  }

  // ---- signup ------------------------------------------------------------------------------

  async signUp(
    input: SignUpInput,
    options: AuthCallOptions = {},
  ): Promise<AuthOutcome<AuthResult>> {
    const started = performance.now();
    const weak = checkNewPassword(input.password, this.settings.passwordPolicy);
    if (weak) return err(weak);
    const route = await this.#route(input.email, options.canary, "signup");
    let outcome: AuthOutcome<AuthResult>;
    if (route.mode === "dual_write") {
      outcome = await this.#dualWriteSignUp(input, options, route);
    } else {
      const system = route.primary;
      outcome = await this.#service(system).signUp(input, options)
        .catch((error) => err(asAuthError(error, system)));
      // GoTrue's look-alike answer for a taken address is passed on as it is, never recorded.
      if (outcome.ok && !await isObfuscatedSignup(outcome.value, this.#service(system))) {
        const { id, email } = outcome.value.user;
        await this.#bookkeep(route, () => this.deps.status.markPresent(id, email, [system]), id);
      }
    }
    this.#emit(route, {
      type: "signup",
      system: route.mode === "dual_write" ? "dual_write" : route.primary,
      durationMs: performance.now() - started,
      success: outcome.ok,
      errorCode: outcome.ok ? undefined : outcome.error.code,
      userId: outcome.ok ? outcome.value.user.id : undefined,
    });
    return outcome;
  }

  /**
   * A signup computed without writing (the migrator's plan runs, for shadow comparison): the same
   * validation, policy and "already exists" answers as signUp, and a response of the same shape
   * whose volatile parts (id, created_at, tokens) are placeholders.
   */
  async planSignUp(
    input: SignUpInput,
    options: AuthCallOptions = {},
  ): Promise<AuthOutcome<AuthResult>> {
    const weak = checkNewPassword(input.password, this.settings.passwordPolicy);
    if (weak) return err(weak);
    const route = await this.#route(input.email, options.canary, "signup");
    const confirm = await this.#confirmationRequired(route);
    const systems: AuthSystem[] = route.mode === "dual_write" ? [...BOTH] : [route.primary];
    for (const system of systems) {
      try {
        const found = await this.#service(system).findUserByEmail(input.email);
        if (!found) continue;
        // GoTrue with autoconfirm: 422. With "Confirm email" on: 200, no session — the stored
        // user when Supabase holds it unconfirmed, else sanitizeUser's look-alike (signup.go).
        if (!confirm) return err(userAlreadyExists());
        if (system === "supabase" && !found.emailConfirmed) {
          return ok({ user: storedUserView(found), session: null });
        }
        return ok(lookAlikeSignUp(input.email, input.metadata));
      } catch (error) {
        return err(asAuthError(error, system));
      }
    }
    return ok({
      user: {
        id: crypto.randomUUID(),
        email: input.email,
        user_metadata: input.metadata ?? {},
        created_at: new Date().toISOString(),
      },
      session: confirm ? null : {
        access_token: "",
        refresh_token: "",
        token_type: "bearer",
        expires_in: 0,
        expires_at: 0,
      },
    });
  }

  /**
   * Does this signup follow "Confirm email"? On the paths that write Supabase, as GoTrue's
   * setting says (an unreadable setting counts as on: email-confirmation-setting.ts), read within
   * MIGRATION_FALLBACK_TIMEOUT — a slow Auth must not hold the signup longer than its writes may
   * take; past it, the careful answer. better_auth_only follows Better Auth's configuration,
   * which has no confirmation step.
   */
  async #confirmationRequired(route: Route): Promise<boolean> {
    if (route.mode === "better_auth_only" || !this.deps.supabase) return false;
    const read = await withDeadline(
      this.deps.supabase.requiresEmailConfirmation(),
      this.settings.fallbackTimeoutMs,
    );
    return read.kind === "done" ? read.value : true;
  }

  /**
   * "Confirm email" on and the address already registered: GoTrue's answer, nothing written by
   * us. Supabase holds it → GoTrue's own /signup answers (look-alike for a confirmed address,
   * the stored user and a re-sent mail for an unconfirmed one; signup.go). Only Better Auth
   * holds it → the look-alike. Null when neither holds it, or when that cannot be read (the
   * writes then find out, and a refusal comes back here).
   */
  async #takenAddressAnswer(input: SignUpInput): Promise<AuthOutcome<AuthResult> | null> {
    // Each read bounded like the writes; unknown (failed, timed out) is not "taken".
    const [supabase, betterAuth] = await Promise.all(
      BOTH.map(async (system) => {
        const read = await withDeadline(
          this.#service(system).findUserByEmail(input.email).catch(() => undefined),
          this.settings.fallbackTimeoutMs,
        );
        return read.kind === "done" ? read.value : undefined;
      }),
    );
    if (supabase) {
      return await this.deps.supabase!.signUp({
        email: input.email,
        password: input.password,
        metadata: input.metadata,
      }).catch((error) => err(asAuthError(error, "supabase")));
    }
    if (betterAuth) return ok(lookAlikeSignUp(input.email, input.metadata));
    return null;
  }

  async #dualWriteSignUp(
    input: SignUpInput,
    options: AuthCallOptions,
    route: Route,
  ): Promise<AuthOutcome<AuthResult>> {
    if (options.claimCommit && !options.claimCommit()) {
      return err(authUnavailable("Signup abandoned before writing"));
    }
    const confirm = await this.#confirmationRequired(route);
    if (confirm) {
      const taken = await this.#takenAddressAnswer(input);
      if (taken) return taken;
    }
    const id = input.id ?? crypto.randomUUID();
    const lease = this.settings.fallbackTimeoutMs * 2 + 30_000;
    // A claims table that cannot be reached means the shared database is down, and Better Auth
    // with it; carry on and let the writes report the outage.
    const claimed = await this.deps.claims.claim(input.email, id, lease).catch(() => true);
    if (!claimed) {
      // Another signup for this address is being written. With "Confirm email" on GoTrue would
      // answer 200 without a session whatever that one's fate: so does this (no enumeration).
      return confirm
        ? ok(lookAlikeSignUp(input.email, input.metadata))
        : err(userAlreadyExists("a signup for this email is in progress"));
    }
    try {
      return await this.#writeBoth({ ...input, id }, options, route, confirm);
    } finally {
      await this.deps.claims.release(input.email, id).catch(() => {});
    }
  }

  async #writeBoth(
    input: SignUpInput & { id: string },
    options: AuthCallOptions,
    route: Route,
    confirm: boolean,
  ): Promise<AuthOutcome<AuthResult>> {
    const { id, email } = input;
    // A side its breaker skipped never started: nothing of it can have landed.
    const skipped = new Set<AuthSystem>();
    const write = async (system: AuthSystem): Promise<SideOutcome> => {
      const side = await throughBreaker(this.deps.breaker, `signup:${system}`, () =>
        withDeadline(
          this.#service(system)
            .signUp(input, {
              ...options,
              claimCommit: undefined,
              sessionNeeded: system === route.primary && !confirm,
              emailConfirmationRequired: confirm,
            })
            .catch((error) => err(asAuthError(error, system))),
          this.settings.fallbackTimeoutMs,
        ), outage);
      if (side !== BREAKER_OPEN) return side;
      skipped.add(system);
      return { kind: "done", value: err(breakerSkipped(system, "signup")) };
    };
    const [supabase, betterAuth] = await Promise.all([write("supabase"), write("better_auth")]);
    const sides: Record<AuthSystem, SideOutcome> = { supabase, better_auth: betterAuth };

    const results = new Map<AuthSystem, AuthResult>();
    const errors: { system: AuthSystem; error: AuthError }[] = [];
    const timedOut: AuthSystem[] = [];
    for (const system of BOTH) {
      const side = sides[system];
      if (side.kind === "timeout") timedOut.push(system);
      else if (side.value.ok) results.set(system, side.value.value);
      else errors.push({ system, error: side.value.error });
    }
    const refusal = errors.find((e) => e.system === route.primary && isDefinitive(e.error)) ??
      errors.find((e) => isDefinitive(e.error));
    // An outage answer (our request aborted, a 5xx after the commit) says nothing about whether
    // the write landed: look, so a user who exists is never reported missing or left behind.
    const landed: AuthSystem[] = [];
    for (const { system, error } of errors) {
      if (!isDefinitive(error) && !skipped.has(system) && await this.#exists(system, id)) {
        landed.push(system);
      }
    }
    const present = BOTH.filter((system) => results.has(system) || landed.includes(system));

    if (!refusal && results.size === 0 && landed.length > 0) {
      // Written but unanswered: sign in to the system that holds the user to answer the client
      // (awaiting confirmation there is no session to give: the stored user answers).
      const answer = confirm
        ? await this.#storedAnswer(route.primary, landed, id)
        : await this.#signInAfterSignUp(route.primary, landed, input);
      if (answer) results.set(answer.system, answer.result);
    }
    if (refusal || results.size === 0) {
      await this.#undoSignUp(route, id, email, present, timedOut, sides, refusal?.error);
      if (refusal && confirm && refusal.error.code === "user_already_exists") {
        // Registered meanwhile (or unreadable before): GoTrue's 200, not a 422 that reveals it.
        const taken = await this.#takenAddressAnswer(input);
        return taken ?? ok(lookAlikeSignUp(email, input.metadata));
      }
      if (refusal) return err(refusal.error);
      return err(authUnavailable("Every auth backend is unavailable", errors.at(-1)?.error));
    }

    const answering = results.has(route.primary) ? route.primary : OTHER[route.primary];
    let answer = results.get(answering)!;
    await this.#bookkeep(route, () => this.deps.status.markPresent(id, email, present), id);
    // migrated_users says how a user reached Better Auth: here, even when the Supabase side is
    // still missing (reconciliation copies toward Supabase and records nothing for Better Auth).
    if (present.includes("better_auth")) {
      await this.#bookkeep(
        route,
        () => this.deps.status.recordMigrated(id, email, "dual_write"),
        id,
      );
    }
    if (present.length === 2) {
      if (this.settings.validation) await this.#validate(route, id, email, results);
    } else {
      const missing = OTHER[present[0]!];
      const failure = sides[missing];
      await this.#recordMissing(route, id, input, missing, failure);
      if (failure.kind === "timeout") {
        this.#tasks.track(this.#settleLateWrite(route, id, email, missing, failure.late));
      }
    }
    // The primary failed: the answering secondary may have been asked for no session (never
    // opened for an address awaiting confirmation).
    if (answer.session === null && answering !== route.primary && !confirm) {
      answer = (await this.#signInAfterSignUp(answering, [answering], input))?.result ?? answer;
    }
    return ok(answer);
  }

  async #exists(system: AuthSystem, id: string): Promise<boolean> {
    try {
      return (await this.#service(system).findUserById(id)) !== null;
    } catch {
      return false;
    }
  }

  /** The user just created, as stored by the first of `systems` (primary first), no session. */
  async #storedAnswer(
    primary: AuthSystem,
    systems: readonly AuthSystem[],
    id: string,
  ): Promise<{ system: AuthSystem; result: AuthResult } | null> {
    const ordered = [...systems].sort((a, b) => (a === primary ? -1 : b === primary ? 1 : 0));
    for (const system of ordered) {
      const stored = await this.#service(system).findUserById(id).catch(() => null);
      if (stored) return { system, result: { user: storedUserView(stored), session: null } };
    }
    return null;
  }

  /** A session for a user just created: the first of `systems` (primary first) that signs in. */
  async #signInAfterSignUp(
    primary: AuthSystem,
    systems: readonly AuthSystem[],
    input: SignUpInput,
  ): Promise<{ system: AuthSystem; result: AuthResult } | null> {
    const ordered = [...systems].sort((a, b) => (a === primary ? -1 : b === primary ? 1 : 0));
    for (const system of ordered) {
      const signedIn = await withDeadline(
        this.#service(system).signIn({ email: input.email, password: input.password })
          .catch((error) => err(asAuthError(error, system))),
        this.settings.fallbackTimeoutMs,
      );
      if (signedIn.kind === "done" && signedIn.value.ok) {
        return { system, result: signedIn.value.value };
      }
    }
    return null;
  }

  async #recordMissing(
    route: Route,
    id: string,
    input: SignUpInput,
    missing: AuthSystem,
    failure: SideOutcome,
  ): Promise<void> {
    const reason = failure.kind === "timeout"
      ? `timed out after ${this.settings.fallbackTimeoutMs} ms`
      : failure.value.ok
      ? "unknown"
      : `${failure.value.error.code}: ${failure.value.error.message}`;
    await this.#bookkeep(route, async () => {
      await this.deps.divergences.record({
        userId: id,
        email: input.email,
        kind: "missing_user",
        missingSide: missing,
        operation: "signup",
        reason,
        // GoTrue takes bcrypt hashes only: keep one so the Supabase copy gets the same password.
        passwordHash: missing === "supabase" ? await hashBcrypt(input.password) : undefined,
      });
    }, id);
    this.#emit(route, {
      type: "divergence",
      system: missing,
      durationMs: 0,
      success: false,
      userId: id,
      detail: `missing_user in ${missing}`,
    });
  }

  /** A write that timed out finished later: if it landed, the divergence is gone. */
  async #settleLateWrite(
    route: Route,
    id: string,
    email: string,
    system: AuthSystem,
    late: Promise<AuthOutcome<AuthResult>>,
  ): Promise<void> {
    const outcome = await late;
    // Failed for good, or unknown and not there (yet): the divergence stays for reconciliation.
    if (!outcome.ok && (isDefinitive(outcome.error) || !(await this.#exists(system, id)))) return;
    await this.deps.status.markPresent(id, email, [system]);
    await this.deps.status.recordMigrated(id, email, "dual_write");
    await this.deps.divergences.resolveOpen(id, "missing_user", "late write landed");
    this.#emit(route, {
      type: "reconciliation",
      system,
      durationMs: 0,
      success: true,
      userId: id,
      detail: "late write landed",
    });
  }

  /**
   * The signup failed as a whole: remove what was written under `id`, now for the writes that
   * succeeded, and when they land for the writes that timed out (recorded first, so the
   * reconciler finishes the job if this process dies).
   */
  async #undoSignUp(
    route: Route,
    id: string,
    email: string,
    succeeded: readonly AuthSystem[],
    timedOut: readonly AuthSystem[],
    sides: Record<AuthSystem, SideOutcome>,
    refusal: AuthError | undefined,
  ): Promise<void> {
    if (timedOut.length > 0) {
      await this.#bookkeep(route, () =>
        this.deps.divergences.record({
          userId: id,
          email,
          kind: "aborted_signup",
          operation: "signup",
          reason: refusal
            ? `refused (${refusal.code}) while ${timedOut.join(", ")} timed out`
            : `every backend failed; ${timedOut.join(", ")} timed out`,
        }), id);
      const lateWrites = timedOut.flatMap((system) => {
        const side = sides[system];
        return side.kind === "timeout" ? [{ system, late: side.late }] : [];
      });
      this.#tasks.track((async () => {
        let undone = true;
        for (const { system, late } of lateWrites) {
          const outcome = await late;
          const unknown = !outcome.ok && !isDefinitive(outcome.error);
          if (outcome.ok || (unknown && await this.#exists(system, id))) {
            undone = (await this.#compensate(route, id, email, system)) && undone;
          } else if (unknown) {
            undone = false; // may still land: reconciliation sweeps it
          }
        }
        if (undone) {
          await this.deps.divergences.resolveOpen(id, "aborted_signup", "late writes undone");
        }
      })());
    }
    for (const system of succeeded) await this.#compensate(route, id, email, system);
  }

  /** Deletes the user `id` from `system`; true when it is gone. */
  async #compensate(route: Route, id: string, email: string, system: AuthSystem): Promise<boolean> {
    const started = performance.now();
    let success = false;
    try {
      await this.#service(system).deleteUser(id);
      await this.deps.status.markAbsent(id, system);
      success = true;
    } catch {
      // Left for the reconciler: the aborted_signup row (or a missing_user row) names the user.
      await this.#bookkeep(route, () =>
        this.deps.divergences.record({
          userId: id,
          email,
          kind: "aborted_signup",
          operation: "signup",
          reason: `could not undo the ${system} write`,
        }), id);
    }
    this.#emit(route, {
      type: "compensation",
      system,
      durationMs: performance.now() - started,
      success,
      userId: id,
    });
    return success;
  }

  /** MIGRATION_VALIDATION: compares the two copies as stored (email, metadata). */
  async #validate(
    route: Route,
    id: string,
    email: string,
    results: ReadonlyMap<AuthSystem, AuthResult>,
  ): Promise<void> {
    await this.#bookkeep(route, async () => {
      const userOf = async (system: AuthSystem) => {
        const answered = results.get(system)?.user;
        if (answered) return answered;
        const stored = await this.#service(system).findUserById(id);
        return stored ? storedUserView(stored) : null;
      };
      const [supabaseUser, betterAuthUser] = [
        await userOf("supabase"),
        await userOf("better_auth"),
      ];
      if (!supabaseUser || !betterAuthUser) return;
      const discrepancies = compareUsers(supabaseUser, betterAuthUser);
      const summary = discrepancies.map((d) => d.message).join("; ");
      await this.deps.status.markValidated(
        id,
        email,
        discrepancies.length === 0,
        summary || undefined,
      );
      if (discrepancies.length > 0) {
        await this.deps.divergences.record({
          userId: id,
          email,
          kind: "data_mismatch",
          operation: "validation",
          reason: summary,
          details: { fields: discrepancies.map((d) => d.field) },
        });
      }
    }, id);
  }

  // ---- login -------------------------------------------------------------------------------

  /**
   * Login follows the system-of-record rule (shared/identity/system-of-record.ts): the system of
   * record answers; its refusal is final; the other system answers only when the system of
   * record is unavailable and the user is in sync toward it.
   */
  async signIn(
    input: SignInInput,
    options: AuthCallOptions = {},
  ): Promise<AuthOutcome<AuthResult>> {
    const started = performance.now();
    const invalid = checkLoginPassword(input.password, this.settings.passwordPolicy);
    if (invalid) return err(invalid);
    const route = await this.#route(input.email, options.canary, "login");
    try {
      await this.deps.rateLimiter.assertAllowed(input.email, options.ip);
    } catch (error) {
      if (error instanceof AuthError) {
        this.#emit(route, {
          type: "login",
          system: route.primary,
          durationMs: performance.now() - started,
          success: false,
          errorCode: error.code,
        });
        return err(error);
      }
      // The limiter's database is down: fail open rather than lock every user out.
    }

    const decision = await this.#identity.decide(input.email, { canary: route.canary });
    const answered = await this.#answer(route, decision, input, options);
    if (answered.outcome.ok) {
      await this.deps.rateLimiter.recordSuccess(input.email, options.ip).catch(() => {});
      this.#emit(route, {
        type: "login",
        system: answered.system,
        durationMs: performance.now() - started,
        success: true,
        fallback: answered.system !== decision.systemOfRecord,
        userId: answered.outcome.value.user.id,
      });
      return answered.outcome;
    }
    const error = answered.outcome.error;
    if (error.code === "invalid_credentials") {
      await this.deps.rateLimiter.recordFailure(input.email, options.ip).catch(() => {});
      const floor = this.settings.failureFloorMs ?? await calibrateFailureFloor();
      await sleep(floor - (performance.now() - started));
    }
    this.#emit(route, {
      type: "login",
      system: route.mode === "dual_write" ? "dual_write" : route.primary,
      durationMs: performance.now() - started,
      success: false,
      errorCode: error.code,
    });
    return err(error);
  }

  /** The systems this service may ask for a login on this route. */
  #callable(route: Route): readonly AuthSystem[] {
    const configured = BOTH.filter((system) =>
      system === "supabase" ? this.deps.supabase : this.deps.betterAuth
    );
    // supabase_only (the original implementation) is Supabase only, whatever the rule says.
    return route.mode === "supabase_only" ? configured.filter((s) => s === "supabase") : configured;
  }

  async #answer(
    route: Route,
    decision: IdentityDecision,
    input: SignInInput,
    options: AuthCallOptions,
  ): Promise<{ system: AuthSystem; outcome: AuthOutcome<AuthResult> }> {
    const record = decision.systemOfRecord;
    if (decision.blocked) {
      return {
        system: record,
        outcome: err(authUnavailable(`Login unavailable: ${decision.blocked}`)),
      };
    }
    const callable = this.#callable(route);
    let outcome: AuthOutcome<AuthResult> = err(
      authUnavailable(`${record} is the system of record and does not serve this path`),
    );
    if (callable.includes(record)) {
      outcome = await this.#attempt(route, record, decision, input, options, true);
      // Rule 4: an answer from the system of record is final.
      if (outcome.ok || isDefinitive(outcome.error)) return { system: record, outcome };
    }
    const other = OTHER[record];
    if (!callable.includes(other)) return { system: record, outcome };
    const may = this.#identity.otherMayAnswer(decision);
    if (may.kind === "refused") return { system: record, outcome: err(may.error) };
    if (may.kind === "not_in_sync") {
      this.#emit(route, {
        type: "login_attempt",
        system: other,
        durationMs: 0,
        success: false,
        errorCode: "auth_unavailable",
        detail: `not asked: ${may.reason}`,
      });
      return { system: record, outcome };
    }
    if (may.recordHash && !(await verifyPassword(may.recordHash, input.password))) {
      // The system of record's own stored hash refuses the password: its answer, final.
      return { system: record, outcome: err(invalidCredentials()) };
    }
    return {
      system: other,
      outcome: await this.#attempt(route, other, decision, input, options, false),
    };
  }

  /** One bounded attempt on `system`, with the rule's checks around Better Auth. */
  async #attempt(
    route: Route,
    system: AuthSystem,
    decision: IdentityDecision,
    input: SignInInput,
    options: AuthCallOptions,
    asRecord: boolean,
  ): Promise<AuthOutcome<AuthResult>> {
    const started = performance.now();
    const abort = new AbortController();
    const work = async (): Promise<AuthOutcome<AuthResult>> => {
      if (system === "supabase") {
        // better_auth_only: a user not cut over yet is verified against Supabase and copied.
        if (asRecord && route.mode === "better_auth_only") {
          return await this.#lazyMigrate(route, decision, input, abort.signal);
        }
        return await this.deps.supabase!.signIn(input, { ...options, signal: abort.signal });
      }
      return await this.#betterAuthSignIn(route, decision, input, options, abort.signal);
    };
    const bounded = await throughBreaker(this.deps.breaker, `login:${system}`, () =>
      withDeadline(
        work().catch((error) => err(asAuthError(error, system))),
        this.settings.fallbackTimeoutMs,
        () => abort.abort(),
      ), outage);
    // An open breaker: this system is unavailable for the rule (#answer decides who may answer).
    const outcome: AuthOutcome<AuthResult> = bounded === BREAKER_OPEN
      ? err(breakerSkipped(system, "login"))
      : bounded.kind === "done"
      ? bounded.value
      : err(
        authUnavailable(`${system} login timed out after ${this.settings.fallbackTimeoutMs} ms`),
      );
    if (outcome.ok && system === "supabase" && !(asRecord && route.mode === "better_auth_only")) {
      // Outside the attempt's budget: the copy has its own (a slow Better Auth must not turn a
      // Supabase success into a timeout).
      await this.#afterSupabaseLogin(route, outcome.value);
    }
    if (!outcome.ok) {
      this.#emit(route, {
        type: "login_attempt",
        system,
        durationMs: performance.now() - started,
        success: false,
        errorCode: outcome.error.code,
      });
    }
    return outcome;
  }

  /** Better Auth, refusing what Supabase would refuse (rule 6). */
  async #betterAuthSignIn(
    route: Route,
    decision: IdentityDecision,
    input: SignInInput,
    options: AuthCallOptions,
    signal: AbortSignal,
  ): Promise<AuthOutcome<AuthResult>> {
    const before = this.#identity.betterAuthRefusalBeforePassword(decision);
    if (before) return err(before);
    const outcome = await this.deps.betterAuth!.signIn(input, { ...options, signal });
    if (!outcome.ok) return outcome;
    const after = this.#identity.betterAuthRefusalAfterPassword(decision) ??
      await this.#awaitingConfirmation(route, decision);
    if (after) {
      // The session Better Auth just opened must not outlive the refusal.
      await this.deps.betterAuth!.revokeSession(outcome.value.session?.refresh_token ?? "");
      return err(after);
    }
    return outcome;
  }

  /**
   * A dual-write signup whose Supabase write failed leaves the Better Auth copy alone (a
   * missing_user divergence): with "Confirm email" on it is unverified and, with no Supabase copy
   * for rule 6 to read, would log in unconfirmed. Refused as GoTrue refuses it (after the
   * password: email_not_confirmed) until the address is confirmed.
   */
  async #awaitingConfirmation(route: Route, decision: IdentityDecision) {
    const copy = decision.betterAuth;
    if (route.mode !== "dual_write" || decision.supabase !== null || !copy) return null;
    if (copy.emailConfirmed || !(await this.#confirmationRequired(route))) return null;
    return emailNotConfirmed();
  }

  /**
   * better_auth_only, Supabase still the system of record for this user (not copied, or the copy
   * is behind): verify against Supabase — by the stored hash in auth.users when the database is
   * shared (GoTrue's checks in GoTrue's order), else through GoTrue — then copy the user with the
   * same id (UserSync, the one copy path) and answer with a Better Auth session.
   */
  async #lazyMigrate(
    route: Route,
    decision: IdentityDecision,
    input: SignInInput,
    signal: AbortSignal,
  ): Promise<AuthOutcome<AuthResult>> {
    let userId: string;
    let hash: string | null = null;
    let supabaseAnswer: AuthResult | null = null;
    const stored = decision.supabase;
    if (stored !== undefined) {
      // Unknown to Supabase under this email (never there, deleted, or the email has changed
      // there and the copy is behind): GoTrue's "Invalid login credentials".
      if (
        !stored || stored.deleted || !stored.passwordHash ||
        stored.email !== input.email.toLowerCase()
      ) {
        return err(invalidCredentials());
      }
      if (stored.banned) return err(userBanned());
      if (!(await verifyPassword(stored.passwordHash, input.password))) {
        return err(invalidCredentials());
      }
      if (!stored.emailConfirmed) return err(emailNotConfirmed());
      userId = stored.id;
      hash = stored.passwordHash;
    } else {
      const outcome = await this.deps.supabase!.signIn(input, { signal });
      if (!outcome.ok) return outcome;
      supabaseAnswer = outcome.value;
      userId = outcome.value.user.id;
    }
    if (!this.#sync) return supabaseAnswer ? ok(supabaseAnswer) : err(authUnavailable("No copy"));
    // Without a readable hash (no shared database) the password GoTrue just accepted is hashed
    // in the format both systems verify.
    const current = hash ?? await hashBcrypt(input.password);
    if (!decision.betterAuth) {
      await this.#sync.copy(userId, "better_auth", "lazy", {
        canary: route.canary,
        ...(hash ? {} : { passwordHash: current }),
      });
    } else if (hash ? decision.betterAuth.passwordHash !== hash : true) {
      // The copy is behind on the password (a change still in the outbox): take the system of
      // record's hash now, as its applier will (idempotent).
      await this.deps.betterAuth!.replacePasswordHash(userId, current);
    }
    const session = await this.deps.betterAuth!.signIn(input, { signal });
    if (session.ok) return session;
    // Verified by the system of record, but the Better Auth copy cannot open a session yet (a
    // change still in flight, e.g. a new email): the system of record's own session.
    if (supabaseAnswer) return ok(supabaseAnswer);
    const fromSupabase = await this.deps.supabase!.signIn(input, { signal });
    if (fromSupabase.ok || isDefinitive(fromSupabase.error)) return fromSupabase;
    return err(authUnavailable("The Better Auth copy of this user is catching up", session.error));
  }

  /** dual_write: a user who logged in through Supabase but is missing in Better Auth is copied. */
  async #afterSupabaseLogin(route: Route, result: AuthResult): Promise<void> {
    if (route.mode !== "dual_write" || !this.#sync || this.settings.lazyMigration === false) return;
    const userId = result.user.id;
    const migrate = this.#bookkeep(route, async () => {
      await this.#sync!.copy(userId, "better_auth", "lazy", { canary: route.canary });
    }, userId);
    // A slow Better Auth must not hold the user's login hostage: past the timeout the copy
    // finishes in the background (and the next Supabase login would retry it anyway).
    const bounded = await withDeadline(migrate, this.settings.fallbackTimeoutMs);
    if (bounded.kind === "timeout") this.#tasks.track(bounded.late);
  }

  // ---- tokens ------------------------------------------------------------------------------

  async getUserFromToken(accessToken: string): Promise<AuthOutcome<AuthUserView>> {
    let system: AuthSystem;
    let userId: string;
    try {
      const verified = await verifyAccessToken(accessToken, this.deps.tokens);
      system = verified.system;
      userId = verified.userId;
    } catch (error) {
      return err(asAuthError(error, "token verification"));
    }
    const issuer = system === "supabase" ? this.deps.supabase : this.deps.betterAuth;
    if (issuer) {
      const outcome = await issuer.getUserFromToken(accessToken);
      if (outcome.ok || outcome.error.code !== "auth_unavailable") return outcome;
    }
    // The issuing system is down or not configured: the same id in the other system will do.
    const other = system === "supabase" ? this.deps.betterAuth : this.deps.supabase;
    const user = await other?.findUserById(userId).catch(() => null);
    return user ? ok(storedUserView(user)) : err(authUnavailable("Auth is unavailable"));
  }
}
