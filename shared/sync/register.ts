/**
 * registerSync(container): IdentitySync over the shared database (SqlToken: auth.users, Better
 * Auth's tables and the outbox live there) and, when the project has one, the service-role
 * supabase-js client for GoTrue's admin API (without it only Supabase → Better Auth applies).
 */
import type { Container } from "../di/container.ts";
import { SqlToken, SupabaseAdminToken } from "../di/tokens.ts";
import { SyncCompletion } from "./completion.ts";
import { IdentitySync, type IdentitySyncSettings } from "./service.ts";
import { IdentitySyncToken, SyncCompletionToken } from "./tokens.ts";

export function registerSync(
  container: Container,
  options: Omit<IdentitySyncSettings, "db" | "supabaseAdmin" | "completion"> = {},
): Container {
  container.register(SyncCompletionToken, async (c) => new SyncCompletion(await c.get(SqlToken)));
  container.register(IdentitySyncToken, async (c) =>
    new IdentitySync({
      ...options,
      db: await c.get(SqlToken),
      completion: await c.get(SyncCompletionToken),
      supabaseAdmin: c.has(SupabaseAdminToken) ? await c.get(SupabaseAdminToken) : undefined,
    }));
  return container;
}
