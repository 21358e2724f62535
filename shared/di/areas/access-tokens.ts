/** Access-token verification only (no Better Auth): what the coordinator needs from auth. */
import { registerAccessTokens } from "../../auth/register-access-tokens.ts";
import type { AppConfig } from "../../config/env.ts";
import type { Container } from "../container.ts";

export function registerAccessTokensArea(container: Container, config: AppConfig): void {
  registerAccessTokens(container, { supabaseJwtSecret: config.env.PROJECT_JWT_SECRET });
}
