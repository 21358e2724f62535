import assert from "node:assert/strict";
import { DivergenceRepository } from "../../../shared/auth/divergences.ts";
import { sqlProviders } from "../../helpers/db.ts";

const HASH = "$2a$10$abcdefghijklmnopqrstuuL2Bv5cW1f0kBq5Yb4E9kqRrP0m7dJ7a";

for (const provider of sqlProviders()) {
  Deno.test(`DivergenceRepository on ${provider.name}`, async (t) => {
    const db = await provider.open();
    const repo = new DivergenceRepository(db);
    const userId = crypto.randomUUID();
    try {
      await t.step("one open row per user and kind; the first hash is kept", async () => {
        await repo.record({
          userId,
          email: "a@example.com",
          kind: "missing_user",
          missingSide: "supabase",
          operation: "signup",
          reason:
            "auth_unavailable: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
          passwordHash: HASH,
        });
        await repo.record({
          userId,
          email: "a@example.com",
          kind: "missing_user",
          missingSide: "supabase",
          operation: "signup",
          reason: "again",
        });
        const rows = await repo.listForUser(userId);
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.reason, "again");
        assert.equal(rows[0]!.passwordHash, HASH);
        assert.equal(await repo.countOpen(), 1);
      });

      await t.step("reasons are stored redacted", async () => {
        const other = crypto.randomUUID();
        await repo.record({
          userId: other,
          email: "b@example.com",
          kind: "aborted_signup",
          operation: "signup",
          reason: "failed with Bearer abc.def.ghi and eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
          details: { password: "hunter2" },
        });
        const [row] = await repo.listForUser(other);
        assert.ok(!row!.reason.includes("eyJ"));
        assert.deepEqual(row!.details, { password: "[redacted]" });
        await repo.markResolved(row!.id, "nothing had landed");
      });

      await t.step("resolving clears the hash; failing attempts park the row", async () => {
        const [row] = await repo.listForUser(userId);
        await repo.markAttemptFailed(row!.id, "conflict", 2);
        assert.equal((await repo.listOpen({ maxAttempts: 2 })).length, 1);
        await repo.markAttemptFailed(row!.id, "conflict", 2);
        assert.equal((await repo.listForUser(userId))[0]!.status, "failed");
        assert.equal(await repo.countOpen(), 0);

        await repo.record({
          userId,
          email: "a@example.com",
          kind: "missing_user",
          missingSide: "better_auth",
          operation: "login",
          reason: "new",
          passwordHash: HASH,
        });
        assert.equal(await repo.resolveOpen(userId, "missing_user", "late write landed"), true);
        const latest = (await repo.listForUser(userId)).at(-1)!;
        assert.equal(latest.status, "resolved");
        assert.equal(latest.passwordHash, undefined);
        assert.equal(latest.details?.resolution, "late write landed");
      });
    } finally {
      await db.close();
    }
  });
}
