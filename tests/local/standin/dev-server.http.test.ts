/**
 * What a user trying the local stack by hand runs into, answered as Supabase answers it:
 * - TRACE (and CONNECT/TRACK) are refused by the gateway with 405, as nginx under Kong does,
 *   never a 500 from the stand-in;
 * - an unknown route of any function is a JSON 404 in the project's error shape;
 * - the banner's copy-paste commands for the coordinator work as printed (log in, then call
 *   with the user's token), and print 200.
 */
import { DEMO_USER_NOTES } from "../../../local/standin/seed-notes.ts";
import assert from "node:assert/strict";
import { startDevServer } from "../../../local/standin/dev-server.ts";

/** One HTTP/1.1 request line on a fresh connection; the whole response as text. */
async function rawRequest(port: number, requestLine: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode(`${requestLine}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
    );
    return await new Response(conn.readable).text();
  } catch (error) {
    conn.close();
    throw error;
  }
}

Deno.test("dev server: TRACE 405, JSON 404 on unknown routes, a banner whose coordinator curl works", async (t) => {
  const server = await startDevServer({
    port: 0,
    dataDir: null,
    seedUsers: 3,
    cron: false,
    log: () => {},
    // bcrypt on a loaded 2-core machine: never let the fallback timeout turn a login into a 5xx.
    env: { LOG_LEVEL: "error", MIGRATION_FALLBACK_TIMEOUT: "60000" },
  });
  try {
    await t.step("TRACE is 405 Method not allowed, as Supabase's gateway answers", async () => {
      for (
        const path of [
          "/functions/v1/login",
          "/functions/v1/migrate-batch/status",
          "/rest/v1/x",
          "/",
        ]
      ) {
        // fetch refuses to send TRACE ("forbidden method"): speak HTTP/1.1 directly, as curl -X.
        const raw = await rawRequest(server.port, `TRACE ${path} HTTP/1.1`);
        assert.match(raw, /^HTTP\/1\.1 405 /, `${path}: ${raw}`);
        assert.match(raw, /content-type: application\/json/i);
        assert.ok(raw.endsWith(JSON.stringify({ message: "Method not allowed" })), raw);
      }
    });

    await t.step("an unknown route of every function answers the JSON error shape", async () => {
      const calls = [
        { fn: "signup", key: server.keys.anonKey },
        { fn: "login", key: server.keys.anonKey },
        { fn: "migrate-batch", key: server.keys.serviceRoleKey },
      ];
      for (const { fn, key } of calls) {
        for (const method of ["GET", "POST"]) {
          const response = await fetch(`${server.url}/functions/v1/${fn}/no-such-route`, {
            method,
            headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
            ...(method === "POST" ? { body: "{}" } : {}),
          });
          assert.equal(response.status, 404, `${method} ${fn}`);
          assert.match(response.headers.get("content-type") ?? "", /application\/json/);
          const body = await response.json();
          assert.equal(body.error.code, "not_found", `${method} ${fn}: ${JSON.stringify(body)}`);
          assert.match(body.error.message, /No route for/);
        }
      }
      // The coordinator checks the caller first (401 JSON), then routes (404 JSON).
      const coordinator = await fetch(`${server.url}/functions/v1/coordinator/no-such-route`);
      assert.match(coordinator.headers.get("content-type") ?? "", /application\/json/);
      assert.ok((await coordinator.json()).error, "JSON error shape");
    });

    await t.step(
      "the banner's coordinator commands, run in a shell as printed, get 200",
      async () => {
        const lines = server.banner.split("\n").map((line) => line.trim());
        const exports = lines.filter((line) =>
          line.startsWith("export ") && !line.includes("ACCESS")
        );
        const start = lines.findIndex((line) => line.startsWith("# coordinator"));
        assert.ok(start > 0, server.banner);
        const commands = lines.slice(start + 1, start + 3);
        assert.match(commands[0]!, /^export ACCESS_TOKEN=/);
        assert.match(commands[1]!, /^curl -i .*coordinator/);
        const script = [...exports, ...commands].join("\n");
        const output = await new Deno.Command("bash", { args: ["-c", script], stdout: "piped" })
          .output();
        const text = new TextDecoder().decode(output.stdout);
        assert.match(text.split("\n")[0] ?? "", /^HTTP\/1\.1 200/, text.slice(0, 500));
      },
    );
    await t.step("the banner's public.notes commands return the demo user's notes", async () => {
      const lines = server.banner.split("\n").map((line) => line.trim());
      const exports = lines.filter((line) =>
        line.startsWith("export ") && !line.includes("ACCESS")
      );
      const start = lines.findIndex((line) => line.startsWith("# public.notes"));
      assert.ok(start > 0, server.banner);
      const script = [...exports, ...lines.slice(start + 1, start + 3)].join("\n");
      const output = await new Deno.Command("bash", { args: ["-c", script], stdout: "piped" })
        .output();
      const text = new TextDecoder().decode(output.stdout);
      assert.deepEqual(
        JSON.parse(text).map((row: { body: string }) => row.body).sort(),
        [...DEMO_USER_NOTES].sort(),
        text,
      );
    });
  } finally {
    await server.close();
  }
});
