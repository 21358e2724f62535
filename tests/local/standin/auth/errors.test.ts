import assert from "node:assert/strict";
import {
  apiVersionHeaders,
  badRequest,
  gotrueErrorBody,
  OAuthStyleError,
  usesModernErrorFormat,
  weakPasswordError,
} from "../../../../local/standin/auth/errors.ts";

Deno.test("error bodies follow the requested API version, as GoTrue's HandleResponseError", () => {
  const error = badRequest("invalid_credentials", "Invalid login credentials");
  assert.deepEqual(gotrueErrorBody(error, "2024-01-01"), {
    status: 400,
    body: { code: "invalid_credentials", message: "Invalid login credentials" },
  });
  assert.deepEqual(gotrueErrorBody(error, null), {
    status: 400,
    body: { code: 400, error_code: "invalid_credentials", msg: "Invalid login credentials" },
  });
  assert.deepEqual(gotrueErrorBody(weakPasswordError("too short", ["length"]), "2025-06-01").body, {
    code: "weak_password",
    message: "too short",
    weak_password: { reasons: ["length"] },
  });
  assert.deepEqual(
    gotrueErrorBody(new OAuthStyleError("invalid_request", "refresh_token required"), null),
    {
      status: 400,
      body: { error: "invalid_request", error_description: "refresh_token required" },
    },
  );
});

Deno.test("only well-formed versions from 2024-01-01 on select the modern format", () => {
  assert.equal(usesModernErrorFormat("2024-01-01"), true);
  assert.equal(usesModernErrorFormat("2023-12-31"), false);
  assert.equal(usesModernErrorFormat("2024-13-01"), false);
  assert.equal(usesModernErrorFormat("latest"), false);
  assert.deepEqual(apiVersionHeaders("2030-01-01"), { "X-Supabase-Api-Version": "2024-01-01" });
  assert.deepEqual(apiVersionHeaders(undefined), {});
});
