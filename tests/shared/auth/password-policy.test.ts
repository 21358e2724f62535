import assert from "node:assert/strict";
import {
  checkLoginPassword,
  checkNewPassword,
  DEFAULT_PASSWORD_POLICY,
  DIGITS,
  LOWER,
  UPPER,
} from "../../../shared/auth/password-policy.ts";

Deno.test("new passwords: length is counted in UTF-8 bytes, as GoTrue does", () => {
  assert.equal(checkNewPassword("12345678", DEFAULT_PASSWORD_POLICY), null);
  const short = checkNewPassword("1234567", DEFAULT_PASSWORD_POLICY);
  assert.equal(short?.code, "weak_password");
  assert.equal(short?.status, 422);
  assert.deepEqual(short?.reasons, ["length"]);
  assert.equal(checkNewPassword("éééé", DEFAULT_PASSWORD_POLICY), null, "4 characters, 8 bytes");
});

Deno.test("new passwords over 72 bytes are a 400 naming the field (bcrypt would truncate)", () => {
  assert.equal(checkNewPassword("a".repeat(72), DEFAULT_PASSWORD_POLICY), null);
  const long = checkNewPassword("a".repeat(73), DEFAULT_PASSWORD_POLICY);
  assert.equal(long?.code, "validation_failed");
  assert.equal(long?.status, 400);
  assert.deepEqual(long?.details, [{
    path: "password",
    message: "Password cannot be longer than 72 characters",
  }]);
});

Deno.test("required character sets report 'characters' alongside 'length'", () => {
  const policy = { ...DEFAULT_PASSWORD_POLICY, requiredCharacterSets: [LOWER, UPPER, DIGITS] };
  assert.equal(checkNewPassword("Abcdefg1", policy), null);
  const weak = checkNewPassword("abc", policy);
  assert.deepEqual(weak?.reasons, ["length", "characters"]);
  assert.match(weak!.message, /at least one character of each/);
});

Deno.test("login passwords: no minimum, so passwords older than the policy still work", () => {
  assert.equal(checkLoginPassword("abc", DEFAULT_PASSWORD_POLICY), null);
  assert.equal(checkLoginPassword("", DEFAULT_PASSWORD_POLICY)?.code, "validation_failed");
  assert.equal(
    checkLoginPassword("x".repeat(73), DEFAULT_PASSWORD_POLICY)?.code,
    "validation_failed",
  );
});
