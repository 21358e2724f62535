/** DI tokens of the sync area (registerSync in register.ts). */
import { token } from "../di/container.ts";
import type { SyncCompletion } from "./completion.ts";
import type { IdentitySync } from "./service.ts";

/** Both change streams of the migration window: apply, status, resync, completion. */
export const IdentitySyncToken = token<IdentitySync>("sync.identitySync");
/**
 * The one completion reader of a process, shared by IdentitySync (which the admin route uses to
 * declare completion) and BetterAuthService (hash format, re-hash), so a declaration made here
 * applies to this instance at once and to the others within the cache TTL (5 s).
 */
export const SyncCompletionToken = token<SyncCompletion>("sync.completion");
