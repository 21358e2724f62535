/**
 * The one answer to "who is this user's system of record now, and may the other system answer?"
 * Login (both implementations) asks it; nothing else re-derives it.
 *
 * The rule, per user, at the moment of the request:
 * 1. Routing target. The user's logins are routed to Better Auth as primary when the migrator
 *    would send them to the abstracted path (kill switch → stage pin → canary → sticky rollout,
 *    the runtime flags of `login`, shared/migrator/routing.ts) AND that path makes Better Auth
 *    primary for them. With migration stages (the login function's stage, shared/cutover/
 *    stages.ts): better_auth_only / complete; better_auth_primary; a canary user in dual_write.
 *    Without (no routing probe): MIGRATION_MODE=better_auth_only, or dual_write with
 *    USE_BETTER_AUTH=true, or a canary user. Otherwise the target is Supabase.
 * 2. Cut-over. A user is CUT OVER — Better Auth is the system of record — when the routing target
 *    is Better Auth AND the Better Auth copy exists AND it is in sync: no unapplied
 *    `identity_change_outbox` row `direction='to_better_auth'`. Until then Supabase is the truth.
 *    Nothing is latched: the condition is evaluated on every login, so lowering the rollout or
 *    the kill switch hands the user back to Supabase, subject to 3.
 * 3. Freshness overrides routing. Changes still in flight TOWARD a system mean that system is
 *    behind: unapplied `to_better_auth` rows make Supabase the system of record (an admin reset,
 *    ban, email change or delete in Supabase is the truth until applied); unapplied `to_supabase`
 *    rows make Better Auth the system of record. Rows pending in BOTH directions: nobody
 *    answers (503 auth_unavailable) until the appliers (shared/sync/) catch up — never a guess.
 *    Echoes are not pending changes: a captured INSERT toward a side that already holds the user
 *    (a dual-write signup's capture, a copy, GoTrue's echo of an admin create) is not counted
 *    (state.ts readPending), and pending rows count only while the two copies disagree on what a
 *    login reads (email, confirmation, ban, deletion, the very same password hash) — otherwise
 *    routing (1, 2)
 *    decides and the rows do not keep the other system from answering under 5.
 * 4. The system of record's definitive answer is FINAL on every path: wrong password, unknown or
 *    deleted user (400 invalid_credentials), banned (400 user_banned), email not confirmed
 *    (400 email_not_confirmed). GoTrue's codes and order (supabase/auth internal/api/token.go,
 *    ResourceOwnerPasswordGrant): ban before the password, confirmation after it.
 * 5. The other system may answer only when the system of record is UNAVAILABLE (timeout, 5xx,
 *    network error, or not reachable from the path serving the request) and only when the user
 *    is in sync toward it: no unapplied outbox row in its direction, and what can be compared
 *    cheaply agrees — the email, bcrypt hashes (when both are bcrypt), the ban. When the system
 *    of record's own stored state is readable and says banned / deleted / unknown, that is its
 *    answer (refused) even though its API is down.
 * 6. Better Auth answering (as system of record or as the other) applies Supabase's rules:
 *    a banned user is refused before the password is checked (the admin plugin also refuses the
 *    session; an expired banExpires is no ban), and an unconfirmed email is refused after a
 *    correct password where Supabase would refuse it: when the user's Supabase copy is
 *    unconfirmed. Better Auth-native users (no Supabase row) follow Better Auth's own
 *    configuration (requireEmailVerification: false).
 *
 * The facts come from the tables themselves (state.ts): auth.users when the database is shared,
 * Better Auth's "user"/account, and the outbox. A fact that cannot be read never helps a login:
 * an unreadable outbox means "not known to be in sync", so the other system does not answer.
 */
import type { MigrationMode } from "../config/env.ts";
import type { SqlClient } from "../db/sql-client.ts";
import {
  type AuthError,
  emailNotConfirmed,
  invalidCredentials,
  userBanned,
} from "../auth/errors.ts";
import type { AuthSystem } from "../auth/types.ts";
import { isLegacyHash } from "../auth/passwords.ts";
import { type StageBehaviour, stagePrimary } from "../cutover/stages.ts";
import {
  type IdentityState,
  type PendingChanges,
  readBetterAuthState,
  readPending,
  readSupabaseState,
} from "./state.ts";

/** Where the migrator would route this user's login (shared/migrator/routing.ts decideRoute). */
export interface RoutingProbe {
  route(email: string): Promise<{
    readonly abstracted: boolean;
    readonly canary: boolean;
    /** The login function's migration stage; absent: MIGRATION_MODE × USE_BETTER_AUTH decide. */
    readonly stage?: StageBehaviour;
  }>;
}

export interface SystemOfRecordSettings {
  readonly mode: MigrationMode;
  /** USE_BETTER_AUTH. */
  readonly useBetterAuth: boolean;
  /** Which systems exist in this deployment. */
  readonly supabase: boolean;
  readonly betterAuth: boolean;
}

