import assert from "node:assert/strict";
import {
  asAuthError,
  AuthError,
  invalidCredentials,
  isDefinitive,
  validationFailed,
} from "../../../shared/auth/errors.ts";

Deno.test("every error code has its contract status", () => {
  const expected: Record<string, number> = {
    validation_failed: 400,
    invalid_credentials: 400,
    user_already_exists: 422,
    weak_password: 422,
    rate_limited: 429,
    invalid_token: 401,
    auth_unavailable: 503,
  };
  for (const [code, status] of Object.entries(expected)) {
    assert.equal(new AuthError(code as AuthError["code"], "m").status, status, code);
  }
});

Deno.test("bodies carry code, message and details, never the cause", () => {
  const error = invalidCredentials(new Error("password hash mismatch for ada@example.com"));
  assert.deepEqual(error.toBody(), {
    error: { code: "invalid_credentials", message: "Invalid login credentials" },
  });
  assert.deepEqual(
    validationFailed([{ path: "email", message: "Email address is invalid" }]).toBody(),
    {
      error: {
        code: "validation_failed",
        message: "Invalid input: email",
        details: [{ path: "email", message: "Email address is invalid" }],
      },
    },
  );
  const weak = new AuthError("weak_password", "too short", { reasons: ["length"] });
  assert.deepEqual(weak.toBody().error.details, { reasons: ["length"] });
});

Deno.test("toResponse: status, JSON body and Retry-After", async () => {
  const limited = new AuthError("rate_limited", "slow down", { retryAfterSeconds: 30 });
  const response = limited.toResponse();
  assert.equal(response.status, 429);
  assert.equal(response.headers.get("Retry-After"), "30");
  assert.deepEqual(await response.json(), {
    error: { code: "rate_limited", message: "slow down", details: { retry_after: 30 } },
  });
});

Deno.test("anything that is not an AuthError is an outage; outages are not definitive", () => {
  const outage = asAuthError(new TypeError("fetch failed"), "Supabase Auth");
  assert.equal(outage.code, "auth_unavailable");
  assert.equal(isDefinitive(outage), false);
  assert.equal(isDefinitive(invalidCredentials()), true);
});
