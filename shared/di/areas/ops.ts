/** Operations: rollout controller, emergency rollback, admin API and dashboard services. */
import type { AppConfig } from "../../config/env.ts";
import { registerOps } from "../../ops/register.ts";
import type { Container } from "../container.ts";

export function registerOpsArea(container: Container, _config: AppConfig): void {
  registerOps(container);
}
