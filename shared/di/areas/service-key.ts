/** Operator-route credentials only (service-role key, cron secret), without the batch engine. */
import { registerBatchAuth } from "../../batch/register.ts";
import type { AppConfig } from "../../config/env.ts";
import type { Container } from "../container.ts";

export function registerServiceKeyArea(container: Container, _config: AppConfig): void {
  registerBatchAuth(container);
}
