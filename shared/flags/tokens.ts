import { token } from "../di/container.ts";
import type { FlagsCache } from "./cache.ts";
import type { RuntimeFlagsStore } from "./store.ts";

/** Reads and writes runtime_flags (the coordinator's admin endpoint uses it). */
export const RuntimeFlagsStoreToken = token<RuntimeFlagsStore>("flags.store");
/** The process-wide TTL cache over runtime_flags that routing reads. */
export const FlagsCacheToken = token<FlagsCache>("flags.cache");
