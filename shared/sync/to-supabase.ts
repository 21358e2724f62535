/**
 * Better Auth → Supabase: applies the 'to_supabase' rows the Better Auth triggers write, until
 * the migration is declared complete. The rows only say WHAT changed (user fields, password,
 * insert, delete); the values are read from Better Auth's tables at apply time, so a row
 * applied twice or late pushes the current state, never an old one.
 *
 * Through GoTrue's admin API (supabase-js, service role), as GoTrue itself must write its
 * users, identities and audit log:
 * - a user missing in Supabase → admin createUser with the same id, email, confirmation,
 *   metadata and `password_hash` (bcrypt: GoTrue's AdminUserParams.PasswordHash, read by
 *   adminUserCreate only — supabase/auth internal/api/admin.go);
 * - email, its confirmation, user metadata, ban → admin updateUserById;
 * - a user deleted in Better Auth → admin deleteUser.
 * A password change or a ban also ends the user's Supabase sessions (auth.sessions, SQL), so
 * neither system keeps a session the change should have ended (shared/sessions/).
 * A password CHANGE cannot go through the admin API: adminUserUpdate ignores password_hash
 * (same file; checked at supabase/auth HEAD 2026-08), and the plain password is never kept. So
 * the bcrypt hash is written to auth.users.encrypted_password directly, in a transaction marked
 * sync_origin = 'better_auth' so the auth.users trigger does not capture it back. A scrypt hash
 * (Better Auth's native format) cannot be imported by GoTrue at all: such a row fails visibly
 * (attempts, last_error) instead of leaving Supabase with a password the user does not have —
 * which is why hashes stay bcrypt until the migration is declared complete (passwords.ts).
 *
 * Echo: GoTrue's own writes fire the auth triggers (a 'to_better_auth' row per call). Those
 * rows, captured while this applier held the user's lease, are settled as 'echo': they carry
 * the state that was just pushed FROM Better Auth.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { hashKind } from "../auth/passwords.ts";
import type { SqlClient } from "../db/sql-client.ts";
import {
  type DirectionApplier,
  type OutboxRow,
  type Outcome,
  settleRows,
  type UserResult,
  type UserWork,
  withConcurrency,
} from "./outbox.ts";
import { SYNC_ORIGIN_SETTING } from "./to-better-auth.ts";
import { endSupabaseSessions } from "../sessions/gotrue-client.ts";

type Json = Record<string, unknown>;

interface BetterAuthRow {
  email: string;
  emailVerified: boolean;
  userMetadata: Json | string | null;
  banned: boolean | null;
  banExpires: Date | string | null;
  password: string | null;
}

interface SupabaseRow {
  email: string | null;
  email_confirmed_at: Date | string | null;
  banned_until: Date | string | null;
  deleted_at: Date | string | null;
}

/** Keys the batch copy adds to userMetadata; they never go back to Supabase. */
const COPY_KEYS = new Set(["migrated_from", "original_id", "original_created_at"]);
/** GoTrue takes a Go duration; "permanent" is a century. */
const PERMANENT_BAN = "876000h";

const asJson = (value: Json | string | null): Json =>
  typeof value === "string" ? JSON.parse(value) : value ?? {};
const asTime = (value: Date | string | null) =>
  value === null ? null : (value instanceof Date ? value : new Date(value)).getTime();

function metadataFor(row: BetterAuthRow): Json {
  return Object.fromEntries(
    Object.entries(asJson(row.userMetadata)).filter(([key]) => !COPY_KEYS.has(key)),
  );
}

function banDurationFor(ba: BetterAuthRow, now: number): string | null {
  const expires = asTime(ba.banExpires);
  if (!ba.banned || (expires !== null && expires <= now)) return null;
  return expires === null ? PERMANENT_BAN : `${Math.max(1, Math.ceil((expires - now) / 1000))}s`;
}

/** The keys the user rows changed; null = everything (an insert). */
function changedKeys(rows: readonly OutboxRow[]): Set<string> | null {
  const keys = new Set<string>();
  for (const row of rows) {
    if (row.entity !== "user") continue;
    if (row.op !== "update" || !Array.isArray(row.payload.changed)) return null;
    for (const key of row.payload.changed) if (typeof key === "string") keys.add(key);
  }
  return keys;
}

