import assert from "node:assert/strict";
import {
  BodyTooLargeError,
  copyRequest,
  readBody,
  requestIdOf,
  stampResponse,
} from "../../../shared/migrator/http.ts";

function streamed(chunks: string[]): Request {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
  return new Request("http://x/signup", { method: "POST", body });
}

Deno.test("readBody: streamed bodies without content-length are joined and bounded", async () => {
  const bytes = await readBody(streamed(['{"email":', '"a@b.co"}']), 100);
  assert.equal(new TextDecoder().decode(bytes!), '{"email":"a@b.co"}');
  await assert.rejects(
    () => readBody(streamed(["x".repeat(60), "y".repeat(60)]), 100),
    BodyTooLargeError,
  );
  assert.equal(await readBody(new Request("http://x/"), 100), null);
});

Deno.test("copyRequest: every copy has its own readable body, headers and method kept", async () => {
  const original = new Request("http://x/login?next=1", {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: "Bearer t" },
    body: '{"a":1}',
  });
  const body = await readBody(original, 1000);
  const first = copyRequest(original, body);
  const second = copyRequest(original, body);
  assert.deepEqual(await first.json(), { a: 1 });
  assert.deepEqual(await second.json(), { a: 1 });
  assert.equal(second.method, "PUT");
  assert.equal(second.url, "http://x/login?next=1");
  assert.equal(second.headers.get("authorization"), "Bearer t");
});

Deno.test("request ids: plain tokens honoured, anything else replaced", () => {
  const withId = (id: string) => new Request("http://x/", { headers: { "x-request-id": id } });
  assert.equal(requestIdOf(withId("abc-123_4567.89")), "abc-123_4567.89");
  assert.notEqual(requestIdOf(withId("short")), "short");
  assert.notEqual(requestIdOf(withId("<script>alert(1)</script>")), "<script>alert(1)</script>");
  assert.match(requestIdOf(new Request("http://x/")), /^[0-9a-f-]{36}$/);
});

Deno.test("stampResponse: sets both headers, even on immutable responses", () => {
  const stamped = stampResponse(
    Response.redirect("http://x/next", 303),
    "req-12345678",
    "abstracted",
  );
  assert.equal(stamped.headers.get("x-request-id"), "req-12345678");
  assert.equal(stamped.headers.get("x-migration-path"), "abstracted");
  assert.equal(stamped.status, 303);
  assert.equal(stamped.headers.get("location"), "http://x/next");
});
