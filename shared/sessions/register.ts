/**
 * registerSessions(container): the session surface's dependencies, from the auth area's services
 * (registerAuth must be registered too). Which systems take part follows MIGRATION_MODE exactly
 * as the auth area decides it: Supabase unless better_auth_only without a SUPABASE_URL, Better
 * Auth unless supabase_only without a BETTER_AUTH_SECRET.
 */
import { AccessTokenVerifierToken, BetterAuthServiceToken } from "../auth/tokens.ts";
import type { Container } from "../di/container.ts";
import { ConfigToken, SqlToken } from "../di/tokens.ts";
import { SystemOfRecordToken } from "../identity/tokens.ts";
import { GoTrueClient } from "./gotrue-client.ts";
import { SessionDepsToken } from "./tokens.ts";

export function registerSessions(container: Container): Container {
  container.register(SessionDepsToken, async (c) => {
    const config = await c.get(ConfigToken);
    const { env } = config;
    const { url, anonKey } = config.supabase;
    const withSupabase = Boolean(url && anonKey) &&
      (env.MIGRATION_MODE !== "better_auth_only" || Boolean(url));
    const withBetterAuth = env.MIGRATION_MODE !== "supabase_only" ||
      Boolean(env.BETTER_AUTH_SECRET);
    const sql = await c.get(SqlToken);
    return {
      identity: await c.get(SystemOfRecordToken),
      tokens: await c.get(AccessTokenVerifierToken),
      betterAuth: withBetterAuth ? await c.get(BetterAuthServiceToken) : undefined,
      betterAuthDb: withBetterAuth ? sql : undefined,
      gotrue: withSupabase ? new GoTrueClient(url!, anonKey!) : undefined,
      supabaseDb: withSupabase ? sql : undefined,
    };
  });
  return container;
}
