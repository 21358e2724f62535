import assert from "node:assert/strict";
import { formatBanner } from "../../../local/standin/banner.ts";
import { createStandinKeys } from "../../../local/standin/keys.ts";

Deno.test("the banner lists URLs, both keys and one runnable curl per function", async () => {
  const keys = await createStandinKeys();
  const banner = formatBanner({
    url: "http://127.0.0.1:54321",
    keys,
    functions: [
      { name: "signup", implemented: true },
      { name: "login", implemented: false },
      { name: "coordinator", implemented: false },
      { name: "migrate-batch", implemented: false },
    ],
    database: ".data/pglite (reopened)",
    seeding: "already seeded",
    cron: "off",
    restAvailable: true,
  });
  assert.ok(banner.includes("http://127.0.0.1:54321/auth/v1"));
  assert.ok(banner.includes(`export ANON_KEY='${keys.anonKey}'`));
  assert.ok(banner.includes(`export SERVICE_ROLE_KEY='${keys.serviceRoleKey}'`));
  const curls = banner.split("\n").filter((line) => line.trim().startsWith("curl "));
  assert.equal(curls.length, 5);
  // The coordinator needs a user's token: the banner logs in first (the anon key gets 401).
  assert.ok(banner.includes("export ACCESS_TOKEN=$(curl -s -X POST "));
  assert.match(curls[2]!, /coordinator\/agents' -H "Authorization: Bearer \$ACCESS_TOKEN"/);
  assert.match(
    curls[1]!,
    /functions\/v1\/login' .*"email":"demo@example.com","password":"password123"/,
  );
  assert.match(curls[3]!, /migrate-batch' -H "Authorization: Bearer \$SERVICE_ROLE_KEY"/);
  // The demo table, read with a user's token (RLS on auth.uid()).
  assert.match(
    curls[4]!,
    /rest\/v1\/notes\?select=body' -H "apikey: \$ANON_KEY" -H "Authorization: Bearer \$ACCESS_TOKEN"/,
  );
  assert.ok(banner.includes("# login (not built yet: answers 501)"));
  assert.ok(!banner.includes("# signup (not built"));
});
