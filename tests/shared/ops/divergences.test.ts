/**
 * The divergences admin API over HTTP on both databases: filters and keyset pages, counts, retry
 * of a parked row (back to reconciliation), resolve with a note (redacted, audited), and the 4xx
 * answers naming the field.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/env.ts";
import { createLogger } from "../../../shared/observability/logger.ts";
import { createOpsApp } from "../../../shared/ops/app.ts";
import { createOpsServices } from "../../../shared/ops/services.ts";
import { sqlProviders } from "../../helpers/db.ts";

const SERVICE_KEY = "sb_secret_test_service_role_key_0123456789";
const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLXNpZw";
const OWNER = "0b0e0000-0000-4000-8000-000000000001";

for (const provider of sqlProviders()) {
  Deno.test(`divergences admin API on ${provider.name}`, async (t) => {
    const db = await provider.open();
    const ops = createOpsServices({
      sql: db,
      routingEnv: loadConfig({}).env,
      serviceRoleKeys: [SERVICE_KEY],
      logger: createLogger({ level: "silent" }),
    });
    const server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {} },
      createOpsApp(ops).fetch,
    );
    const base = `http://127.0.0.1:${server.addr.port}/admin/divergences`;
    // deno-lint-ignore no-explicit-any
    const call = async (path: string, body?: unknown): Promise<{ status: number; json: any }> => {
      const response = await fetch(`${base}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: {
          authorization: `Bearer ${SERVICE_KEY}`,
          "x-ops-actor": "alice@example.com",
          "content-type": "application/json",
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, json: await response.json() };
    };
    try {
      await db.query(
        `INSERT INTO auth_divergences (user_id, email, kind, missing_side, operation, reason,
                                       status, attempts, last_error, created_at)
         VALUES ($1, 'owner@example.com', 'missing_user', 'supabase', 'signup', 'timeout',
                 'failed', 5, 'still down', now() - interval '2 days'),
                ($1, 'owner@example.com', 'data_mismatch', NULL, 'validation', 'name differs',
                 'open', 0, NULL, now() - interval '1 hour'),
                (gen_random_uuid(), 'x@example.com', 'id_conflict', NULL, 'reconciliation',
                 'two ids', 'open', 0, NULL, now())`,
        [OWNER],
      );
      const ids: number[] = [];
      await t.step("list: newest first, counts, keyset pages", async () => {
        const all = await call("");
        assert.equal(all.status, 200);
        assert.deepEqual(all.json.data.items.map((d: { kind: string }) => d.kind), [
          "id_conflict",
          "data_mismatch",
          "missing_user",
        ]);
        assert.deepEqual(all.json.data.counts, {
          open: 2,
          failed: 1,
          resolved: 0,
          openByKind: { data_mismatch: 1, id_conflict: 1 },
        });
        assert.ok(!("passwordHash" in all.json.data.items[0]), "never the stored hash");
        ids.push(...all.json.data.items.map((d: { id: number }) => d.id));
        const page1 = await call("?limit=2");
        assert.equal(page1.json.data.items.length, 2);
        const page2 = await call(`?limit=2&cursor=${page1.json.data.nextCursor}`);
        assert.deepEqual(page2.json.data.items.map((d: { id: number }) => d.id), [ids[2]]);
        assert.equal(page2.json.data.nextCursor, null);
      });

      await t.step("filters: kind, status, user by id or e-mail, since", async () => {
        const kinds = async (query: string) =>
          (await call(query)).json.data.items.map((d: { kind: string }) => d.kind);
        assert.deepEqual(await kinds("?kind=id_conflict"), ["id_conflict"]);
        assert.deepEqual(await kinds("?status=failed"), ["missing_user"]);
        assert.deepEqual(await kinds(`?user=${OWNER}`), ["data_mismatch", "missing_user"]);
        assert.deepEqual(await kinds("?user=OWNER@example.com"), ["data_mismatch", "missing_user"]);
        const since = new Date(Date.now() - 3 * 3600_000).toISOString();
        assert.deepEqual(await kinds(`?since=${encodeURIComponent(since)}`), [
          "id_conflict",
          "data_mismatch",
        ]);
        const bad = await call("?kind=nope&limit=1");
        assert.equal(bad.status, 400);
        assert.equal(bad.json.error.details.field, "kind");
      });

      await t.step("retry: a parked row goes back to reconciliation", async () => {
        const failedId = ids[2]!;
        const retried = await call(`/${failedId}/retry`, {});
        assert.equal(retried.status, 200, JSON.stringify(retried.json));
        assert.equal(retried.json.data.status, "open");
        assert.equal(retried.json.data.attempts, 0);
        assert.equal(retried.json.data.lastError, null);
      });

      await t.step(
        "resolve: closed with a redacted note, audited; twice is a conflict",
        async () => {
          const id = ids[1]!;
          const resolved = await call(`/${id}/resolve`, {
            note: `names reconciled by hand; token was Bearer ${JWT}`,
          });
          assert.equal(resolved.status, 200, JSON.stringify(resolved.json));
          assert.equal(resolved.json.data.status, "resolved");
          assert.ok(resolved.json.data.resolvedAt);
          const resolution = resolved.json.data.details.resolution;
          assert.match(resolution.note, /^names reconciled by hand/);
          assert.ok(!resolution.note.includes(JWT));
          assert.match(resolution.by, /alice@example.com/);
          const { rows } = await db.query<{ phase: string; metadata: Record<string, unknown> }>(
            `SELECT phase, metadata FROM migration_log WHERE component = 'ops:divergences'
            ORDER BY created_at`,
          );
          assert.deepEqual(rows.map((row) => row.phase), ["retry", "resolve"]);
          assert.ok(!JSON.stringify(rows).includes(JWT));
          assert.equal((await call(`/${id}/resolve`, { note: "again" })).status, 409);
          assert.equal((await call(`/${id}/retry`, {})).status, 409);
        },
      );

      await t.step("4xx naming the field: missing note, unknown id, bad id", async () => {
        const noNote = await call(`/${ids[0]}/resolve`, {});
        assert.equal(noNote.status, 400);
        assert.equal(noNote.json.error.details.field, "note");
        assert.equal((await call("/999999/resolve", { note: "x" })).status, 404);
        const badId = await call("/abc/retry", {});
        assert.equal(badId.status, 400);
        assert.equal(badId.json.error.details.field, "id");
        assert.equal((await call("")).json.data.counts.resolved, 1);
      });
    } finally {
      await server.shutdown();
      await ops.drain();
      await db.close();
    }
  });
}
