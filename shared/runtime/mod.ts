/**
 * Picks the adapter for the runtime this process runs on: the Edge Runtime defines
 * `globalThis.EdgeRuntime` (supabase/edge-runtime ext/runtime/js/bootstrap.js), plain Deno does not.
 */
import { denoAdapter } from "./deno.ts";
import { edgeAdapter, edgeRuntimeGlobal } from "./edge.ts";
import type { RuntimeAdapter } from "./types.ts";

export type { FetchHandler, RuntimeAdapter, ServedHandle, ShutdownReason } from "./types.ts";

export function currentRuntime(): RuntimeAdapter {
  return edgeRuntimeGlobal() ? edgeAdapter : denoAdapter;
}
