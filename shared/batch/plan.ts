/**
 * A batch plan: what a run would do to each user of a batch — migrate (with the exact user row
 * and accounts it would write), skip or reject (with the reason). Both implementations produce
 * it: the set-based SQL (planScope) and the per-user original (original.ts), so the migrator's
 * plan mode can compare them; any difference is a mismatch. Plans never carry password hashes,
 * only whether an account carries one.
 */
import type { SqlClient } from "../db/sql-client.ts";
import { actionOf, type PlanAction } from "./rules.ts";
import { type ClassifyContext, planStatement } from "./statements.ts";

export interface PlannedAccount {
  readonly providerId: string;
  readonly accountId: string;
  readonly hasPassword: boolean;
}

export interface PlannedUserRow {
  readonly email: string;
  readonly name: string;
  readonly emailVerified: boolean;
  readonly image: string | null;
  readonly userMetadata: Record<string, unknown>;
  readonly appMetadata: Record<string, unknown>;
  /** ISO-8601 UTC with milliseconds. */
  readonly createdAt: string;
  // The admin, anonymous, phone-number and two-factor plugin fields, present only when they
  // differ from the column defaults (so a plain user's row reads the same on both paths).
  readonly role?: string;
  readonly banned?: true;
  readonly banReason?: string;
  /** Absent for a ban without expiry. */
  readonly banExpires?: string;
  readonly isAnonymous?: true;
  readonly phoneNumber?: string;
  readonly phoneNumberVerified?: boolean;
  readonly twoFactorEnabled?: true;
  readonly invitedAt?: string;
  readonly lastSignInAt?: string;
}

export interface PlannedUser {
  readonly id: string;
  readonly action: PlanAction;
  readonly reason: string | null;
  /** Present when action is "migrate". */
  readonly user?: PlannedUserRow;
  readonly accounts?: readonly PlannedAccount[];
}

export interface BatchPlan {
  /** Sorted by id. */
  readonly users: readonly PlannedUser[];
}

interface PlanRow {
  id: string;
  reason: string | null;
  email: string | null;
  name: string | null;
  email_verified: boolean | null;
  image: string | null;
  user_metadata: Record<string, unknown> | null;
  app_metadata: Record<string, unknown> | null;
  created_at: string | null;
  accounts: PlannedAccount[] | null;
  extras: Partial<PlannedUserRow> | null;
}

export function plannedUserFromRow(row: PlanRow): PlannedUser {
  const action = actionOf(row.reason);
  if (action !== "migrate") return { id: row.id, action, reason: row.reason };
  return {
    id: row.id,
    action,
    reason: null,
    user: {
      email: row.email!,
      name: row.name!,
      emailVerified: row.email_verified!,
      image: row.image,
      userMetadata: row.user_metadata!,
      appMetadata: row.app_metadata!,
      createdAt: row.created_at!,
      ...row.extras,
    },
    accounts: row.accounts ?? [],
  };
}

/** The set-based plan of the given source ids (those that exist in the source). */
export async function planScope(
  db: SqlClient,
  context: ClassifyContext,
  ids: readonly string[],
): Promise<BatchPlan> {
  const statement = await planStatement(context, { kind: "ids", ids });
  const { rows } = await db.query<PlanRow>(statement.sql, statement.params);
  return { users: rows.map(plannedUserFromRow) };
}

/** JSON with object keys sorted at every depth: equal values give equal strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort((
          [a],
          [b],
        ) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    }
    return v;
  });
}

export interface PlanDifference {
  readonly id: string;
  /** Top-level fields that differ ("missing" when one plan lacks the user). */
  readonly fields: readonly string[];
}

export interface PlanComparison {
  readonly equal: boolean;
  readonly compared: number;
  readonly differences: readonly PlanDifference[];
}

export function comparePlans(a: BatchPlan, b: BatchPlan): PlanComparison {
  const left = new Map(a.users.map((user) => [user.id, user]));
  const right = new Map(b.users.map((user) => [user.id, user]));
  const ids = [...new Set([...left.keys(), ...right.keys()])].sort();
  const differences: PlanDifference[] = [];
  for (const id of ids) {
    const x = left.get(id);
    const y = right.get(id);
    if (!x || !y) {
      differences.push({ id, fields: ["missing"] });
      continue;
    }
    const fields = (["action", "reason", "user", "accounts"] as const).filter((field) =>
      canonicalJson(x[field] ?? null) !== canonicalJson(y[field] ?? null)
    );
    if (fields.length > 0) differences.push({ id, fields });
  }
  return { equal: differences.length === 0, compared: ids.length, differences };
}
