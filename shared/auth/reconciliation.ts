/**
 * Repairs what dual write could not finish, from auth_divergences:
 * - missing_user: creates the user in the system that lacks it (same id, metadata, password hash);
 * - aborted_signup: deletes whatever a failed signup left in either system.
 * data_mismatch and id_conflict rows need a human decision and are only reported.
 *
 * Exposed for a route (POST /signup/reconcile) and for migrate-batch; safe to run concurrently
 * with itself and with live traffic: every step is idempotent.
 */
import type { BetterAuthService } from "./better-auth-service.ts";
import type { Divergence, DivergenceRepository } from "./divergences.ts";
import type { MigrationStatusRepository } from "./migration-status.ts";
import type { LoginRateLimiter } from "./rate-limiter.ts";
import type { SupabaseAuthService } from "./supabase-auth-service.ts";
import type { AuthSystem } from "./types.ts";
import type { UserSync } from "./user-sync.ts";

export interface ReconciliationDeps {
  readonly supabase: SupabaseAuthService;
  readonly betterAuth: BetterAuthService;
  readonly divergences: DivergenceRepository;
  readonly status: MigrationStatusRepository;
  readonly sync: UserSync;
  readonly rateLimiter?: LoginRateLimiter;
}

export interface ReconciliationOptions {
  /** Rows examined per run (default 100). */
  readonly limit?: number;
  /** A row failing this many times is parked as 'failed' (default 5). */
  readonly maxAttempts?: number;
}

export interface ReconciliationReport {
  readonly examined: number;
  readonly resolved: number;
  readonly failed: number;
  /** Open rows left (including data_mismatch / id_conflict waiting for an operator). */
  readonly remainingOpen: number;
  readonly outcomes: ReadonlyArray<{ id: number; kind: string; result: string }>;
}

export async function reconcileDivergences(
  deps: ReconciliationDeps,
  options: ReconciliationOptions = {},
): Promise<ReconciliationReport> {
  const maxAttempts = options.maxAttempts ?? 5;
  const rows = await deps.divergences.listOpen({
    limit: options.limit ?? 100,
    kinds: ["missing_user", "aborted_signup"],
    maxAttempts,
  });
  const outcomes: { id: number; kind: string; result: string }[] = [];
  let resolved = 0;
  let failed = 0;
  for (const row of rows) {
    try {
      const result = await repair(deps, row);
      await deps.divergences.markResolved(row.id, result);
      outcomes.push({ id: row.id, kind: row.kind, result });
      resolved++;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await deps.divergences.markAttemptFailed(row.id, message, maxAttempts);
      outcomes.push({ id: row.id, kind: row.kind, result: `failed: ${message}` });
      failed++;
    }
  }
  await deps.rateLimiter?.purgeStale().catch(() => 0);
  return {
    examined: rows.length,
    resolved,
    failed,
    remainingOpen: await deps.divergences.countOpen(),
    outcomes,
  };
}

/** Returns a note for the resolved row; throws when the row must be retried. */
async function repair(deps: ReconciliationDeps, row: Divergence): Promise<string> {
  if (row.kind === "aborted_signup") {
    const removed: string[] = [];
    for (const system of ["supabase", "better_auth"] as const) {
      if (await directory(deps, system).deleteUser(row.userId)) removed.push(system);
      await deps.status.markAbsent(row.userId, system);
    }
    return removed.length > 0 ? `removed from ${removed.join(" and ")}` : "nothing had landed";
  }
  const missing = row.missingSide!;
  let outcome: Awaited<ReturnType<UserSync["copy"]>>;
  try {
    outcome = await deps.sync.copy(row.userId, missing, "reconciliation", {
      passwordHash: missing === "supabase" ? row.passwordHash : undefined,
    });
  } catch (error) {
    if (missing === "supabase" && createdMeanwhile500(error)) {
      // Hosted GoTrue answers admin createUser with an id that already exists with 500
      // `unexpected_failure` ("Database error creating new user": supabase/auth
      // internal/api/admin.go adminUserCreate wraps every insert error so), not a 422 — e.g. when
      // a lazy migration or another reconciler created the user between our look-up and our
      // create. A 500 says nothing by itself: only a user now found under this very id counts.
      if (await deps.supabase.findUserById(row.userId)) {
        await deps.status.markPresent(row.userId, row.email, ["supabase", "better_auth"]);
        return "already present in supabase";
      }
    }
    throw error;
  }
  switch (outcome) {
    case "created":
      return `created in ${missing}`;
    case "exists":
      return `already present in ${missing}`;
    case "source_missing":
      // Deleted from the system that had it since: nothing left to copy.
      return "source user no longer exists";
    case "conflict":
      throw new Error(`the email belongs to a different user id in ${missing}`);
  }
}

/** A 500 from Auth, as supabase-auth-service.ts reports it (the AuthApiError is the cause). */
function createdMeanwhile500(error: unknown): boolean {
  const cause = (error as { cause?: { status?: unknown } } | null)?.cause;
  return cause?.status === 500;
}

function directory(deps: ReconciliationDeps, system: AuthSystem) {
  return system === "supabase" ? deps.supabase : deps.betterAuth;
}
