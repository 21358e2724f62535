/**
 * Migration stages of the auth functions: the sequence an operator moves through, and what each
 * stage means for the requests of one function. The stage decides WHICH systems are written and
 * read; the rollout percentage and the canary still decide WHO is on the new path within it.
 *
 *   supabase_only → shadow → dual_write → better_auth_primary → better_auth_only → complete
 *
 * | stage               | signup (writes)                        | login (reads)                              |
 * |---------------------|----------------------------------------|--------------------------------------------|
 * | supabase_only       | Supabase only (either path)            | Supabase only (either path)                |
 * | shadow              | original; routed users shadowed (plan) | original; routed users shadowed (if the    |
 * |                     |                                        | operation allows a shadow)                 |
 * | dual_write          | EVERY signup written to both, Supabase | routed users on the abstracted path (lazy  |
 * |                     | primary (a canary user: Better Auth)   | copy into Better Auth), Supabase is the    |
 * |                     |                                        | system of record (a canary: Better Auth)   |
 * | better_auth_primary | every signup written to both; Better   | routed users: Better Auth is the system of |
 * |                     | Auth primary for routed users          | record once copied and in sync             |
 * | better_auth_only    | every signup: Better Auth only         | everyone on Better Auth; a user not copied |
 * | complete            | (same, final)                          | yet is verified against Supabase and copied|
 *
 * "Routed" is the migrator's decision (shared/migrator/routing.ts): kill switch → canary →
 * sticky rollout. The kill switch (force_original) still beats every stage: it is the emergency
 * lever, and the change capture (shared/sync) carries a Supabase-only write over to Better Auth.
 * Whichever system the stage names, the system-of-record rule (shared/identity/) decides per
 * user who answers, and its refusals are final.
 *
 * Which functions have stages: the two auth functions. Their env seed (no row yet) is derived
 * from MIGRATION_MODE and USE_BETTER_AUTH, so a deployment that set those keeps its meaning.
 */
import type { MigrationMode } from "../config/env.ts";
import type { ImplementationPath } from "../migrator/types.ts";

export const STAGES = [
  "supabase_only",
  "shadow",
  "dual_write",
  "better_auth_primary",
  "better_auth_only",
  "complete",
] as const;

export type MigrationStage = (typeof STAGES)[number];

/** The functions whose requests a stage governs, and what kind of work each does. */
export const STAGED_FUNCTIONS = { signup: "writes", login: "reads" } as const;
export type StagedFunction = keyof typeof STAGED_FUNCTIONS;

export function isStage(value: unknown): value is MigrationStage {
  return typeof value === "string" && (STAGES as readonly string[]).includes(value);
}

export function isStagedFunction(name: string): name is StagedFunction {
  return Object.hasOwn(STAGED_FUNCTIONS, name);
}

export function stageIndex(stage: MigrationStage): number {
  return STAGES.indexOf(stage);
}

/** The stage a function is in while it has no row: seeded from the environment only. */
export function initialStage(env: { MIGRATION_MODE: MigrationMode; USE_BETTER_AUTH: boolean }) {
  switch (env.MIGRATION_MODE) {
    case "supabase_only":
      return "supabase_only";
    case "dual_write":
      return env.USE_BETTER_AUTH ? "better_auth_primary" : "dual_write";
    case "better_auth_only":
      return "better_auth_only";
  }
}

/** What a stage means for the requests of one function. */
export interface StageBehaviour {
  readonly stage: MigrationStage;
  /** The mode the abstracted auth service runs in (shared/auth/dual-write-auth-service.ts). */
  readonly mode: MigrationMode;
  /** Routed users get Better Auth as primary / system of record (else only canary users). */
  readonly betterAuthPrimary: boolean;
  /**
   * Every request of the function goes this way whatever the rollout (the kill switch still
   * wins): the original in shadow; the abstracted path for writes from dual write on (so EVERY
   * signup is written twice) and for reads from better_auth_only on.
   */
  readonly pin?: ImplementationPath;
  /** Requests the rollout/canary route to the abstracted path are served by the original and shadowed. */
  readonly shadowRouted: boolean;
}

export function stageBehaviour(stage: MigrationStage, fn: StagedFunction): StageBehaviour {
  const writes = STAGED_FUNCTIONS[fn] === "writes";
  switch (stage) {
    case "supabase_only":
      // No pin: routed users exercise the new code path, which writes and reads Supabase only.
      return { stage, mode: "supabase_only", betterAuthPrimary: false, shadowRouted: false };
    case "shadow":
      // Only shadow (plan) runs reach the abstracted path; dual_write lets a plan check both.
      return {
        stage,
        mode: "dual_write",
        betterAuthPrimary: false,
        pin: "original",
        shadowRouted: true,
      };
    case "dual_write":
      return {
        stage,
        mode: "dual_write",
        betterAuthPrimary: false,
        pin: writes ? "abstracted" : undefined,
        shadowRouted: false,
      };
    case "better_auth_primary":
      return {
        stage,
        mode: "dual_write",
        betterAuthPrimary: true,
        pin: writes ? "abstracted" : undefined,
        shadowRouted: false,
      };
    case "better_auth_only":
    case "complete":
      return {
        stage,
        mode: "better_auth_only",
        betterAuthPrimary: true,
        pin: "abstracted",
        shadowRouted: false,
      };
  }
}

/**
 * The primary a request on the abstracted path gets in this stage: Better Auth in
 * better_auth_only/complete; in the dual-write stages Better Auth for a routed user when the
 * stage makes Better Auth primary, and for a canary user always; otherwise Supabase.
 */
export function stagePrimary(
  behaviour: StageBehaviour,
  routed: boolean,
  canary: boolean,
): "supabase" | "better_auth" {
  if (behaviour.mode === "better_auth_only") return "better_auth";
  if (behaviour.mode !== "dual_write" || behaviour.pin === "original") return "supabase";
  return canary || (routed && behaviour.betterAuthPrimary) ? "better_auth" : "supabase";
}