class GoTrueError extends Error {
  override readonly name = "GoTrueError";
}

export interface ToSupabaseOptions {
  /**
   * Create Supabase copies of unverified Better Auth users as confirmed (default true). Better
   * Auth here lets an unverified user sign in (requireEmailVerification: false, better-auth.ts)
   * while GoTrue refuses an unconfirmed email ("email_not_confirmed"): without this, a user who
   * signed up on the Better Auth side could not log in after a rollback. Set false when Better
   * Auth requires verification. A function is asked per copy: registerSync passes "the project
   * autoconfirms" (GoTrue's setting), so with "Confirm email" on an unverified user — a signup
   * awaiting confirmation — is never confirmed by admin.
   */
  readonly confirmUnverified?: boolean | (() => Promise<boolean>);
}

export class ToSupabaseApplier implements DirectionApplier {
  readonly direction = "to_supabase" as const;
  readonly #confirmUnverifiedSetting: boolean | (() => Promise<boolean>);

  constructor(
    private readonly db: SqlClient,
    private readonly admin: SupabaseClient,
    options: ToSupabaseOptions = {},
  ) {
    this.#confirmUnverifiedSetting = options.confirmUnverified ?? true;
  }

  async #confirmUnverified(): Promise<boolean> {
    const setting = this.#confirmUnverifiedSetting;
    return typeof setting === "boolean" ? setting : await setting();
  }

  /** Users in parallel (GoTrue round trips dominate), at most 4 at a time. */
  async applyUsers(work: readonly UserWork[]): Promise<Map<string, UserResult>> {
    const results = new Map<string, UserResult>();
    await withConcurrency(work, 4, async ({ userId, rows }) => {
      try {
        results.set(userId, await this.#applyUser(userId, rows));
      } catch (error) {
        results.set(userId, { error });
      }
    });
    return results;
  }

  async #applyUser(userId: string, rows: readonly OutboxRow[]): Promise<"settled"> {
    const ba = await this.#betterAuth(userId);
    const sb = await this.#supabase(userId);
    const echoFloor = await this.#lastOutboxId();
    let outcome: Outcome = "applied";
    let calledGoTrue = false;
    if (!ba) {
      if (sb) {
        await this.#call("deleteUser", () => this.admin.auth.admin.deleteUser(userId), [404]);
        calledGoTrue = true;
      } else {
        outcome = "noop";
      }
    } else if (!sb) {
      await this.#create(userId, ba);
      calledGoTrue = true;
    } else {
      if (sb.deleted_at !== null) {
        throw new Error("the user is soft-deleted in Supabase Auth but exists in Better Auth");
      }
      calledGoTrue = await this.#update(userId, ba, sb, changedKeys(rows));
      if (rows.some((row) => row.entity === "password")) await this.#setPassword(userId, ba);
    }
    if (calledGoTrue) await this.#settleEchoes(userId, echoFloor);
    await settleRows(this.db, rows.map((row) => row.id), outcome);
    return "settled";
  }

  async #create(userId: string, ba: BetterAuthRow): Promise<void> {
    const kind = ba.password ? hashKind(ba.password) : null;
    if (ba.password && kind !== "bcrypt") {
      throw new Error(`the Better Auth password hash is ${kind ?? "unknown"}, not bcrypt`);
    }
    const ban = banDurationFor(ba, Date.now());
    const confirm = ba.emailVerified || await this.#confirmUnverified();
    await this.#call("createUser", () =>
      this.admin.auth.admin.createUser({
        id: userId,
        email: ba.email,
        email_confirm: confirm,
        user_metadata: metadataFor(ba),
        ...(ba.password ? { password_hash: ba.password } : {}),
        ...(ban ? { ban_duration: ban } : {}),
      }));
  }

  /** True when GoTrue was called. */
  async #update(
    userId: string,
    ba: BetterAuthRow,
    sb: SupabaseRow,
    changed: Set<string> | null,
  ): Promise<boolean> {
    const touches = (key: string) => changed === null || changed.has(key);
    const attributes: Record<string, unknown> = {};
    if (touches("email") && (sb.email ?? "").toLowerCase() !== ba.email) {
      attributes.email = ba.email;
      if (ba.emailVerified || await this.#confirmUnverified()) attributes.email_confirm = true;
    }
    // GoTrue has no "unconfirm"; a confirmation made in Better Auth is copied.
    if (touches("emailVerified") && ba.emailVerified && sb.email_confirmed_at === null) {
      attributes.email_confirm = true;
    }
    if (touches("userMetadata")) attributes.user_metadata = metadataFor(ba);
    if (touches("banned") || touches("banExpires")) {
      const now = Date.now();
      const ban = banDurationFor(ba, now);
      const bannedInSupabase = (asTime(sb.banned_until) ?? 0) > now;
      if (ban) attributes.ban_duration = ban;
      else if (bannedInSupabase) attributes.ban_duration = "none";
    }
    if (Object.keys(attributes).length === 0) return false;
    await this.#call(
      "updateUserById",
      () => this.admin.auth.admin.updateUserById(userId, attributes),
    );
    // A ban made in Better Auth ends the user's Supabase sessions too (GoTrue itself refuses a
    // banned user's refresh, token_refresh.go, but its access tokens would live on until expiry).
    if (attributes.ban_duration && attributes.ban_duration !== "none") {
      await endSupabaseSessions(this.db, userId);
    }
    return true;
  }

  async #setPassword(userId: string, ba: BetterAuthRow): Promise<void> {
    if (!ba.password) return;
    const kind = hashKind(ba.password);
    if (kind !== "bcrypt") {
      throw new Error(`the Better Auth password hash is ${kind ?? "unknown"}, not bcrypt`);
    }
    await this.db.transaction(async (tx) => {
      await tx.query(`SELECT set_config($1, 'better_auth', true)`, [SYNC_ORIGIN_SETTING]);
      const changed = await tx.query(
        `UPDATE auth.users SET encrypted_password = $2, updated_at = now()
          WHERE id = $1::uuid AND encrypted_password IS DISTINCT FROM $2`,
        [userId, ba.password],
      );
      // A new password ends every Supabase session the old one opened, as GoTrue's own
      // User.UpdatePassword does ("log out user from all sessions to ensure reauthentication
      // after password change", supabase/auth internal/models/user.go).
      if (changed.rowCount > 0) await endSupabaseSessions(tx, userId);
    });
  }

  async #settleEchoes(userId: string, floor: number): Promise<void> {
    await this.db.query(
      `UPDATE identity_change_outbox SET applied_at = now(), outcome = 'echo'
        WHERE direction = 'to_better_auth' AND user_id = $1::uuid AND applied_at IS NULL
          AND id > $2`,
      [userId, floor],
    );
  }

  async #lastOutboxId(): Promise<number> {
    const { rows } = await this.db.query<{ id: number | string }>(
      `SELECT coalesce(max(id), 0) AS id FROM identity_change_outbox`,
    );
    return Number(rows[0]?.id ?? 0);
  }

  async #betterAuth(userId: string): Promise<BetterAuthRow | null> {
    const { rows } = await this.db.query<BetterAuthRow>(
      `SELECT u.email, u."emailVerified", u."userMetadata", u.banned, u."banExpires", a.password
         FROM "user" u
         LEFT JOIN account a ON a."userId" = u.id AND a."providerId" = 'credential'
        WHERE u.id = $1::uuid`,
      [userId],
    );
    return rows[0] ?? null;
  }

  async #supabase(userId: string): Promise<SupabaseRow | null> {
    const { rows } = await this.db.query<SupabaseRow>(
      `SELECT email, email_confirmed_at, banned_until, deleted_at FROM auth.users
        WHERE id = $1::uuid`,
      [userId],
    );
    return rows[0] ?? null;
  }

  /** A GoTrue admin call; an error answer throws (status and code only, never the body). */
  async #call(
    what: string,
    call: () => Promise<{ error: { status?: number; code?: string } | null }>,
    acceptable: readonly number[] = [],
  ): Promise<void> {
    const { error } = await call();
    if (error && !acceptable.includes(error.status ?? 0)) {
      throw new GoTrueError(`${what} answered ${error.status ?? "?"} ${error.code ?? ""}`.trim());
    }
  }
}
