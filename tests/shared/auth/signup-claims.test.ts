import assert from "node:assert/strict";
import { SignupClaims } from "../../../shared/auth/signup-claims.ts";
import { sqlProviders } from "../../helpers/db.ts";

for (const provider of sqlProviders()) {
  Deno.test(`SignupClaims on ${provider.name}: one in-flight signup per email, leases expire`, async () => {
    const db = await provider.open();
    const claims = new SignupClaims(db);
    try {
      const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
      const results = await Promise.all([
        claims.claim("Ada@example.com", a, 60_000),
        claims.claim("ada@example.com", b, 60_000),
      ]);
      assert.deepEqual(results.sort(), [false, true]);
      const { rows } = await db.query<{ user_id: string }>(
        `SELECT user_id::text AS user_id FROM auth_signup_claims`,
      );
      const owner = rows[0]!.user_id;
      await claims.release("ada@example.com", crypto.randomUUID()); // not the owner: no effect
      assert.equal(await claims.claim("ada@example.com", crypto.randomUUID(), 60_000), false);
      await claims.release("ada@example.com", owner);
      assert.equal(await claims.claim("ada@example.com", a, 1), true);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(
        await claims.claim("ada@example.com", b, 60_000),
        true,
        "an expired lease is taken over",
      );
    } finally {
      await db.close();
    }
  });
}
