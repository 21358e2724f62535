/**
 * Auth settings from the validated environment (shared/config/env.ts), in one place.
 */
import type { Env } from "../config/env.ts";
import type { DualWriteSettings } from "./dual-write-auth-service.ts";
import { DEFAULT_PASSWORD_POLICY, type PasswordPolicy } from "./password-policy.ts";

export type AuthEnv = Pick<
  Env,
  | "MIGRATION_MODE"
  | "USE_BETTER_AUTH"
  | "MIGRATION_VALIDATION"
  | "MIGRATION_FALLBACK_TIMEOUT"
  | "CANARY_ENABLED"
  | "CANARY_PERCENTAGE"
  | "CANARY_USER_SELECTION"
  | "CANARY_WHITELIST"
  | "CANARY_EMAIL_DOMAINS"
>;

export function dualWriteSettingsFromEnv(
  env: AuthEnv,
  overrides: { passwordPolicy?: PasswordPolicy; failureFloorMs?: number; lazyMigration?: boolean } =
    {},
): DualWriteSettings {
  const normalise = (
    values: readonly string[],
  ) => [...new Set(values.map((value) => value.trim().toLowerCase()).filter(Boolean))];
  return {
    mode: env.MIGRATION_MODE,
    useBetterAuth: env.USE_BETTER_AUTH,
    validation: env.MIGRATION_VALIDATION,
    fallbackTimeoutMs: env.MIGRATION_FALLBACK_TIMEOUT,
    canary: {
      enabled: env.CANARY_ENABLED,
      percentage: env.CANARY_PERCENTAGE,
      selection: env.CANARY_USER_SELECTION,
      whitelist: normalise(env.CANARY_WHITELIST),
      emailDomains: normalise(env.CANARY_EMAIL_DOMAINS).map((domain) => domain.replace(/^@/, "")),
    },
    passwordPolicy: overrides.passwordPolicy ?? DEFAULT_PASSWORD_POLICY,
    failureFloorMs: overrides.failureFloorMs,
    lazyMigration: overrides.lazyMigration,
  };
}
