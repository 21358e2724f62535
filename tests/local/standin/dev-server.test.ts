import assert from "node:assert/strict";
import { ConfigToken, SqlToken } from "../../../shared/di/tokens.ts";
import { startDevServer } from "../../../local/standin/dev-server.ts";
import { KNOWN_FUNCTIONS } from "../../../local/standin/functions-gateway.ts";

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("one port serves every function, Auth and REST; keys and curls are printed; cron calls migrate-batch", async () => {
  const lines: string[] = [];
  const envBefore = Deno.env.get("SUPABASE_URL");
  const server = await startDevServer({
    port: 0,
    dataDir: null,
    seedUsers: 5,
    cron: { intervalMs: 150 },
    log: (line) => lines.push(line),
  });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    for (const name of KNOWN_FUNCTIONS) {
      const response = await fetch(`${server.url}/functions/v1/${name}`, {
        headers: { Authorization: `Bearer ${server.keys.anonKey}` },
      });
      const body = await response.text();
      assert.ok(
        response.status === 501 || (response.status >= 200 && response.status < 500),
        `${name} answers (got ${response.status})`,
      );
      if (response.status === 501) assert.match(body, /"not_implemented"/);
    }

    const printed = lines.join("\n");
    assert.ok(printed.includes(server.url));
    assert.ok(printed.includes(server.keys.anonKey), "anon key printed");
    assert.ok(printed.includes(server.keys.serviceRoleKey), "service-role key printed");
    for (const name of KNOWN_FUNCTIONS) {
      assert.ok(
        lines.some((l) =>
          l.split("\n").some((x) =>
            x.includes("curl") && new RegExp(`/functions/v1/${name}['/]`).test(x)
          )
        ),
        `a curl for ${name}`,
      );
    }

    await waitFor(() =>
      server.requests.count((e) =>
        e.method === "POST" && e.path === "/functions/v1/migrate-batch"
      ) >= 2
    );
    assert.ok(server.cron!.stats().ticks >= 2);
    assert.ok(
      lines.some((l) => l.startsWith("local cron → migrate-batch:")),
      "the cron reports its outcome",
    );

    const health = await fetch(`${server.url}/auth/v1/health`, {
      headers: { apikey: server.keys.anonKey },
    });
    assert.equal(health.status, 200);
    await health.body?.cancel();
    const rest = await fetch(`${server.url}/rest/v1/agents?select=id`, {
      headers: {
        apikey: server.keys.serviceRoleKey,
        Authorization: `Bearer ${server.keys.serviceRoleKey}`,
      },
    });
    // 501 until the REST stand-in exists; then PostgREST's own answer (never a routing 404 or a crash).
    assert.notEqual(rest.status, 404);
    assert.ok(rest.status < 500 || rest.status === 501, `REST answers (${rest.status})`);
    await rest.body?.cancel();

    const config = await server.container.get(ConfigToken);
    assert.equal(config.supabase.url, server.url);
    assert.equal(config.supabase.anonKey, server.keys.anonKey);
    assert.equal(config.supabase.serviceKey, server.keys.serviceRoleKey);
    assert.equal(config.env.MIGRATION_MODE, "dual_write");
    assert.equal(config.database.provider, "pglite");
    assert.equal(
      await server.container.get(SqlToken),
      server.sql,
      "the container shares the server's PGlite",
    );
    assert.equal(Deno.env.get("SUPABASE_URL"), envBefore, "Deno.env is never written");

    const { rows } = await server.sql.query<{ n: number }>("SELECT count(*) AS n FROM auth.users");
    assert.equal(rows[0]!.n, 5);
  } finally {
    await server.close();
  }
});

Deno.test("a persisted data directory is seeded once and reopened; the stand-in owns URL, keys and database", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "devserver-" });
  try {
    const options = {
      port: 0,
      dataDir: `${dataDir}/pglite`,
      seedUsers: 12,
      cron: false as const,
      log: () => {},
      env: {
        MIGRATION_MODE: "better_auth_only",
        SUPABASE_URL: "https://real-project.supabase.co",
        DATABASE_URL: "postgres://user:secret@db.example.com:5432/postgres",
      },
    };
    const first = await startDevServer(options);
    try {
      assert.deepEqual(first.seedReport.seeded.map((s) => s.name), [
        "legacy_supabase_users",
        "coordinator-demo",
        "demo-notes",
      ]);
      assert.equal(first.cron, null);
      const config = await first.container.get(ConfigToken);
      assert.equal(
        config.env.MIGRATION_MODE,
        "better_auth_only",
        "developer settings pass through",
      );
      assert.equal(config.supabase.url, first.url, "...but never the real project's URL");
      assert.equal(config.database.provider, "pglite");
    } finally {
      await first.close();
    }
    const second = await startDevServer(options);
    try {
      assert.equal(second.databaseOrigin, "existing");
      assert.deepEqual(second.seedReport.skipped, [
        "legacy_supabase_users",
        "coordinator-demo",
        "demo-notes",
      ]);
      const { rows } = await second.sql.query<{ n: number }>(
        "SELECT count(*) AS n FROM auth.users",
      );
      assert.equal(rows[0]!.n, 12, "seeding did not repeat");
      const login = await fetch(`${second.url}/auth/v1/token?grant_type=password`, {
        method: "POST",
        headers: { apikey: second.keys.anonKey, "Content-Type": "application/json" },
        body: JSON.stringify({ email: "demo@example.com", password: "password123" }),
      });
      assert.equal(login.status, 200);
      await login.body?.cancel();
    } finally {
      await second.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
