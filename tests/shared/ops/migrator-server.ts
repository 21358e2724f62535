/**
 * One "function instance" as its own process, for the cross-process emergency rollback test: a
 * tiny app wrapped in a real EdgeFunctionMigrator that reads runtime_flags from a shared
 * PostgreSQL through the flags cache. Prints "listening <port>" once it serves.
 *
 *   deno run -A migrator-server.ts <database-url> <flags-cache-ttl-ms>
 */
import { loadConfig } from "../../../shared/config/env.ts";
import { openPostgres } from "../../../shared/db/postgres-client.ts";
import { createMigrationRuntime } from "../../../shared/migrator/mod.ts";

const [url, ttlMs] = Deno.args;
if (!url) throw new Error("usage: migrator-server.ts <database-url> <flags-cache-ttl-ms>");
const sql = openPostgres({ url, max: 2 });
const runtime = createMigrationRuntime({
  sql,
  env: loadConfig({ FLAGS_CACHE_TTL_MS: ttlMs ?? "1000" }).env,
  logger: { warn() {}, error() {} },
});
const migrator = runtime.migrator({
  policy: {
    functionName: "login",
    classify: () => ({ name: "login", safety: "read_only", shadow: "off" }),
  },
  original: () => Promise.resolve(Response.json({ impl: "original", pid: Deno.pid })),
  abstracted: () => Promise.resolve(Response.json({ impl: "abstracted", pid: Deno.pid })),
});
const server = Deno.serve({
  port: 0,
  hostname: "127.0.0.1",
  onListen: ({ port }) => console.log(`listening ${port}`),
}, migrator.fetch);

// Stop cleanly when the test closes stdin.
(async () => {
  for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
  await server.shutdown();
  await runtime.close();
  await sql.close();
  Deno.exit(0);
})();
