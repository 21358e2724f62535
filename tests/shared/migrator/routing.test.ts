import assert from "node:assert/strict";
import fc from "fast-check";
import { defaultRoutingConfig } from "../../../shared/flags/resolve.ts";
import type { CanarySelection, RoutingConfig } from "../../../shared/flags/types.ts";
import {
  bucketOf,
  BUCKETS,
  CANARY_RANDOM_SALT,
  decideRoute,
  DEFAULT_ROLLOUT_SALT,
  hash32,
  thresholdOf,
} from "../../../shared/migrator/routing.ts";
import type { RoutingIdentity } from "../../../shared/migrator/types.ts";

/**
 * 100,000 distinct routing keys of the shapes production sees: lower-cased emails (fast-check's
 * RFC-shaped generator), UUIDs (JWT sub), and sequential ids (the worst case for weak hashes).
 * Fixed seeds: the set is the same on every run.
 */
function keySet(): string[] {
  const keys = new Set<string>();
  for (const email of fc.sample(fc.emailAddress(), { numRuns: 40_000, seed: 42 })) {
    keys.add(email.toLowerCase());
  }
  for (const uuid of fc.sample(fc.uuid(), { numRuns: 30_000, seed: 7 })) keys.add(uuid);
  for (let i = 0; keys.size < 100_000; i++) keys.add(`user-${i}@example.com`);
  return [...keys];
}

const KEYS = keySet();
const rollout = (percentage: number) => defaultRoutingConfig({ rolloutPercentage: percentage });
const asKey = (key: string): RoutingIdentity => ({ key });

Deno.test("routing: the key set is 100,000 distinct keys", () => {
  assert.equal(KEYS.length, 100_000);
  assert.equal(new Set(KEYS).size, 100_000);
});

Deno.test("routing: realised share is within ±1% of the target at several targets", () => {
  for (const target of [0.5, 1, 5, 10, 25, 33.33, 50, 75, 90, 99]) {
    const config = rollout(target);
    let abstracted = 0;
    for (const key of KEYS) {
      if (decideRoute(config, asKey(key)).path === "abstracted") abstracted++;
    }
    const realised = (abstracted / KEYS.length) * 100;
    assert.ok(
      Math.abs(realised - target) <= 1,
      `target ${target}% realised ${realised.toFixed(3)}%`,
    );
  }
  assert.ok(KEYS.every((key) => decideRoute(rollout(0), asKey(key)).path === "original"));
  assert.ok(KEYS.every((key) => decideRoute(rollout(100), asKey(key)).path === "abstracted"));
});

Deno.test("routing: sticky — the same key always gets the same decision and bucket", () => {
  const config = rollout(37.5);
  const first = KEYS.map((key) => decideRoute(config, asKey(key)));
  // A second pass with fresh identity objects and a fresh config object (as a new instance has).
  const again = KEYS.map((key) => decideRoute(rollout(37.5), { key: String(key) }));
  for (let i = 0; i < KEYS.length; i++) {
    assert.equal(again[i]!.path, first[i]!.path);
    assert.equal(again[i]!.bucket, first[i]!.bucket);
  }
  // Pinned values: the hash must never change between releases, or users would switch sides.
  assert.equal(hash32(DEFAULT_ROLLOUT_SALT, "alice@example.com"), 1145683371); // cross-checked with a Python port
  assert.equal(bucketOf("alice@example.com", DEFAULT_ROLLOUT_SALT), 3371);
});

Deno.test("routing: raising the percentage only moves users original → abstracted", () => {
  const steps = [0, 1, 5, 10, 12.34, 25, 50, 50.01, 75, 99.99, 100];
  let previous = new Set<string>();
  for (const step of steps) {
    const config = rollout(step);
    const now = new Set(
      KEYS.filter((key) => decideRoute(config, asKey(key)).path === "abstracted"),
    );
    for (const key of previous) assert.ok(now.has(key), `${key} moved back at ${step}%`);
    previous = now;
  }
});

Deno.test("routing: monotonicity holds for arbitrary pairs of percentages (property)", () => {
  const percentage = fc.integer({ min: 0, max: 10_000 }).map((n) => n / 100);
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), percentage, percentage, (key, a, b) => {
      const [low, high] = a <= b ? [a, b] : [b, a];
      const atLow = decideRoute(rollout(low), asKey(key)).path;
      const atHigh = decideRoute(rollout(high), asKey(key)).path;
      return atLow === "original" || atHigh === "abstracted";
    }),
    { numRuns: 2000, seed: 1 },
  );
});

Deno.test("routing: buckets spread evenly (no bucket decile over- or under-full)", () => {
  const deciles = new Array(10).fill(0);
  for (const key of KEYS) deciles[Math.floor(bucketOf(key, DEFAULT_ROLLOUT_SALT) / 1000)]++;
  for (const count of deciles) assert.ok(Math.abs(count - 10_000) < 400, `decile ${count}`);
  assert.equal(thresholdOf(12.34), 1234);
  assert.equal(thresholdOf(100), BUCKETS);
  assert.equal(thresholdOf(0), 0);
});

Deno.test("routing: never the URL, never random — only the routing key decides", () => {
  const config = rollout(50);
  const decisions = new Set(
    Array.from({ length: 50 }, () => decideRoute(config, { key: "bob@example.com" }).path),
  );
  assert.equal(decisions.size, 1);
});

