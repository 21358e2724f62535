/**
 * registerSync(container): IdentitySync over the shared database (SqlToken: auth.users, Better
 * Auth's tables and the outbox live there) and, when the project has one, the service-role
 * supabase-js client for GoTrue's admin API (without it only Supabase → Better Auth applies).
 */
import type { Container } from "../di/container.ts";
import { EmailConfirmationSetting } from "../auth/email-confirmation-setting.ts";
import { ConfigToken, SqlToken, SupabaseAdminToken } from "../di/tokens.ts";
import { SyncCompletion } from "./completion.ts";
import { IdentitySync, type IdentitySyncSettings } from "./service.ts";
import { IdentitySyncToken, SyncCompletionToken } from "./tokens.ts";

export function registerSync(
  container: Container,
  options: Omit<IdentitySyncSettings, "db" | "supabaseAdmin" | "completion"> = {},
): Container {
  container.register(SyncCompletionToken, async (c) => new SyncCompletion(await c.get(SqlToken)));
  container.register(IdentitySyncToken, async (c) => {
    const { supabase } = await c.get(ConfigToken);
    // Copies toward Supabase confirm an unverified user only where GoTrue itself would
    // (autoconfirm); with "Confirm email" on the user confirms through the mail.
    const setting = supabase.url && supabase.anonKey
      ? new EmailConfirmationSetting({ url: supabase.url, anonKey: supabase.anonKey })
      : null;
    return new IdentitySync({
      ...options,
      toSupabase: {
        ...(setting ? { confirmUnverified: async () => !(await setting.required()) } : {}),
        ...options.toSupabase,
      },
      db: await c.get(SqlToken),
      completion: await c.get(SyncCompletionToken),
      supabaseAdmin: c.has(SupabaseAdminToken) ? await c.get(SupabaseAdminToken) : undefined,
    });
  });
  return container;
}
