/**
 * EdgeFunctionMigrator policies for signup and login.
 *
 * - signup is a write. Its shadow is off: a plan run of the other implementation after the
 *   primary committed would always see the new user and answer 422, so it would only ever
 *   record false mismatches. Cross-system checking of a signup is MIGRATION_VALIDATION's job
 *   (the dual-write service compares the two created users). Fallback happens only when the
 *   abstracted attempt claimed no commit (the migrator's commit gate).
 * - login is idempotent (a repeated attempt only opens another session; lazy migration is
 *   itself idempotent), so a failed or slow abstracted login falls back to the original.
 *   It has no plan form, hence no shadow.
 */
import type { MigratorPolicy, OperationPolicy } from "../migrator/types.ts";

/** Ids, timestamps and every session field differ between any two systems and runs. */
const AUTH_VOLATILE_PATHS = ["user.id", "user.created_at", "session.*"];

function policy(functionName: string, operation: OperationPolicy): MigratorPolicy {
  return {
    functionName,
    classify: () => operation,
    volatilePaths: AUTH_VOLATILE_PATHS,
    redactKeys: ["email"],
  };
}

export const SIGNUP_POLICY = policy("signup", {
  name: "auth.signup",
  safety: "write",
  shadow: "off",
});

export const LOGIN_POLICY = policy("login", {
  name: "auth.login",
  safety: "idempotent",
  shadow: "off",
});