export interface SystemOfRecordDeps {
  /** The shared database: auth.users and identity_change_outbox. Absent: nothing is readable. */
  readonly db?: SqlClient;
  /** Better Auth's tables (default: db). */
  readonly betterAuthDb?: SqlClient;
  /** Absent: the caller is the abstracted path itself (routed there, canary as it says). */
  readonly routing?: RoutingProbe;
}

export type DecisionReason =
  | "only_system" // one system is configured
  | "routed_to_supabase" // routing keeps the user on Supabase
  | "no_better_auth_copy" // routed to Better Auth, not copied yet
  | "better_auth_behind" // changes toward Better Auth not applied yet
  | "supabase_behind" // changes toward Supabase not applied yet
  | "cut_over" // routed to Better Auth, copy present and in sync
  | "state_unreadable"; // the outbox could not be read: Supabase until proven otherwise

/** `undefined`: could not be read (not shared, or the read failed); `null`: no such user. */
export type Observed = IdentityState | null | undefined;

export interface IdentityDecision {
  readonly email: string;
  readonly userId: string | null;
  readonly routedTo: AuthSystem;
  readonly systemOfRecord: AuthSystem;
  readonly reason: DecisionReason;
  /** Set when nobody may answer now (changes pending in both directions). */
  readonly blocked: string | null;
  readonly supabase: Observed;
  readonly betterAuth: Observed;
  readonly pending: PendingChanges | null;
}

/** May the other system answer for this user? */
export type OtherAnswer =
  /**
   * In sync. `recordHash`: the two copies hold different bcrypt hashes (each system hashed the
   * same signup password with its own salt), so the password must first verify against the
   * system of record's stored hash — a mismatch is the system of record's wrong-password answer.
   */
  | { readonly kind: "in_sync"; readonly recordHash?: string }
  | { readonly kind: "not_in_sync"; readonly reason: string }
  /** The system of record's stored state already answers: this refusal is final. */
  | { readonly kind: "refused"; readonly error: AuthError };

export const OTHER_SYSTEM: Readonly<Record<AuthSystem, AuthSystem>> = {
  supabase: "better_auth",
  better_auth: "supabase",
};

/**
 * The primary a path that is routed to the abstracted implementation gives a user (rule 1's
 * second half). Signup's primary and login's routing target both come from here.
 */
export function abstractedPrimary(
  mode: MigrationMode,
  useBetterAuth: boolean,
  canary: boolean,
): AuthSystem {
  if (mode === "better_auth_only" || canary) return "better_auth";
  return mode === "dual_write" && useBetterAuth ? "better_auth" : "supabase";
}

export class SystemOfRecord {
  constructor(
    private readonly settings: SystemOfRecordSettings,
    private readonly deps: SystemOfRecordDeps = {},
  ) {}

  /** Where routing puts this user's logins now (rule 1). */
  async routedTo(email: string, canaryHint?: boolean): Promise<AuthSystem> {
    const { mode, useBetterAuth, betterAuth, supabase } = this.settings;
    if (!betterAuth) return "supabase";
    if (!supabase) return "better_auth";
    const probe = this.deps.routing
      ? await this.deps.routing.route(email)
      : { abstracted: true, canary: canaryHint ?? false };
    if (!probe.abstracted) return "supabase";
    if ("stage" in probe && probe.stage) return stagePrimary(probe.stage, true, probe.canary);
    return abstractedPrimary(mode, useBetterAuth, probe.canary);
  }

