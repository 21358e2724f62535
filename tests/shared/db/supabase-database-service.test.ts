/**
 * SupabaseDatabaseService behaviour beyond the provider contract (database-service.contract.test.ts
 * runs the shared suite through supabase-js against the REST stand-in).
 */
import assert from "node:assert/strict";
import { createSupabaseDatabaseService } from "../../../shared/db/supabase-database-service.ts";
import { createStandinKeys } from "../../../local/standin/keys.ts";

Deno.test("bad names and arguments are refused before any request is sent", async () => {
  const keys = await createStandinKeys();
  let requests = 0;
  const db = createSupabaseDatabaseService({
    url: "http://127.0.0.1:1",
    key: keys.serviceRoleKey,
    fetch: (input, init) => {
      requests++;
      return fetch(input, init);
    },
  });
  const refusals = await Promise.all([
    db.read("items; DROP TABLE items"),
    db.read("items", { where: { 'a"b': 1 } }),
    db.read("items", { select: ["id, (select 1)"] }),
    db.read("items", { orderBy: { id: "sideways" as "asc" } }),
    db.read("items", { limit: -1 }),
    db.read("items", { where: { id: { between: 1 } as never } }),
    db.create("items", { "x) VALUES (1); --": 1 }),
    db.createMany("items", [1 as never]),
    db.upsertMany("items", [{ id: 1 }], { onConflict: ["id; --"] }),
    db.updateMany("items", {}, { a: 1 }),
    db.deleteMany("items", {}),
    db.rpc("f(); DROP TABLE x; --"),
    db.rawQuery("SELECT 1"),
  ]);
  for (const result of refusals) assert.equal(result.ok, false);
  assert.deepEqual(
    refusals.map((r) => !r.ok && r.error.code),
    [...Array(12).fill("validation_failed"), "unavailable"],
  );
  assert.equal(requests, 0);
});

Deno.test("an unreachable PostgREST is `unavailable`, not a crash", async () => {
  const keys = await createStandinKeys();
  // Port 1 is closed; a POST is not retried by supabase-js, so this fails fast.
  const db = createSupabaseDatabaseService({ url: "http://127.0.0.1:1", key: keys.serviceRoleKey });
  const result = await db.create("items", { name: "x" });
  assert.equal(!result.ok && result.error.code, "unavailable");
});
