/**
 * DI tokens of the auth area. The lead wires registerAuth() (register.ts) into the app container.
 */
import type { TotpLoginStepDeps } from "./totp-login-step.ts";
import { token } from "../di/container.ts";
import type { AccessTokenSigning, AccessTokenVerifierConfig } from "./access-tokens.ts";
import type { BetterAuthInstance } from "./better-auth.ts";
import type { BetterAuthService } from "./better-auth-service.ts";
import type { DualWriteAuthService } from "./dual-write-auth-service.ts";
import type { AuthHandlerServices } from "./handlers.ts";
import type { AuthEventSink } from "./events.ts";
import type { MigrationStatusRepository } from "./migration-status.ts";
import type { PasswordPolicy } from "./password-policy.ts";
import type { ReconciliationOptions, ReconciliationReport } from "./reconciliation.ts";
import type { SupabaseAuthService } from "./supabase-auth-service.ts";

/** The IAuthService the signup/login functions use (mode-aware, dual write, lazy migration). */
export const AuthServiceToken = token<DualWriteAuthService>("auth.service");
/** Better Auth itself, for anything the service does not cover. */
export const BetterAuthToken = token<BetterAuthInstance>("auth.betterAuth");
export const BetterAuthServiceToken = token<BetterAuthService>("auth.betterAuthService");
export const SupabaseAuthServiceToken = token<SupabaseAuthService>("auth.supabaseAuthService");
/** How every function verifies a bearer token from either system (verifyAccessToken). */
export const AccessTokenVerifierToken = token<AccessTokenVerifierConfig>("auth.tokenVerifier");
export const AccessTokenSigningToken = token<AccessTokenSigning>("auth.tokenSigning");
export const PasswordPolicyToken = token<PasswordPolicy>("auth.passwordPolicy");
export const MigrationStatusToken = token<MigrationStatusRepository>("auth.migrationStatus");
export const AuthEventSinkToken = token<AuthEventSink>("auth.events");
/** Runs one reconciliation pass (for POST /signup/reconcile and migrate-batch). */
export const ReconcileToken = token<
  (options?: ReconciliationOptions) => Promise<ReconciliationReport>
>(
  "auth.reconcile",
);
/** The two services behind the signup/login handlers (handlers.ts): original and abstracted. */
export const AuthHandlerServicesToken = token<AuthHandlerServices>("auth.handlerServices");
/** The TOTP second step of a Better Auth login (totp-login-step.ts). */
export const TotpLoginStepToken = token<TotpLoginStepDeps>("auth.totpLoginStep");
