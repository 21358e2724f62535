/**
 * EmailConfirmationSetting reads "Confirm email" from GoTrue's public GET /settings, as the Auth
 * stand-in answers it in both profiles: hosted (confirmation required) and lenient (autoconfirm).
 * It caches the answer, and an answer it cannot read counts as "required" without being cached.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { EmailConfirmationSetting } from "../../../shared/auth/email-confirmation-setting.ts";
import { createAuthApi } from "../../../local/standin/auth/app.ts";
import { AUTH_SCHEMA_URL } from "../../../local/standin/database.ts";
import { createStandinKeys } from "../../../local/standin/keys.ts";
import { freshPglite } from "../../helpers/db.ts";

Deno.test("EmailConfirmationSetting: GoTrue's mailer_autoconfirm, cached; unreadable → required", async () => {
  const db = await freshPglite();
  try {
    await db.exec(await Deno.readTextFile(AUTH_SCHEMA_URL));
    const keys = await createStandinKeys();
    const standin = (profile: "hosted" | "lenient") =>
      new Hono().route("/auth/v1", createAuthApi({ sql: db, keys, profile }));
    const fetchVia = (app: Hono, calls: string[]): typeof fetch => async (input, init) => {
      calls.push(String(input));
      return await app.fetch(new Request(input, init));
    };

    const hostedCalls: string[] = [];
    const hosted = new EmailConfirmationSetting({
      url: "http://project.local/",
      anonKey: keys.anonKey,
      fetch: fetchVia(standin("hosted"), hostedCalls),
    });
    assert.equal(await hosted.required(), true, "hosted: Confirm email on");
    assert.equal(await hosted.required(), true);
    assert.deepEqual(hostedCalls, ["http://project.local/auth/v1/settings"], "read once, cached");

    const lenient = new EmailConfirmationSetting({
      url: "http://project.local",
      anonKey: keys.anonKey,
      fetch: fetchVia(standin("lenient"), []),
    });
    assert.equal(await lenient.required(), false, "lenient: autoconfirm");

    // Auth unreachable at first, then back: "required" meanwhile, and not remembered.
    let reachable = false;
    const lenientApp = standin("lenient");
    const flaky = new EmailConfirmationSetting({
      url: "http://project.local",
      anonKey: keys.anonKey,
      fetch: async (input, init) => {
        if (!reachable) throw new TypeError("connection refused");
        return await lenientApp.fetch(new Request(input, init));
      },
    });
    assert.equal(await flaky.required(), true, "unreadable: the careful answer");
    reachable = true;
    assert.equal(await flaky.required(), false, "asked again once Auth answers");

    // A wrong key is refused by Auth (401): not an answer either.
    const wrongKey = new EmailConfirmationSetting({
      url: "http://project.local",
      anonKey: "not-a-key",
      fetch: fetchVia(standin("lenient"), []),
    });
    assert.equal(await wrongKey.required(), true);
  } finally {
    await db.close();
  }
});
