/** The GoTrue-compatible session surface of the login function (shared/sessions/). */
import type { AppConfig } from "../../config/env.ts";
import { registerSessions } from "../../sessions/register.ts";
import type { Container } from "../container.ts";

export function registerSessionsArea(container: Container, _config: AppConfig): void {
  registerSessions(container);
}
