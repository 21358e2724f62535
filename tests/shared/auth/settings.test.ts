import assert from "node:assert/strict";
import { dualWriteSettingsFromEnv } from "../../../shared/auth/settings.ts";
import { loadConfig } from "../../../shared/config/env.ts";

Deno.test("settings come from the validated environment", () => {
  const { env } = loadConfig({
    MIGRATION_MODE: "dual_write",
    BETTER_AUTH_SECRET: "x".repeat(40),
    USE_BETTER_AUTH: "true",
    MIGRATION_VALIDATION: "1",
    MIGRATION_FALLBACK_TIMEOUT: "750",
    CANARY_ENABLED: "true",
    CANARY_PERCENTAGE: "5",
    CANARY_USER_SELECTION: "email_domain",
    CANARY_WHITELIST: " Boss@Company.com ,",
    CANARY_EMAIL_DOMAINS: "@Company.com,partner.io",
  });
  const settings = dualWriteSettingsFromEnv(env);
  assert.equal(settings.mode, "dual_write");
  assert.equal(settings.useBetterAuth, true);
  assert.equal(settings.validation, true);
  assert.equal(settings.fallbackTimeoutMs, 750);
  assert.deepEqual(settings.canary, {
    enabled: true,
    percentage: 5,
    selection: "email_domain",
    whitelist: ["boss@company.com"],
    emailDomains: ["company.com", "partner.io"],
  });
  assert.equal(settings.passwordPolicy.minLength, 8);
});
