import assert from "node:assert/strict";
import {
  isAcceptableRequestId,
  REQUEST_ID_HEADER,
  requestIdFor,
  withRequestIdHeader,
} from "../../../shared/http/request-id.ts";
import { requestIdOf } from "../../../shared/migrator/http.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

Deno.test("acceptable ids are plain tokens of 8 to 128 characters", () => {
  for (const good of ["abcdefgh", "req-2026.11:23_x", crypto.randomUUID(), "A".repeat(128)]) {
    assert.ok(isAcceptableRequestId(good), good);
  }
  for (
    const bad of [
      null,
      undefined,
      "",
      "short",
      "-leading",
      "A".repeat(129),
      "a b c d e f",
      "x\r\ny: z",
    ]
  ) {
    assert.ok(!isAcceptableRequestId(bad), String(bad));
  }
});

Deno.test("the same id as the EdgeFunctionMigrator for a valid header; a UUID otherwise", () => {
  const withId = new Request("http://x/", { headers: { [REQUEST_ID_HEADER]: "client-id-42" } });
  assert.equal(requestIdFor(withId), "client-id-42");
  assert.equal(requestIdOf(withId), "client-id-42");
  assert.match(requestIdFor(new Request("http://x/")), UUID);
  const hostile = new Request("http://x/", { headers: { [REQUEST_ID_HEADER]: "<script>" } });
  assert.match(requestIdFor(hostile), UUID);
});

Deno.test("withRequestIdHeader copies only when needed and keeps method and body", async () => {
  const original = new Request("http://x/p?q=1", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"a":1}',
  });
  const copy = withRequestIdHeader(original, "generated-id-1");
  assert.notEqual(copy, original);
  assert.equal(copy.method, "POST");
  assert.equal(copy.url, "http://x/p?q=1");
  assert.equal(copy.headers.get("content-type"), "application/json");
  assert.equal(copy.headers.get(REQUEST_ID_HEADER), "generated-id-1");
  assert.equal(await copy.text(), '{"a":1}');
  assert.equal(withRequestIdHeader(copy, "generated-id-1"), copy, "already carries it");
});
