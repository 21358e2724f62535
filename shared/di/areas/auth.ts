/** Auth (signup, login, reconciliation): Supabase Auth, Better Auth, dual-write, tokens. */
import { registerAuth } from "../../auth/register.ts";
import type { AppConfig } from "../../config/env.ts";
import type { Container } from "../container.ts";

export function registerAuthArea(container: Container, config: AppConfig): void {
  registerAuth(container, { supabaseJwtSecret: config.env.PROJECT_JWT_SECRET });
}
