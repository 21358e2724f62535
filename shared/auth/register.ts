/**
 * registerAuth(container): the auth area's services on the app container. Needs ConfigToken and
 * SqlToken (the shared database: Better Auth's tables, auth.users and the tracking tables).
 *
 * Token design (see access-tokens.ts, register-access-tokens.ts): Better Auth logins get a JWT with
 * GoTrue's claims, signed as ACCESS_TOKEN_SIGNING says — ES256 with ACCESS_TOKEN_SIGNING_JWK (a
 * key imported into the project's JWT signing keys, so Supabase itself accepts the tokens), HS256
 * with the project's legacy secret (`hs256-project`, also accepted by Supabase), or HS256 with a
 * key derived from BETTER_AUTH_SECRET (`hs256`, only our functions accept those).
 * Supabase tokens are verified with `supabaseJwtSecret` (legacy HS256; the stand-in's secret
 * locally), else the JWKS, else Auth's /user endpoint.
 * Auth events go to `options.events`, else to the project logger (LoggerToken, when registered)
 * and Sentry's recordAuthEvent.
 */
import type { Container } from "../di/container.ts";
import { ConfigToken, SqlToken } from "../di/tokens.ts";
import { type AccessTokenOptions, registerAccessTokens } from "./register-access-tokens.ts";
import { createBetterAuth } from "./better-auth.ts";
import { BetterAuthService } from "./better-auth-service.ts";
import { DivergenceRepository } from "./divergences.ts";
import { DualWriteAuthService } from "./dual-write-auth-service.ts";
import { LoggerToken } from "../observability/tokens.ts";
import { recordAuthEvent } from "../observability/sentry.ts";
import { type AuthEventSink, fanOut, jsonLogAuthEventSink, loggerAuthEventSink } from "./events.ts";
import { MigrationStatusRepository } from "./migration-status.ts";
import { DEFAULT_PASSWORD_POLICY, type PasswordPolicy } from "./password-policy.ts";
import { LoginRateLimiter, type RateLimitSettings } from "./rate-limiter.ts";
import { reconcileDivergences } from "./reconciliation.ts";
import { dualWriteSettingsFromEnv } from "./settings.ts";
import { SignupClaims } from "./signup-claims.ts";
import { SupabaseAuthService } from "./supabase-auth-service.ts";
import {
  AccessTokenSigningToken,
  AccessTokenVerifierToken,
  AuthEventSinkToken,
  AuthHandlerServicesToken,
  AuthServiceToken,
  BetterAuthServiceToken,
  BetterAuthToken,
  MigrationStatusToken,
  PasswordPolicyToken,
  ReconcileToken,
  SupabaseAuthServiceToken,
  TotpLoginStepToken,
} from "./tokens.ts";
import { UserSync } from "./user-sync.ts";
import { SyncCompletionToken } from "../sync/tokens.ts";
import { SystemOfRecord } from "../identity/system-of-record.ts";
import { routingProbe } from "../identity/routing-probe.ts";
import { SystemOfRecordToken } from "../identity/tokens.ts";
import { MigrationRuntimeToken } from "../migrator/tokens.ts";
import type { StagedFunction } from "../cutover/stages.ts";

export interface AuthRegistrationOptions extends AccessTokenOptions {
  readonly passwordPolicy?: PasswordPolicy;
  readonly rateLimits?: RateLimitSettings;
  /** Default: one JSON log line per event; the Sentry helpers can be fanned in here. */
  readonly events?: AuthEventSink;
  readonly failureFloorMs?: number;
}

