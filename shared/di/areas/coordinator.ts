/** The coordinator's services on the project's database service and token verifier. */
import { AccessTokenVerifierToken } from "../../auth/tokens.ts";
import type { AppConfig } from "../../config/env.ts";
import { registerCoordinator } from "../../coordinator/register.ts";
import { DatabaseServiceToken } from "../../db/tokens.ts";
import type { Container } from "../container.ts";
import { SupabaseAdminToken } from "../tokens.ts";

export function registerCoordinatorArea(container: Container, _config: AppConfig): void {
  registerCoordinator(container, {
    database: DatabaseServiceToken,
    supabase: container.has(SupabaseAdminToken) ? SupabaseAdminToken : undefined,
    accessTokens: AccessTokenVerifierToken,
  });
}