Deno.test("routing: no routing key → original unless the rollout is 100%", () => {
  assert.deepEqual(decideRoute(rollout(99.99), {}), {
    path: "original",
    reason: "no_routing_key",
    canary: false,
  });
  assert.equal(decideRoute(rollout(100), {}).path, "abstracted");
});

Deno.test("routing: the kill switch wins over canary and a 100% rollout", () => {
  const config = defaultRoutingConfig({
    rolloutPercentage: 100,
    forceOriginal: true,
    canary: {
      enabled: true,
      percentage: 100,
      selection: "whitelist",
      whitelist: ["vip@example.com"],
      emailDomains: [],
    },
  });
  const decision = decideRoute(config, { key: "vip@example.com", email: "vip@example.com" });
  assert.deepEqual(decision, { path: "original", reason: "force_original", canary: false });
});

function canary(selection: CanarySelection, extra: Partial<RoutingConfig["canary"]> = {}) {
  return defaultRoutingConfig({
    rolloutPercentage: 0,
    canary: {
      enabled: true,
      selection,
      percentage: 0,
      whitelist: [],
      emailDomains: [],
      ...extra,
    },
  });
}

Deno.test("canary: whitelist matches email, user id or key; others fall through to rollout", () => {
  const config = canary("whitelist", { whitelist: ["vip@example.com", "user-42"] });
  assert.equal(
    decideRoute(config, { key: "vip@example.com", email: "vip@example.com" }).reason,
    "canary_whitelist",
  );
  assert.equal(decideRoute(config, { key: "user-42", userId: "user-42" }).canary, true);
  const other = decideRoute(config, { key: "x@example.com", email: "x@example.com" });
  assert.deepEqual([other.path, other.reason, other.canary], ["original", "rollout", false]);
});

Deno.test("canary: email_domain matches the domain exactly", () => {
  const config = canary("email_domain", { emailDomains: ["staff.example.com"] });
  assert.equal(
    decideRoute(config, { key: "a@staff.example.com", email: "a@staff.example.com" }).path,
    "abstracted",
  );
  assert.equal(
    decideRoute(config, { key: "a@evilstaff.example.com", email: "a@evilstaff.example.com" }).path,
    "original",
  );
  assert.equal(decideRoute(config, { key: "user-1", userId: "user-1" }).path, "original");
});

for (const selection of ["random", "user_id_hash"] as const) {
  Deno.test(`canary: '${selection}' is sticky, monotonic and near its percentage`, () => {
    const sample = KEYS.slice(0, 50_000);
    let previous = new Set<string>();
    for (const percentage of [1, 10, 30]) {
      const config = canary(selection, { percentage });
      const chosen = sample.filter((key) =>
        decideRoute(config, { key, userId: key }).reason === "canary_percentage"
      );
      const again = sample.filter((key) =>
        decideRoute(canary(selection, { percentage }), { key, userId: key }).canary
      );
      assert.deepEqual(again, chosen, "sticky");
      const share = (chosen.length / sample.length) * 100;
      assert.ok(Math.abs(share - percentage) <= 1, `${selection} ${percentage}% → ${share}%`);
      const now = new Set(chosen);
      for (const key of previous) assert.ok(now.has(key), "monotonic");
      previous = now;
    }
  });
}

Deno.test("canary: 'random' and 'user_id_hash' cohorts are independent of the rollout cohort", () => {
  const sample = KEYS.slice(0, 20_000);
  const inRollout = new Set(sample.filter((key) => bucketOf(key, DEFAULT_ROLLOUT_SALT) < 1000));
  const inRandom = sample.filter((key) => bucketOf(key, CANARY_RANDOM_SALT) < 1000);
  const overlap = inRandom.filter((key) => inRollout.has(key)).length / inRandom.length;
  // Independent 10% cohorts overlap by ~10%; an identical salt would give 100%.
  assert.ok(overlap > 0.07 && overlap < 0.13, `overlap ${overlap}`);
});

Deno.test("canary: percentage selections need a routing key; disabled canary does nothing", () => {
  assert.equal(decideRoute(canary("random", { percentage: 100 }), {}).path, "original");
  assert.equal(decideRoute(canary("user_id_hash", { percentage: 100 }), {}).path, "original");
  const off = defaultRoutingConfig({
    canary: {
      enabled: false,
      percentage: 100,
      selection: "random",
      whitelist: [],
      emailDomains: [],
    },
  });
  assert.equal(decideRoute(off, { key: "k" }).path, "original");
});

Deno.test("a policy pin beats canary and percentage, never the kill switch", () => {
  const canaryAll = defaultRoutingConfig({
    rolloutPercentage: 0,
    canary: {
      enabled: true,
      percentage: 100,
      selection: "user_id_hash",
      whitelist: [],
      emailDomains: [],
    },
  });
  const user = { key: "someone@example.com", email: "someone@example.com" };
  assert.deepEqual(decideRoute(rollout(0), {}, { pinned: "abstracted" }), {
    path: "abstracted",
    reason: "pinned",
    canary: false,
  });
  assert.equal(decideRoute(rollout(100), user, { pinned: "original" }).path, "original");
  assert.equal(decideRoute(canaryAll, user, { pinned: "original" }).reason, "pinned");
  const killed = defaultRoutingConfig({ forceOriginal: true });
  assert.equal(decideRoute(killed, {}, { pinned: "abstracted" }).reason, "force_original");
  // Without a pin a keyless request still goes to the original below 100 %.
  assert.equal(decideRoute(rollout(0), {}).path, "original");
});
