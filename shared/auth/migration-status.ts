/**
 * Per-user migration bookkeeping: user_migration_status (which systems hold the user, whether the
 * two copies were validated) and migrated_users (how the user reached Better Auth).
 * Every write is an idempotent upsert keyed on the user id, so retries and concurrent requests
 * for the same user converge on one row.
 */
import type { SqlClient } from "../db/sql-client.ts";
import type { AuthSystem } from "./types.ts";

export type MigratedVia = "lazy" | "dual_write" | "reconciliation";

export interface UserMigrationStatus {
  readonly userId: string;
  readonly email: string;
  readonly supabaseMigrated: boolean;
  readonly betterAuthMigrated: boolean;
  readonly dataValidated: boolean;
  readonly supabaseMigratedAt: Date | null;
  readonly betterAuthMigratedAt: Date | null;
  readonly validatedAt: Date | null;
  readonly lastError: string | null;
}

export interface MigrationStats {
  readonly total: number;
  readonly supabaseMigrated: number;
  readonly betterAuthMigrated: number;
  readonly fullyMigrated: number;
  /** Percentage of users present in both systems and validated. */
  readonly completionRate: number;
}

const COLUMN: Record<AuthSystem, { flag: string; at: string }> = {
  supabase: { flag: "supabase_migrated", at: "supabase_migrated_at" },
  better_auth: { flag: "better_auth_migrated", at: "better_auth_migrated_at" },
};

export class MigrationStatusRepository {
  constructor(private readonly db: SqlClient) {}

  /** Records that `system` holds the user (keeps the first timestamp). */
  async markPresent(userId: string, email: string, systems: readonly AuthSystem[]): Promise<void> {
    if (systems.length === 0) return;
    const sets = systems.map((system) => {
      const { flag, at } = COLUMN[system];
      return `${flag} = true, ${at} = COALESCE(user_migration_status.${at}, now())`;
    });
    const insertFlags = (["supabase", "better_auth"] as const).map((system) =>
      systems.includes(system)
    );
    await this.db.query(
      `INSERT INTO user_migration_status
         (user_id, email, supabase_migrated, supabase_migrated_at,
          better_auth_migrated, better_auth_migrated_at)
       VALUES ($1, $2, $3, CASE WHEN $3 THEN now() END, $4, CASE WHEN $4 THEN now() END)
       ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, ${sets.join(", ")},
         updated_at = now()`,
      [userId, email, insertFlags[0], insertFlags[1]],
    );
  }

  /** Records that `system` no longer holds the user (a compensated half-write). */
  async markAbsent(userId: string, system: AuthSystem): Promise<void> {
    const { flag, at } = COLUMN[system];
    await this.db.query(
      `UPDATE user_migration_status
          SET ${flag} = false, ${at} = NULL, data_validated = false, validated_at = NULL,
              updated_at = now()
        WHERE user_id = $1`,
      [userId],
    );
  }

  /** Stores the outcome of comparing the two copies. */
  async markValidated(
    userId: string,
    email: string,
    valid: boolean,
    problem?: string,
  ): Promise<void> {
    await this.db.query(
      `INSERT INTO user_migration_status (user_id, email, data_validated, validated_at, last_error)
       VALUES ($1, $2, $3, CASE WHEN $3 THEN now() END, $4)
       ON CONFLICT (user_id) DO UPDATE SET data_validated = $3,
         validated_at = CASE WHEN $3 THEN now() END, last_error = $4, updated_at = now()`,
      [userId, email, valid, problem ?? null],
    );
  }

  async recordError(userId: string, email: string, message: string): Promise<void> {
    await this.db.query(
      `INSERT INTO user_migration_status (user_id, email, last_error) VALUES ($1, $2, $3)
       ON CONFLICT (user_id) DO UPDATE SET last_error = $3, updated_at = now()`,
      [userId, email, message],
    );
  }

  /** migrated_users: first writer wins (a user is migrated once, by one route). */
  async recordMigrated(userId: string, email: string, via: MigratedVia): Promise<void> {
    await this.db.query(
      `INSERT INTO migrated_users (original_id, new_auth_id, email, migrated_via)
       VALUES ($1::uuid::text, $1::uuid, $2, $3)
       ON CONFLICT DO NOTHING`,
      [userId, email, via],
    );
  }

  async get(userId: string): Promise<UserMigrationStatus | null> {
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT user_id::text, email, supabase_migrated, better_auth_migrated, data_validated,
              supabase_migrated_at, better_auth_migrated_at, validated_at, last_error
         FROM user_migration_status WHERE user_id = $1`,
      [userId],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      userId: String(row.user_id),
      email: String(row.email),
      supabaseMigrated: row.supabase_migrated === true,
      betterAuthMigrated: row.better_auth_migrated === true,
      dataValidated: row.data_validated === true,
      supabaseMigratedAt: (row.supabase_migrated_at as Date | null) ?? null,
      betterAuthMigratedAt: (row.better_auth_migrated_at as Date | null) ?? null,
      validatedAt: (row.validated_at as Date | null) ?? null,
      lastError: (row.last_error as string | null) ?? null,
    };
  }

  async stats(): Promise<MigrationStats> {
    const { rows } = await this.db.query<Record<string, number>>(
      `SELECT count(*) AS total,
              count(*) FILTER (WHERE supabase_migrated) AS supabase,
              count(*) FILTER (WHERE better_auth_migrated) AS better_auth,
              count(*) FILTER (WHERE supabase_migrated AND better_auth_migrated AND data_validated)
                AS fully
         FROM user_migration_status`,
    );
    const row = rows[0] ?? { total: 0, supabase: 0, better_auth: 0, fully: 0 };
    const total = Number(row.total);
    const fully = Number(row.fully);
    return {
      total,
      supabaseMigrated: Number(row.supabase),
      betterAuthMigrated: Number(row.better_auth),
      fullyMigrated: fully,
      completionRate: total > 0 ? (fully / total) * 100 : 0,
    };
  }
}
