/** DI tokens of logging and error monitoring (registered by register.ts). */
import { token } from "../di/container.ts";
import type { Logger } from "./logger.ts";
import type { SentryHandle } from "./sentry.ts";

/** The process logger (LOG_LEVEL); derive per-function / per-request loggers with child(). */
export const LoggerToken = token<Logger>("logger");
/** Sentry for this process: initialised on first resolve when SENTRY_DSN is set, else a no-op. */
export const SentryToken = token<SentryHandle>("sentry");
