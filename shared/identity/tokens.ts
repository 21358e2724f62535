/** DI token of the identity area: the one system-of-record rule every auth path asks. */
import { token } from "../di/container.ts";
import type { SystemOfRecord } from "./system-of-record.ts";

export const SystemOfRecordToken = token<SystemOfRecord>("identity.systemOfRecord");
