/** The identity change streams (shared/sync/): appliers, completion, their admin routes. */
import type { AppConfig } from "../../config/env.ts";
import { registerSync } from "../../sync/register.ts";
import type { Container } from "../container.ts";

export function registerSyncArea(container: Container, _config: AppConfig): void {
  registerSync(container);
}
