import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/env.ts";
import { resolveRoutingConfig } from "../../../shared/flags/resolve.ts";
import type { RuntimeFlagsRow } from "../../../shared/flags/types.ts";

const env = loadConfig({
  MIGRATION_ROLLOUT_PERCENTAGE: "10",
  MIGRATION_ENABLE_FALLBACK: "true",
  MIGRATION_ENABLE_COMPARISON: "false",
  MIGRATION_FALLBACK_TIMEOUT: "1500",
  CANARY_ENABLED: "true",
  CANARY_PERCENTAGE: "2",
  CANARY_USER_SELECTION: "whitelist",
  CANARY_WHITELIST: "VIP@Example.com, ops@example.com",
  CANARY_EMAIL_DOMAINS: "@Staff.example.com",
}).env;

function row(functionName: string, values: Partial<RuntimeFlagsRow> = {}): RuntimeFlagsRow {
  return {
    functionName,
    rolloutPercentage: null,
    enableFallback: null,
    enableComparison: null,
    forceOriginal: null,
    canaryEnabled: null,
    canaryPercentage: null,
    canarySelection: null,
    canaryWhitelist: null,
    canaryEmailDomains: null,
    version: 1,
    updatedBy: null,
    reason: null,
    updatedAt: new Date(0),
    ...values,
  };
}

Deno.test("resolve: environment only (no rows), lists normalised", () => {
  assert.deepEqual(resolveRoutingConfig(env, null, null), {
    rolloutPercentage: 10,
    enableFallback: true,
    enableComparison: false,
    forceOriginal: false,
    fallbackTimeoutMs: 1500,
    canary: {
      enabled: true,
      percentage: 2,
      selection: "whitelist",
      whitelist: ["vip@example.com", "ops@example.com"],
      emailDomains: ["staff.example.com"],
    },
  });
});

Deno.test("resolve: function row over global row over env; NULL inherits", () => {
  const config = resolveRoutingConfig(
    env,
    row("*", { rolloutPercentage: 50, enableComparison: true, canaryWhitelist: [] }),
    row("signup", { rolloutPercentage: 25, enableFallback: false }),
  );
  assert.equal(config.rolloutPercentage, 25);
  assert.equal(config.enableFallback, false);
  assert.equal(config.enableComparison, true);
  assert.deepEqual(config.canary.whitelist, [], "an empty DB list overrides env (not NULL)");
  assert.equal(config.canary.percentage, 2);
});

Deno.test("resolve: force_original true in either row wins; a DB false can lift the env", () => {
  const forcedEnv = { ...env, FORCE_ORIGINAL_IMPLEMENTATION: true };
  assert.equal(
    resolveRoutingConfig(env, row("*", { forceOriginal: true }), row("x", { forceOriginal: false }))
      .forceOriginal,
    true,
    "the global kill switch cannot be overridden by a function row",
  );
  assert.equal(
    resolveRoutingConfig(env, null, row("x", { forceOriginal: true })).forceOriginal,
    true,
  );
  assert.equal(resolveRoutingConfig(forcedEnv, null, null).forceOriginal, true);
  assert.equal(
    resolveRoutingConfig(forcedEnv, row("*", { forceOriginal: false }), null).forceOriginal,
    false,
  );
});