  /** Rules 1–3 for the user who logs in with `email`. */
  async decide(email: string, options: { canary?: boolean } = {}): Promise<IdentityDecision> {
    const routedTo = await this.routedTo(email, options.canary);
    const base = { email, routedTo, blocked: null };
    const { supabase: hasSupabase, betterAuth: hasBetterAuth } = this.settings;
    if (!hasSupabase || !hasBetterAuth) {
      return {
        ...base,
        userId: null,
        systemOfRecord: hasSupabase ? "supabase" : "better_auth",
        reason: "only_system",
        supabase: undefined,
        betterAuth: undefined,
        pending: null,
      };
    }
    const db = this.deps.db;
    const baDb = this.deps.betterAuthDb ?? db;
    const read = async (
      client: SqlClient | undefined,
      reader: typeof readSupabaseState,
      key: { email: string } | { id: string },
    ): Promise<Observed> => {
      if (!client) return undefined;
      try {
        return await reader(client, key);
      } catch {
        return undefined;
      }
    };
    const [sbByEmail, baByEmail] = await Promise.all([
      read(db, readSupabaseState, { email }),
      read(baDb, readBetterAuthState, { email }),
    ]);
    // One user id: the routing target's, else the other's. The other side is then read by that
    // id, so an email changed on one side only still finds both copies of the same user.
    const userId = routedTo === "better_auth"
      ? (baByEmail?.id ?? sbByEmail?.id ?? null)
      : (sbByEmail?.id ?? baByEmail?.id ?? null);
    const supabase = userId && sbByEmail?.id !== userId
      ? await read(db, readSupabaseState, { id: userId })
      : sbByEmail;
    const betterAuth = userId && baByEmail?.id !== userId
      ? await read(baDb, readBetterAuthState, { id: userId })
      : baByEmail;
    let pending: PendingChanges | null = null;
    if (db) {
      const ids = [userId, sbByEmail?.id, baByEmail?.id].filter((id): id is string => !!id);
      const existsIn = {
        supabase: !!supabase && !supabase.deleted,
        betterAuth: !!betterAuth && !betterAuth.deleted,
      };
      pending = await readPending(db, ids, existsIn).catch(() => null);
    }
    const decided = (systemOfRecord: AuthSystem, reason: DecisionReason, blocked?: string) => ({
      ...base,
      userId,
      systemOfRecord,
      reason,
      blocked: blocked ?? null,
      supabase,
      betterAuth,
      pending,
    });
    if (!pending) return decided("supabase", "state_unreadable");
    // Rows still pending whose effect both copies already show (the capture of a dual-write
    // signup, a copy, GoTrue's echo of an admin call) change nothing a login reads: routing
    // decides. Only a pending change the copies do not agree on moves the system of record.
    if (supabase && betterAuth && loginStateMatches(supabase, betterAuth)) {
      if (routedTo === "supabase") return decided("supabase", "routed_to_supabase");
      return decided("better_auth", "cut_over");
    }
    if (pending.toBetterAuth > 0 && pending.toSupabase > 0) {
      return decided(
        routedTo,
        routedTo === "supabase" ? "supabase_behind" : "better_auth_behind",
        "identity changes are pending in both directions",
      );
    }
    if (pending.toBetterAuth > 0) return decided("supabase", "better_auth_behind");
    if (pending.toSupabase > 0) return decided("better_auth", "supabase_behind");
    if (routedTo === "supabase") return decided("supabase", "routed_to_supabase");
    if (!betterAuth) return decided("supabase", "no_better_auth_copy");
    return decided("better_auth", "cut_over");
  }

  /**
   * Rule 5: may `other` answer for the user while the system of record is unavailable?
   * Only in sync, and never against the system of record's own readable state.
   */
  otherMayAnswer(decision: IdentityDecision): OtherAnswer {
    const other = OTHER_SYSTEM[decision.systemOfRecord];
    if (decision.blocked) return { kind: "not_in_sync", reason: decision.blocked };
    if (!decision.pending) return { kind: "not_in_sync", reason: "the outbox is unreadable" };
    const pendingToOther = other === "better_auth"
      ? decision.pending.toBetterAuth
      : decision.pending.toSupabase;
    const record = other === "better_auth" ? decision.supabase : decision.betterAuth;
    const copy = other === "better_auth" ? decision.betterAuth : decision.supabase;
    // Pending rows block the other system unless both copies are readable and already agree on
    // everything a login reads (then the rows are echoes or changes a login does not see).
    const agree = !!record && !!copy && loginStateMatches(record, copy);
    if (pendingToOther > 0 && !agree) {
      return { kind: "not_in_sync", reason: `changes pending toward ${other}` };
    }
    if (record !== undefined) {
      // The system of record's stored state, read from its tables, is its answer.
      if (record === null || record.deleted) {
        return { kind: "refused", error: invalidCredentials() };
      }
      if (record.banned) return { kind: "refused", error: userBanned() };
    }
    if (!copy || copy.deleted) return { kind: "not_in_sync", reason: `no ${other} copy` };
    if (record) {
      if (record.email !== copy.email) return { kind: "not_in_sync", reason: "email differs" };
      if (record.banned !== copy.banned) return { kind: "not_in_sync", reason: "ban differs" };
      const a = record.passwordHash;
      const b = copy.passwordHash;
      if (a && b && isLegacyHash(a) && isLegacyHash(b) && a !== b) {
        return { kind: "in_sync", recordHash: a };
      }
      if ((a === null) !== (b === null)) return { kind: "not_in_sync", reason: "password differs" };
    }
    return { kind: "in_sync" };
  }

  /** Rule 6, before the password: Better Auth refuses a banned user as GoTrue does. */
  betterAuthRefusalBeforePassword(decision: IdentityDecision): AuthError | null {
    if (decision.betterAuth?.banned) return userBanned();
    return null;
  }

  /** Rule 6, after a correct password: an email Supabase holds unconfirmed is refused. */
  betterAuthRefusalAfterPassword(decision: IdentityDecision): AuthError | null {
    const supabase = decision.supabase;
    if (supabase && !supabase.deleted && !supabase.emailConfirmed) return emailNotConfirmed();
    return null;
  }
}

/**
 * The two copies agree on everything a password login reads: email and its confirmation, ban,
 * deletion and the very same password hash (bcrypt is copied as-is both ways until the migration is declared complete).
 */
function loginStateMatches(a: IdentityState, b: IdentityState): boolean {
  return a.email === b.email && a.banned === b.banned && a.deleted === b.deleted &&
    a.emailConfirmed === b.emailConfirmed && a.passwordHash === b.passwordHash;
}
