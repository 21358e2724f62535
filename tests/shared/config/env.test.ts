import assert from "node:assert/strict";
import { ConfigError, dryRunFrom, envSchema, loadConfig } from "../../../shared/config/env.ts";

Deno.test("defaults: embedded PGlite, supabase_only, safe routing", () => {
  const config = loadConfig({});
  assert.deepEqual(config.database, { provider: "pglite", dataDir: undefined });
  assert.equal(config.env.MIGRATION_MODE, "supabase_only");
  assert.equal(config.env.MIGRATION_ROLLOUT_PERCENTAGE, 0);
  assert.equal(config.env.MIGRATION_ENABLE_FALLBACK, true);
  assert.equal(config.env.FORCE_ORIGINAL_IMPLEMENTATION, false);
  assert.equal(config.env.MIGRATION_FALLBACK_TIMEOUT, 5000);
  assert.ok(config.env.FLAGS_CACHE_TTL_MS <= 5000);
});

Deno.test("one error lists every offending variable", () => {
  try {
    loadConfig({
      MIGRATION_MODE: "both",
      CANARY_PERCENTAGE: "150",
      USE_BETTER_AUTH: "perhaps",
      SUPABASE_URL: "not a url",
      MIGRATION_FALLBACK_TIMEOUT: "-5",
      DATABASE_URL: "mysql://x",
    });
    assert.fail("expected ConfigError");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    const variables = error.issues.map((issue) => issue.variable).sort();
    assert.deepEqual(variables, [
      "CANARY_PERCENTAGE",
      "DATABASE_URL",
      "MIGRATION_FALLBACK_TIMEOUT",
      "MIGRATION_MODE",
      "SUPABASE_URL",
      "USE_BETTER_AUTH",
    ]);
    for (const variable of variables) assert.match(error.message, new RegExp(variable));
  }
});

Deno.test("Better Auth secret is required outside supabase_only, and must be long", () => {
  assert.throws(() => loadConfig({ MIGRATION_MODE: "dual_write" }), /BETTER_AUTH_SECRET: required/);
  assert.throws(
    () => loadConfig({ MIGRATION_MODE: "dual_write", BETTER_AUTH_SECRET: "short" }),
    /BETTER_AUTH_SECRET: must be at least 32/,
  );
  const config = loadConfig({ MIGRATION_MODE: "dual_write", BETTER_AUTH_SECRET: "s".repeat(32) });
  assert.equal(config.env.MIGRATION_MODE, "dual_write");
});

Deno.test("provider selection follows the platform variables", () => {
  assert.equal(
    loadConfig({ SUPABASE_DB_URL: "postgresql://postgres@db:5432/postgres" }).database.provider,
    "postgres",
  );
  const explicit = loadConfig({
    DATABASE_PROVIDER: "supabase",
    SUPABASE_URL: "http://127.0.0.1:54321",
    SUPABASE_SECRET_KEYS: '{"default":"sb_secret_abc"}',
  });
  assert.deepEqual(explicit.database, {
    provider: "supabase",
    url: "http://127.0.0.1:54321",
    serviceKey: "sb_secret_abc",
  });
  assert.throws(() => loadConfig({ DATABASE_PROVIDER: "postgres" }), /DATABASE_URL/);
  assert.throws(() => loadConfig({ SUPABASE_SECRET_KEYS: "[1,2]" }), /SUPABASE_SECRET_KEYS/);
});

Deno.test("lists and booleans parse the way operators write them", () => {
  const config = loadConfig({
    CANARY_ENABLED: "1",
    CANARY_WHITELIST: " a@example.com, b@example.com ,,",
    CANARY_EMAIL_DOMAINS: "example.com",
    MIGRATION_ENABLE_COMPARISON: "on",
    DRY_RUN: "false",
  });
  assert.equal(config.env.CANARY_ENABLED, true);
  assert.deepEqual(config.env.CANARY_WHITELIST, ["a@example.com", "b@example.com"]);
  assert.deepEqual(config.env.CANARY_EMAIL_DOMAINS, ["example.com"]);
  assert.equal(config.env.MIGRATION_ENABLE_COMPARISON, true);
  assert.equal(config.env.DRY_RUN, false);
});

Deno.test("loading never writes to the process environment", () => {
  const before = Deno.env.toObject();
  loadConfig({ MIGRATION_ROLLOUT_PERCENTAGE: "42" });
  assert.deepEqual(Deno.env.toObject(), before);
});

Deno.test("BETTER_AUTH_DATABASE_URL stops start-up with the reason instead of being ignored", () => {
  for (const value of ["postgres://auth@db.example.com/better_auth", "anything"]) {
    assert.throws(
      () => loadConfig({ BETTER_AUTH_DATABASE_URL: value }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.issues.map((issue) => issue.variable), [
          "BETTER_AUTH_DATABASE_URL",
        ]);
        assert.match(error.message, /not supported.*next to auth\.users/);
        return true;
      },
    );
  }
  // Unset (or empty, as .env tooling writes it) is fine.
  assert.equal(
    loadConfig({ BETTER_AUTH_DATABASE_URL: "" }).env.BETTER_AUTH_DATABASE_URL,
    undefined,
  );
});

Deno.test("DRY_RUN reads like every boolean, also for CLIs that load only it", () => {
  assert.equal(dryRunFrom({}), false);
  assert.equal(dryRunFrom({ DRY_RUN: "" }), false);
  assert.equal(dryRunFrom({ DRY_RUN: "yes" }), true);
  assert.equal(loadConfig({ DRY_RUN: "1" }).env.DRY_RUN, true);
  assert.throws(() => dryRunFrom({ DRY_RUN: "perhaps" }), /DRY_RUN/);
});

Deno.test("every variable in README's Configuration table is one the schema reads", async () => {
  const readme = await Deno.readTextFile(new URL("../../../README.md", import.meta.url));
  const section = readme.split("\n## Configuration")[1]!.split("\n## ")[0]!;
  const documented = section.split("\n")
    .filter((line) => line.startsWith("| `"))
    .flatMap((line) => [...line.split("|")[1]!.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]!));
  assert.ok(documented.length > 30, `found ${documented.length} documented variables`);
  const known = new Set(Object.keys(envSchema.shape));
  assert.deepEqual(documented.filter((name) => !known.has(name)), []);
  assert.ok(!documented.includes("BETTER_AUTH_DATABASE_URL"), "refused, so not documented");
});

Deno.test("OPS_WATCH_THRESHOLDS: JSON overrides of the watch, a bad value stops start-up naming it", () => {
  assert.doesNotThrow(() =>
    loadConfig({ OPS_WATCH_THRESHOLDS: '{"p95Ms":800,"windowMinutes":15}' })
  );
  for (const bad of ['{"p95Ms":-1}', "[1]", "not json", '{"nope":1}']) {
    assert.throws(
      () => loadConfig({ OPS_WATCH_THRESHOLDS: bad }),
      /OPS_WATCH_THRESHOLDS/,
      bad,
    );
  }
});
