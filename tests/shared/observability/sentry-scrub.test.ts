import assert from "node:assert/strict";
import type { Event } from "@sentry/deno";
import {
  scrubAttributes,
  scrubBreadcrumb,
  scrubEvent,
} from "../../../shared/observability/sentry-scrub.ts";

const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLXNpZw";

function sampleEvent(): Event {
  return {
    event_id: "e1",
    message: "user bob@example.org failed: password=hunter2",
    tags: { function: "login", mode: "dual_write", migration_path: "original" },
    user: { id: "u1", email: "bob@example.org", ip_address: "203.0.113.9" },
    request: {
      url: "https://x.supabase.co/functions/v1/login?apikey=sb_publishable_k&next=/home",
      method: "POST",
      query_string: "apikey=sb_publishable_k&next=/home",
      headers: {
        Authorization: `Bearer ${JWT}`,
        apikey: "sb_publishable_k",
        Cookie: "sb-access-token=abc",
        "X-Api-Key": "k-1",
        "content-type": "application/json",
      },
      cookies: { "sb-access-token": "abc" },
      data: { email: "bob@example.org", password: "hunter2", remember: true },
    },
    extra: { body: '{"email":"bob@example.org","refresh_token":"rt-1"}' },
    exception: {
      values: [{
        type: "Error",
        value: `token ${JWT} rejected for bob@example.org`,
        stacktrace: { frames: [{ context_line: 'const key = "sb_secret_abc123";' }] },
      }],
    },
    breadcrumbs: [{ category: "fetch", data: { url: "https://api/x?access_token=tok-9" } }],
  };
}

Deno.test("events lose passwords, tokens, keys, credential headers, cookies, IPs and (when asked) e-mails", () => {
  const metadata = { normalizedRequest: { headers: { authorization: "kept for the SDK" } } };
  const event = { ...sampleEvent(), sdkProcessingMetadata: metadata };
  const clean = scrubEvent(event, { emails: true });
  const text = JSON.stringify({ ...clean, sdkProcessingMetadata: undefined });
  for (
    const leak of [
      "hunter2",
      JWT,
      "sb_publishable_k",
      "sb-access-token=abc",
      "k-1",
      "rt-1",
      "tok-9",
      "sb_secret_abc123",
      "bob@example.org",
      "203.0.113.9",
    ]
  ) {
    assert.ok(!text.includes(leak), `leaks ${leak}: ${text}`);
  }
  assert.deepEqual(clean.tags, event.tags, "tags kept");
  assert.equal(clean.request?.headers?.["content-type"], "application/json");
  assert.equal(
    clean.request?.url,
    "https://x.supabase.co/functions/v1/login?apikey=[redacted]&next=/home",
  );
  assert.equal(clean.user?.id, "u1");
  assert.equal(clean.sdkProcessingMetadata, metadata, "SDK-internal metadata kept by reference");
  assert.notEqual(clean, event, "a copy; the original is untouched");
  assert.equal(
    event.request?.data && (event.request.data as { password: string }).password,
    "hunter2",
  );
});

Deno.test("without e-mail scrubbing, addresses stay (secrets still go)", () => {
  const clean = scrubEvent(sampleEvent(), { emails: false });
  assert.equal(clean.user?.email, "bob@example.org");
  assert.ok(!JSON.stringify(clean).includes("hunter2"));
});

Deno.test("breadcrumbs and metric attributes are scrubbed the same way", () => {
  const crumb = scrubBreadcrumb(
    { category: "console", message: `Authorization: Bearer ${JWT}`, data: { apikey: "k" } },
    { emails: true },
  );
  assert.ok(!JSON.stringify(crumb).includes(JWT));
  assert.equal(crumb.data?.apikey, "[redacted]");
  assert.deepEqual(
    scrubAttributes({ email: "a@b.io", type: "login", token: "t" }, { emails: true }),
    { email: "[redacted]", type: "login", token: "[redacted]" },
  );
  assert.equal(scrubAttributes(undefined, { emails: true }), undefined);
});
