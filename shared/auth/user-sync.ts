/**
 * Copies one user from one auth system to the other, keeping id, email, metadata and password
 * hash, and records it (user_migration_status, migrated_users). Used by lazy migration at login
 * and by reconciliation. Every step is idempotent, so a retry after a crash converges.
 */
import type { DivergenceRepository } from "./divergences.ts";
import { type AuthEventSink, emit, noopAuthEventSink } from "./events.ts";
import type { MigratedVia, MigrationStatusRepository } from "./migration-status.ts";
import { hashKind } from "./passwords.ts";
import type { AuthSystem, AuthUserDirectory } from "./types.ts";
import type { MigrationMode } from "../config/env.ts";

export type CopyOutcome = "created" | "exists" | "conflict" | "source_missing";

export interface UserSyncDeps {
  readonly supabase: AuthUserDirectory;
  readonly betterAuth: AuthUserDirectory;
  readonly status: MigrationStatusRepository;
  readonly divergences: DivergenceRepository;
  readonly events?: AuthEventSink;
  readonly mode: MigrationMode;
  /**
   * The project's "Confirm email" (email-confirmation-setting.ts). When it is on, an unverified
   * Better Auth user is copied to Supabase unconfirmed: never confirmed by admin. Default: off.
   */
  readonly emailConfirmationRequired?: () => Promise<boolean>;
}

export class UserSync {
  readonly #events: AuthEventSink;

  constructor(private readonly deps: UserSyncDeps) {
    this.#events = deps.events ?? noopAuthEventSink;
  }

  #directory(system: AuthSystem): AuthUserDirectory {
    return system === "supabase" ? this.deps.supabase : this.deps.betterAuth;
  }

  /**
   * Creates user `userId` in `target` from its copy in the other system. `passwordHash` overrides
   * the source's hash (a bcrypt hash kept by a divergence, for a Better-Auth-only user).
   */
  async copy(
    userId: string,
    target: AuthSystem,
    via: MigratedVia,
    options: { passwordHash?: string; canary?: boolean } = {},
  ): Promise<CopyOutcome> {
    const started = performance.now();
    const sourceSystem: AuthSystem = target === "supabase" ? "better_auth" : "supabase";
    const source = await this.#directory(sourceSystem).findUserById(userId);
    if (!source) return "source_missing";
    const passwordHash = options.passwordHash ?? usableHash(source.passwordHash, target);
    // Better Auth runs without email verification, so with autoconfirm its users are full users
    // and an unconfirmed Supabase copy could not log in (GoTrue refuses unconfirmed emails). With
    // "Confirm email" on, an unverified user is awaiting confirmation: copied as it is.
    const confirmInSupabase = source.emailConfirmed ||
      !(await this.deps.emailConfirmationRequired?.() ?? false);
    const outcome = await this.#directory(target).importUser({
      ...source,
      passwordHash,
      emailConfirmed: target === "supabase" ? confirmInSupabase : source.emailConfirmed,
    });
    if (outcome === "conflict") {
      await this.deps.divergences.record({
        userId,
        email: source.email,
        kind: "id_conflict",
        operation: via === "lazy" ? "login" : "reconciliation",
        reason: `the email belongs to a different user id in ${target}`,
      });
    } else {
      await this.deps.status.markPresent(userId, source.email, ["supabase", "better_auth"]);
      if (target === "better_auth") {
        await this.deps.status.recordMigrated(userId, source.email, via);
      }
    }
    emit(this.#events, {
      type: via === "lazy" ? "lazy_migration" : "reconciliation",
      system: target,
      mode: this.deps.mode,
      canary: options.canary ?? false,
      durationMs: performance.now() - started,
      success: outcome !== "conflict",
      userId,
      detail: outcome,
    });
    return outcome;
  }
}

/**
 * The hash the target can verify: Better Auth verifies bcrypt and scrypt; GoTrue only bcrypt
 * (a Better-Auth-native user reaches Supabase without a password unless a bcrypt copy was kept).
 */
function usableHash(hash: string | null, target: AuthSystem): string | null {
  if (!hash) return null;
  const kind = hashKind(hash);
  if (target === "better_auth") return kind ? hash : null;
  return kind === "bcrypt" ? hash : null;
}
