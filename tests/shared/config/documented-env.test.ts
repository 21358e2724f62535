/**
 * README's Configuration rows that no other test exercised, each shown to do what its row says
 * through the real parts (the app container, PostgreSQL, Better Auth, the migrator runtime).
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/env.ts";
import { BetterAuthToken } from "../../../shared/auth/tokens.ts";
import { createAppContainer, openTrackingDatabase } from "../../../shared/di/app-container.ts";
import { bucketOf, DEFAULT_ROLLOUT_SALT } from "../../../shared/migrator/routing.ts";
import { MigrationRuntimeToken } from "../../../shared/migrator/tokens.ts";
import { freshPglite, freshPostgres, TEST_DATABASE_URL } from "../../helpers/db.ts";

Deno.test("SUPABASE_PUBLISHABLE_KEYS / SUPABASE_SECRET_KEYS stand in for the legacy keys", () => {
  const config = loadConfig({
    SUPABASE_URL: "https://project.supabase.co",
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: "sb_publishable_abc" }),
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: "sb_secret_xyz" }),
  });
  assert.equal(config.supabase.anonKey, "sb_publishable_abc");
  assert.equal(config.supabase.serviceKey, "sb_secret_xyz");
  // The legacy key wins when both are set.
  const both = loadConfig({
    SUPABASE_ANON_KEY: "legacy-anon",
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: "sb_publishable_abc" }),
  });
  assert.equal(both.supabase.anonKey, "legacy-anon");
});

Deno.test({
  name: "DATABASE_POOL_MAX caps the connections one instance opens to PostgreSQL",
  ignore: !TEST_DATABASE_URL,
  async fn() {
    const target = await freshPostgres();
    const pool = await openTrackingDatabase(
      loadConfig({ DATABASE_URL: target.url, DATABASE_POOL_MAX: "2" }),
    );
    try {
      // Six queries at once, each holding its connection a moment: only two backends serve them.
      const rows = await Promise.all(
        Array.from(
          { length: 6 },
          () => pool.query<{ pid: number }>("SELECT pg_backend_pid() AS pid, pg_sleep(0.2)"),
        ),
      );
      const backends = new Set(rows.map((result) => result.rows[0]!.pid));
      assert.equal(backends.size, 2);
    } finally {
      await pool.close();
      await target.close();
    }
  },
});

Deno.test("BETTER_AUTH_URL is Better Auth's base URL", async () => {
  const db = await freshPglite();
  const container = createAppContainer(
    loadConfig({
      MIGRATION_MODE: "dual_write",
      BETTER_AUTH_SECRET: "s".repeat(32),
      BETTER_AUTH_URL: "https://auth.example.com",
    }),
    { sql: db },
  );
  try {
    const auth = await container.get(BetterAuthToken);
    assert.equal(auth.options.baseURL, "https://auth.example.com");
  } finally {
    await container.dispose();
    await db.close();
  }
});

Deno.test("ROUTING_KEY_HEADER: the header's value is the sticky routing key", async () => {
  const db = await freshPglite();
  const container = createAppContainer(
    loadConfig({
      ROUTING_KEY_HEADER: "x-tenant-user",
      MIGRATION_ROLLOUT_PERCENTAGE: "50",
      FLAGS_CACHE_TTL_MS: "0",
    }),
    { sql: db },
  );
  try {
    const migrator = (await container.get(MigrationRuntimeToken)).migrator({
      policy: {
        functionName: "coordinator",
        classify: () => ({ name: "read", safety: "read_only", shadow: "off" }),
      },
      original: () => Promise.resolve(Response.json({ impl: "original" })),
      abstracted: () => Promise.resolve(Response.json({ impl: "abstracted" })),
    });
    // One key in the first half of the buckets (abstracted at 50 %), one in the second.
    const keys = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    const low = keys.find((key) => bucketOf(key, DEFAULT_ROLLOUT_SALT) < 5000)!;
    const high = keys.find((key) => bucketOf(key, DEFAULT_ROLLOUT_SALT) >= 5000)!;
    const pathFor = async (headers: Record<string, string>) => {
      const response = await migrator.fetch(
        new Request("http://localhost/coordinator/agents", { headers }),
      );
      await response.body?.cancel();
      return response.headers.get("x-migration-path");
    };
    assert.equal(await pathFor({ "x-tenant-user": low }), "abstracted");
    assert.equal(await pathFor({ "x-tenant-user": high }), "original");
    // Another header carries nothing: no key, so the original (below 100 %).
    assert.equal(await pathFor({ "x-other": low }), "original");
  } finally {
    await container.dispose();
    await db.close();
  }
});
