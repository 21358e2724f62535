import assert from "node:assert/strict";
import {
  isSecretKey,
  REDACTED,
  redactEmails,
  redactSecrets,
  redactString,
} from "../../../shared/observability/redact.ts";

const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLXNpZw";

Deno.test("secret keys are redacted at any depth; other values kept", () => {
  const input = {
    email: "a@b.io",
    password: "hunter2",
    nested: { access_token: "t", apiKey: "k", list: [{ refresh_token: "r", ok: 1 }] },
    headers: { Authorization: `Bearer ${JWT}`, apikey: "sb_publishable_abc", accept: "json" },
  };
  assert.deepEqual(redactSecrets(input), {
    email: "a@b.io",
    password: REDACTED,
    nested: {
      access_token: REDACTED,
      apiKey: REDACTED,
      list: [{ refresh_token: REDACTED, ok: 1 }],
    },
    headers: { Authorization: REDACTED, apikey: REDACTED, accept: "json" },
  });
  assert.ok(isSecretKey("SUPABASE_SERVICE_ROLE_KEY"));
  assert.ok(!isSecretKey("email"));
});

Deno.test("name=value pairs and JSON members inside strings lose their secret values", () => {
  assert.equal(
    redactString("GET /cb?access_token=abc.def&type=recovery&apikey=xyz"),
    `GET /cb?access_token=${REDACTED}&type=recovery&apikey=${REDACTED}`,
  );
  assert.equal(
    redactString("db said password=hunter2 (retry)"),
    `db said password=${REDACTED} (retry)`,
  );
  assert.equal(
    redactString('body {"email":"a@b.io", "password" : "hunter2", "n":1}'),
    `body {"email":"a@b.io", "password" : "${REDACTED}", "n":1}`,
  );
  // Field names in validation and config messages stay readable.
  assert.equal(
    redactString("BETTER_AUTH_SECRET: must be at least 32 characters"),
    "BETTER_AUTH_SECRET: must be at least 32 characters",
  );
  assert.equal(redactString("page=2&limit=10"), "page=2&limit=10");
  assert.equal(redactString(`authorization: Bearer ${JWT}`), `authorization: Bearer ${REDACTED}`);
  assert.equal(redactString("authorization: Bearer opaque-token-1"), `authorization: ${REDACTED}`);
  assert.equal(
    redactString("postgres://app:s3cret@db:5432/x?sslmode=require"),
    `postgres://app:${REDACTED}@db:5432/x?sslmode=require`,
  );
});

Deno.test("e-mail addresses are scrubbed only when asked", () => {
  assert.equal(
    redactEmails("login failed for Alice.Smith+x@Example.co.uk."),
    `login failed for ${REDACTED}.`,
  );
  const input = { email: "a@b.io", note: "contact bob@c.org", user: { user_email: "c@d.io" } };
  assert.deepEqual(redactSecrets(input), input);
  assert.deepEqual(redactSecrets(input, { emails: true }), {
    email: REDACTED,
    note: `contact ${REDACTED}`,
    user: { user_email: REDACTED },
  });
});

Deno.test("errors become { name, message } and cycles survive", () => {
  const cyclic: Record<string, unknown> = { token: "t" };
  cyclic.self = cyclic;
  const out = redactSecrets({ error: new Error(`bad ${JWT}`), cyclic });
  assert.deepEqual(out.error, { name: "Error", message: `bad ${REDACTED}` });
  const copy = out.cyclic as Record<string, unknown>;
  assert.equal(copy.token, REDACTED);
  assert.equal(copy.self, copy);
});
