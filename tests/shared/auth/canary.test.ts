import assert from "node:assert/strict";
import { type CanaryConfig, isCanaryUser } from "../../../shared/auth/canary.ts";

const base: CanaryConfig = {
  enabled: true,
  percentage: 10,
  selection: "random",
  whitelist: [],
  emailDomains: [],
};
const emails = Array.from({ length: 2000 }, (_, i) => `user${i}@example.com`);

async function selected(config: CanaryConfig): Promise<Set<string>> {
  const picked = new Set<string>();
  for (const email of emails) if (await isCanaryUser(config, { email })) picked.add(email);
  return picked;
}

Deno.test("'random' is sticky per user: the same users every time (no date seed)", async () => {
  const first = await selected(base);
  const second = await selected(base);
  assert.deepEqual([...first], [...second]);
  assert.ok(first.size > 120 && first.size < 280, `about 10% (${first.size})`);
  assert.equal(
    await isCanaryUser(base, { email: " USER1@Example.com " }),
    first.has("user1@example.com"),
  );
});

Deno.test("raising the percentage only adds users", async () => {
  for (const selection of ["random", "user_id_hash"] as const) {
    const ten = await selected({ ...base, selection, percentage: 10 });
    const thirty = await selected({ ...base, selection, percentage: 30 });
    for (const email of ten) assert.ok(thirty.has(email), `${selection}: ${email} stays in`);
  }
});

Deno.test("'random' and 'user_id_hash' pick different samples", async () => {
  const random = await selected({ ...base, selection: "random" });
  const hashed = await selected({ ...base, selection: "user_id_hash" });
  assert.notDeepEqual([...random], [...hashed]);
});

Deno.test("whitelist, email domains, 0% / 100% and disabled", async () => {
  const whitelist = { ...base, selection: "whitelist" as const, whitelist: ["vip@example.com"] };
  assert.equal(await isCanaryUser(whitelist, { email: "VIP@example.com" }), true);
  assert.equal(await isCanaryUser(whitelist, { email: "nobody@example.com" }), false);
  const domains = { ...base, selection: "email_domain" as const, emailDomains: ["company.com"] };
  assert.equal(await isCanaryUser(domains, { email: "a@company.com" }), true);
  assert.equal(await isCanaryUser(domains, { email: "a@company.com.evil.io" }), false);
  assert.equal((await selected({ ...base, percentage: 0 })).size, 0);
  assert.equal((await selected({ ...base, percentage: 100 })).size, emails.length);
  assert.equal(
    await isCanaryUser({ ...base, enabled: false, percentage: 100 }, { email: "a@b.co" }),
    false,
  );
});
