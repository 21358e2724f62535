import type { Container } from "../di/container.ts";
import { ConfigToken, SqlToken } from "../di/tokens.ts";
import { FlagsCache } from "./cache.ts";
import { RuntimeFlagsStore } from "./store.ts";
import { FlagsCacheToken, RuntimeFlagsStoreToken } from "./tokens.ts";

/** Registers the runtime-flags store and cache (needs ConfigToken and SqlToken). */
export function registerFlags(container: Container): Container {
  container.register(
    RuntimeFlagsStoreToken,
    async (c) => new RuntimeFlagsStore(await c.get(SqlToken)),
  );
  container.register(FlagsCacheToken, async (c) => {
    const config = await c.get(ConfigToken);
    return new FlagsCache(await c.get(RuntimeFlagsStoreToken), {
      ttlMs: config.env.FLAGS_CACHE_TTL_MS,
      onError: (error, functionName) =>
        console.warn(JSON.stringify({
          level: "warn",
          msg: "runtime flags read failed; serving last good flags",
          function: functionName,
          error: error instanceof Error ? error.message : String(error),
        })),
    });
  });
  return container;
}
