import type { FlagsCache, FlagsSnapshot } from "./cache.ts";
import { resolveRoutingConfig, resolveStage, type RoutingEnv } from "./resolve.ts";
import type { ResolvedRouting, RoutingConfigSource } from "./types.ts";

/**
 * Routing config from the runtime_flags table (through the cache) over the environment.
 * Resolution is memoised per cache snapshot, so a request that hits a fresh cache entry costs a
 * map lookup, not a re-resolution.
 */
export class FlagsRoutingSource implements RoutingConfigSource {
  readonly #memo = new WeakMap<FlagsSnapshot, ResolvedRouting>();

  constructor(private readonly env: RoutingEnv, private readonly cache: FlagsCache) {}

  async configFor(functionName: string): Promise<ResolvedRouting> {
    const snapshot = await this.cache.get(functionName);
    let resolved = this.#memo.get(snapshot);
    if (!resolved) {
      const stage = resolveStage(this.env, functionName, snapshot.stage);
      const config = resolveRoutingConfig(this.env, snapshot.global, snapshot.function);
      resolved = {
        config: stage ? { ...config, stage } : config,
        provenance: {
          globalVersion: snapshot.global?.version ?? null,
          functionVersion: snapshot.function?.version ?? null,
          stale: snapshot.stale,
        },
      };
      this.#memo.set(snapshot, resolved);
    }
    return resolved;
  }
}
