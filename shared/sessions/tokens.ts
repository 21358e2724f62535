/** DI token of the sessions area: what the GoTrue-compatible session surface needs. */
import { token } from "../di/container.ts";
import type { SessionServiceDeps } from "./session-service.ts";

/** Everything but the login handler, which the login function's app supplies. */
export const SessionDepsToken = token<Omit<SessionServiceDeps, "login">>("sessions.deps");