export function registerAuth(
  container: Container,
  options: AuthRegistrationOptions = {},
): Container {
  container.value(PasswordPolicyToken, options.passwordPolicy ?? DEFAULT_PASSWORD_POLICY);
  // Default: the project logger (or JSON lines) plus Sentry measurements (a no-op without a DSN).
  container.register(AuthEventSinkToken, async (c) => {
    if (options.events) return options.events;
    const log = c.has(LoggerToken)
      ? loggerAuthEventSink(await c.get(LoggerToken))
      : jsonLogAuthEventSink;
    return fanOut(log, recordAuthEvent);
  });

  // Access tokens alone (no Better Auth) are all the coordinator needs: kept in their own module
  // so that function's deploy graph does not reach Better Auth.
  registerAccessTokens(container, options);

  container.register(BetterAuthToken, async (c) => {
    const { env } = await c.get(ConfigToken);
    if (!env.BETTER_AUTH_SECRET) throw new Error("BETTER_AUTH_SECRET is required for Better Auth");
    return createBetterAuth({
      db: await c.get(SqlToken),
      secret: env.BETTER_AUTH_SECRET,
      baseURL: env.BETTER_AUTH_URL,
      passwordPolicy: await c.get(PasswordPolicyToken),
      log: c.has(LoggerToken)
        ? (await c.get(LoggerToken)).child({ component: "better-auth" })
        : undefined,
    });
  });

  container.register(TotpLoginStepToken, async (c) => ({
    auth: await c.get(BetterAuthToken),
    db: await c.get(SqlToken),
    signing: await c.get(AccessTokenSigningToken),
    rateLimiter: new LoginRateLimiter(await c.get(SqlToken), options.rateLimits),
  }));

  container.register(BetterAuthServiceToken, async (c) =>
    new BetterAuthService({
      auth: await c.get(BetterAuthToken),
      db: await c.get(SqlToken),
      signing: await c.get(AccessTokenSigningToken),
      tokens: await c.get(AccessTokenVerifierToken),
      passwordPolicy: await c.get(PasswordPolicyToken),
      events: await c.get(AuthEventSinkToken),
      // Shared with the sync admin route, so a declared completion applies here at once.
      completion: c.has(SyncCompletionToken) ? await c.get(SyncCompletionToken) : undefined,
    }));

  container.register(SupabaseAuthServiceToken, async (c) => {
    const config = await c.get(ConfigToken);
    const { url, anonKey, serviceKey } = config.supabase;
    if (!url || !anonKey) throw new Error("SUPABASE_URL and SUPABASE_ANON_KEY are required");
    return new SupabaseAuthService({
      url,
      anonKey,
      serviceKey,
      sql: await c.get(SqlToken),
      passwordPolicy: await c.get(PasswordPolicyToken),
      tokens: await c.get(AccessTokenVerifierToken),
    });
  });

  container.register(
    MigrationStatusToken,
    async (c) => new MigrationStatusRepository(await c.get(SqlToken)),
  );

  // One rule for both login implementations: built from the real mode (the original service runs
  // as supabase_only), with the login function's routing when the migrator runtime is there.
  container.register(SystemOfRecordToken, async (c) => {
    const config = await c.get(ConfigToken);
    const env = config.env;
    return new SystemOfRecord({
      mode: env.MIGRATION_MODE,
      useBetterAuth: env.USE_BETTER_AUTH,
      supabase: env.MIGRATION_MODE !== "better_auth_only" || Boolean(config.supabase.url),
      betterAuth: env.MIGRATION_MODE !== "supabase_only" || Boolean(env.BETTER_AUTH_SECRET),
    }, {
      db: await c.get(SqlToken),
      routing: c.has(MigrationRuntimeToken)
        ? routingProbe((await c.get(MigrationRuntimeToken)).routing)
        : undefined,
    });
  });

  container.register(AuthServiceToken, async (c) => {
    const config = await c.get(ConfigToken);
    const sql = await c.get(SqlToken);
    const settings = dualWriteSettingsFromEnv(config.env, {
      passwordPolicy: await c.get(PasswordPolicyToken),
      failureFloorMs: options.failureFloorMs,
    });
    const needsSupabase = settings.mode !== "better_auth_only" || Boolean(config.supabase.url);
    const needsBetterAuth = settings.mode !== "supabase_only" ||
      Boolean(config.env.BETTER_AUTH_SECRET);
    const runtime = c.has(MigrationRuntimeToken) ? await c.get(MigrationRuntimeToken) : null;
    const service = new DualWriteAuthService(settings, {
      supabase: needsSupabase ? await c.get(SupabaseAuthServiceToken) : undefined,
      betterAuth: needsBetterAuth ? await c.get(BetterAuthServiceToken) : undefined,
      status: await c.get(MigrationStatusToken),
      divergences: new DivergenceRepository(sql),
      rateLimiter: new LoginRateLimiter(sql, options.rateLimits),
      claims: new SignupClaims(sql),
      tokens: await c.get(AccessTokenVerifierToken),
      events: await c.get(AuthEventSinkToken),
      identity: await c.get(SystemOfRecordToken),
      // The migration stage (shared/cutover) and the per-backend breaker come from the
      // function's migrator runtime: the stage through the runtime flags cache.
      ...(runtime && {
        stages: async (fn: StagedFunction) => (await runtime.routing.configFor(fn)).config.stage,
        ...(runtime.breaker && { breaker: runtime.breaker }),
      }),
    });
    return service;
  }, (service) => service.drain());

  container.register(AuthHandlerServicesToken, async (c) => {
    const config = await c.get(ConfigToken);
    const sql = await c.get(SqlToken);
    // The original implementation: supabase-js only, behind the same guards (policy, limiter,
    // failure floor, events). Canary routing and Better Auth are for the abstracted one.
    const settings = dualWriteSettingsFromEnv(config.env, {
      passwordPolicy: await c.get(PasswordPolicyToken),
      failureFloorMs: options.failureFloorMs,
    });
    const original = new DualWriteAuthService(
      { ...settings, mode: "supabase_only", canary: { ...settings.canary, enabled: false } },
      {
        supabase: await c.get(SupabaseAuthServiceToken),
        status: await c.get(MigrationStatusToken),
        divergences: new DivergenceRepository(sql),
        rateLimiter: new LoginRateLimiter(sql, options.rateLimits),
        claims: new SignupClaims(sql),
        tokens: await c.get(AccessTokenVerifierToken),
        events: await c.get(AuthEventSinkToken),
        identity: await c.get(SystemOfRecordToken),
      },
    );
    return { original, abstracted: await c.get(AuthServiceToken) };
  }, (services) => services.original.drain());

  container.register(ReconcileToken, async (c) => {
    const config = await c.get(ConfigToken);
    const sql = await c.get(SqlToken);
    const supabase = await c.get(SupabaseAuthServiceToken);
    const betterAuth = await c.get(BetterAuthServiceToken);
    const status = await c.get(MigrationStatusToken);
    const divergences = new DivergenceRepository(sql);
    const sync = new UserSync({
      supabase,
      betterAuth,
      status,
      divergences,
      events: await c.get(AuthEventSinkToken),
      mode: config.env.MIGRATION_MODE,
      emailConfirmationRequired: () => supabase.requiresEmailConfirmation(),
    });
    const rateLimiter = new LoginRateLimiter(sql, options.rateLimits);
    return (runOptions) =>
      reconcileDivergences(
        { supabase, betterAuth, divergences, status, sync, rateLimiter },
        runOptions,
      );
  });
  return container;
}
