import assert from "node:assert/strict";
import { RuntimeFlagsStore } from "../../../shared/flags/store.ts";
import { sqlProviders } from "../../helpers/db.ts";

for (const provider of sqlProviders()) {
  Deno.test(`RuntimeFlagsStore on ${provider.name}`, async (t) => {
    const db = await provider.open();
    const store = new RuntimeFlagsStore(db);
    try {
      await t.step("no rows: both null (and no stage row for a staged function)", async () => {
        const rows = await store.rowsFor("signup");
        assert.ok(rows.ok);
        assert.deepEqual(rows.value, { global: null, function: null, stage: null });
        const other = await store.rowsFor("coordinator");
        assert.ok(other.ok);
        assert.deepEqual(other.value, { global: null, function: null }, "no stages: no stage key");
      });

      await t.step(
        "upsert creates, a partial patch keeps other columns, version bumps",
        async () => {
          const created = await store.upsert("signup", {
            rolloutPercentage: 12.5,
            canaryEnabled: true,
            canarySelection: "email_domain",
            canaryEmailDomains: ["@Staff.Example.com"],
            canaryWhitelist: [],
          }, { updatedBy: "ops@example.com", reason: "start rollout" });
          assert.ok(created.ok, JSON.stringify(!created.ok && created.error.message));
          assert.equal(created.value.rolloutPercentage, 12.5);
          assert.deepEqual(created.value.canaryEmailDomains, ["staff.example.com"]);
          assert.deepEqual(created.value.canaryWhitelist, [], "empty list stays '{}', not NULL");
          assert.equal(created.value.enableFallback, null);
          assert.equal(created.value.version, 1);
          assert.equal(created.value.updatedBy, "ops@example.com");

          const updated = await store.upsert("signup", {
            rolloutPercentage: 25,
            enableFallback: false,
          });
          assert.ok(updated.ok);
          assert.equal(updated.value.rolloutPercentage, 25);
          assert.equal(updated.value.enableFallback, false);
          assert.equal(updated.value.canarySelection, "email_domain", "untouched column kept");
          assert.equal(updated.value.version, 2);

          const cleared = await store.upsert("signup", { canaryEmailDomains: null });
          assert.ok(cleared.ok);
          assert.equal(cleared.value.canaryEmailDomains, null, "null clears back to inherit");
        },
      );

      await t.step("the global row and kill switch; rowsFor reads both in one go", async () => {
        const killed = await store.setKillSwitch(true, { updatedBy: "oncall", reason: "incident" });
        assert.ok(killed.ok);
        const rows = await store.rowsFor("signup");
        assert.ok(rows.ok);
        assert.equal(rows.value.global?.forceOriginal, true);
        assert.equal(rows.value.function?.rolloutPercentage, 25);
        const list = await store.list();
        assert.ok(list.ok);
        assert.deepEqual(list.value.map((r) => r.functionName), ["*", "signup"]);
      });

      await t.step("bad input is a validation error naming the field", async () => {
        const cases: Array<[string, unknown, string]> = [
          ["signup", { rolloutPercentage: 101 }, "rolloutPercentage"],
          ["signup", { rolloutPercentage: 1.234 }, "rolloutPercentage"],
          ["signup", { canarySelection: "everyone" }, "canarySelection"],
          ["signup", { canaryEmailDomains: ["not a domain"] }, "canaryEmailDomains.0"],
          ["signup", { rollout: 5 }, "flags"],
          ["Bad Name", {}, "functionName"],
        ];
        for (const [name, patch, field] of cases) {
          const result = await store.upsert(name, patch);
          assert.ok(!result.ok, JSON.stringify(patch));
          assert.equal(result.error.code, "validation_failed");
          assert.equal((result.error.details as { field: string }).field, field);
        }
      });

      await t.step("delete removes a row", async () => {
        const deleted = await store.delete("signup");
        assert.ok(deleted.ok && deleted.value);
        const again = await store.delete("signup");
        assert.ok(again.ok && !again.value);
        const got = await store.get("signup");
        assert.ok(got.ok && got.value === null);
      });

      await t.step("a database failure is a database_error result, not a throw", async () => {
        await db.exec("ALTER TABLE runtime_flags RENAME TO runtime_flags_gone");
        try {
          const rows = await store.rowsFor("signup");
          assert.ok(!rows.ok);
          assert.equal(rows.error.code, "database_error");
        } finally {
          await db.exec("ALTER TABLE runtime_flags_gone RENAME TO runtime_flags");
        }
      });
    } finally {
      await db.close();
    }
  });
}
