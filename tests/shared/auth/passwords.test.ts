import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import {
  hashPassword as betterAuthHash,
  verifyPassword as betterAuthVerify,
} from "better-auth/crypto";
import {
  hashBcrypt,
  hashKind,
  hashPassword,
  isLegacyHash,
  verifyPassword,
} from "../../../shared/auth/passwords.ts";

const PASSWORD = "correct-horse-battery";

Deno.test("bcrypt hashes of every label verify ($2a$ from Go, $2b$ and $2y$ from imports)", async () => {
  const base = await bcrypt.hash(PASSWORD, 4);
  for (const prefix of ["$2a$", "$2b$", "$2y$"]) {
    const hash = `${prefix}${base.slice(4)}`;
    assert.equal(hashKind(hash), "bcrypt");
    assert.ok(isLegacyHash(hash));
    assert.equal(await verifyPassword(hash, PASSWORD), true, prefix);
    assert.equal(await verifyPassword(hash, "wrong"), false, prefix);
  }
});

Deno.test("new hashes are bcrypt by default (Supabase can import them)", async () => {
  const ours = await hashPassword(PASSWORD);
  assert.equal(hashKind(ours), "bcrypt");
  assert.ok(ours.startsWith("$2a$10$"), "GoTrue's label and cost");
  assert.equal(await verifyPassword(ours, PASSWORD), true);
  assert.equal(await verifyPassword(ours, "wrong"), false);
});

Deno.test("scrypt hashes are Better Auth's native format, both ways compatible", async () => {
  const ours = await hashPassword(PASSWORD, "scrypt");
  assert.equal(hashKind(ours), "scrypt");
  assert.equal(await betterAuthVerify({ hash: ours, password: PASSWORD }), true);
  const theirs = await betterAuthHash(PASSWORD);
  assert.equal(await verifyPassword(theirs, PASSWORD), true);
  assert.equal(await verifyPassword(theirs, "wrong"), false);
});

Deno.test("unknown or corrupt hashes never verify and never throw", async () => {
  for (const hash of ["", "plain", "$2a$10$short", "$argon2id$v=19$m=65536", "zz:zz"]) {
    assert.equal(hashKind(hash), null);
    assert.equal(await verifyPassword(hash, PASSWORD), false);
  }
});

Deno.test("hashBcrypt writes GoTrue's $2a$ label", async () => {
  const hash = await hashBcrypt(PASSWORD, 4);
  assert.ok(hash.startsWith("$2a$04$"));
  assert.equal(await verifyPassword(hash, PASSWORD), true);
});
