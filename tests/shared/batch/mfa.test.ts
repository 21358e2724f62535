/**
 * The TOTP records the batch writes must open with Better Auth's own decryption: the carrier
 * uses @noble/ciphers directly (key hashed once) instead of calling symmetricEncrypt per record.
 */
import assert from "node:assert/strict";
import { symmetricDecrypt, symmetricEncrypt } from "better-auth/crypto";
import { BETTER_AUTH_BASE32_PREFIX, TotpCarrier } from "../../../shared/batch/mfa.ts";

const SECRET = "mfa-test-better-auth-secret-0123456789abcdef";

Deno.test("TotpCarrier: Better Auth's symmetricDecrypt opens every record it writes", async () => {
  const factors = [
    { user_id: "00000000-0000-4000-8000-000000000001", secret: "JBSWY3DPEHPK3PXP" },
    { user_id: "00000000-0000-4000-8000-000000000002", secret: "gezdgnbvgy3tqojq" },
    { user_id: "00000000-0000-4000-8000-000000000003", secret: "JBSWY3DPEHPK3PXP" },
  ];
  const records = await new TotpCarrier(SECRET).records(factors);
  assert.deepEqual(records.map((r) => r.user_id), factors.map((f) => f.user_id));
  for (const [i, record] of records.entries()) {
    assert.equal(
      await symmetricDecrypt({ key: SECRET, data: record.secret }),
      `${BETTER_AUTH_BASE32_PREFIX}${factors[i]!.secret.toUpperCase()}`,
    );
    assert.equal(await symmetricDecrypt({ key: SECRET, data: record.backup_codes }), "[]");
  }
  // A fresh nonce per record: two users with one secret get different ciphertexts.
  assert.notEqual(records[0]!.secret, records[2]!.secret);
  // Another key cannot open them.
  await assert.rejects(() => symmetricDecrypt({ key: `${SECRET}x`, data: records[0]!.secret }));
  // The same format as Better Auth's own output: hex of nonce (24 bytes) + ciphertext + tag.
  const theirs = await symmetricEncrypt({ key: SECRET, data: "base32:JBSWY3DPEHPK3PXP" });
  assert.equal(records[0]!.secret.length, theirs.length);
  assert.match(records[0]!.secret, /^[0-9a-f]+$/);
});

Deno.test("TotpCarrier: no factors, no records", async () => {
  assert.deepEqual(await new TotpCarrier(SECRET).records([]), []);
});
