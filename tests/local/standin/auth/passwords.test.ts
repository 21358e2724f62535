import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import {
  checkPasswordStrength,
  hashPassword,
  isBcryptHash,
  toGoBcryptPrefix,
  verifyPassword,
} from "../../../../local/standin/auth/passwords.ts";

Deno.test("hashPassword writes GoTrue's $2a$10$ hashes that bcryptjs verifies", async () => {
  const hash = await hashPassword("correct horse");
  assert.match(hash, /^\$2a\$10\$[./A-Za-z0-9]{53}$/);
  assert.equal(await bcrypt.compare("correct horse", hash), true);
  assert.equal(await verifyPassword("correct horse", hash), true);
  assert.equal(await verifyPassword("Correct horse", hash), false);
  // $2a$ and $2b$ compute identically for passwords up to 72 bytes.
  const b = await bcrypt.hash("same input", 4);
  assert.equal(await bcrypt.compare("same input", toGoBcryptPrefix(b)), true);
});

Deno.test("verifyPassword is false, never a throw, for missing or malformed hashes", async () => {
  assert.equal(await verifyPassword("x", null), false);
  assert.equal(await verifyPassword("x", ""), false);
  assert.equal(await verifyPassword("x", "$2a$10$short"), false);
  assert.equal(isBcryptHash("$argon2id$v=19$m=4096"), false);
});

Deno.test("checkPasswordStrength: > 72 bytes is 400, < 6 bytes is 422 weak_password", () => {
  assert.equal(checkPasswordStrength("abcdef"), null);
  const weak = checkPasswordStrength("abc");
  assert.equal(weak?.status, 422);
  assert.equal(weak?.errorCode, "weak_password");
  assert.deepEqual(weak?.extra, { weak_password: { reasons: ["length"] } });
  const long = checkPasswordStrength("é".repeat(37)); // 74 bytes, 37 characters
  assert.equal(long?.status, 400);
  assert.equal(long?.errorCode, "validation_failed");
  assert.equal(
    checkPasswordStrength("abcdefgh", 10)?.message,
    "Password should be at least 10 characters.",
  );
});
