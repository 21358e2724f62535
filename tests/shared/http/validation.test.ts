import assert from "node:assert/strict";
import { Hono } from "hono";
import { z } from "zod";
import { HttpError } from "../../../shared/http/errors.ts";
import {
  formatIssuePath,
  isJsonContentType,
  issuesToDetails,
  queryParams,
  readJsonBody,
  routeParams,
  validate,
} from "../../../shared/http/validation.ts";

const json = (body: string, contentType = "application/json; charset=utf-8") =>
  new Request("http://x/", { method: "POST", headers: { "content-type": contentType }, body });

const Signup = z.object({
  email: z.email(),
  password: z.string().min(8),
  metadata: z.object({ age: z.number().int().min(0), tags: z.array(z.string()) }).optional(),
});

function failure<T>(result: { ok: true; value: T } | { ok: false; error: HttpError }): HttpError {
  assert.ok(!result.ok, "expected a failure");
  return result.error;
}

Deno.test("paths are dotted with array indexes; the empty path names the whole value", () => {
  assert.equal(formatIssuePath(["metadata", "age"], "body"), "metadata.age");
  assert.equal(formatIssuePath(["items", 0, "sku"], "body"), "items.0.sku");
  assert.equal(formatIssuePath([], "query"), "query");
});

Deno.test("readJsonBody (plain Request handlers): value on success, 4xx HttpError otherwise", async () => {
  const good = await readJsonBody(json('{"email":"a@b.io","password":"12345678"}'), Signup);
  assert.ok(good.ok);
  assert.deepEqual(good.value, { email: "a@b.io", password: "12345678" });

  const nested = failure(
    await readJsonBody(
      json('{"email":"a@b.io","password":"12345678","metadata":{"age":-1,"tags":["a",2]}}'),
      Signup,
    ),
  );
  assert.equal(nested.status, 400);
  assert.equal(nested.code, "validation_failed");
  assert.deepEqual(
    (nested.details as { path: string }[]).map((detail) => detail.path),
    ["metadata.age", "metadata.tags.1"],
  );

  const missing = failure(await readJsonBody(json("{}"), Signup));
  assert.deepEqual((missing.details as { path: string }[]).map((d) => d.path), [
    "email",
    "password",
  ]);

  assert.equal(failure(await readJsonBody(json("{nope"), Signup)).code, "invalid_json");
  assert.equal(failure(await readJsonBody(json("   "), Signup)).code, "invalid_json");
  const binary = new Request("http://x/", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
  });
  assert.equal(
    failure(await readJsonBody(binary, Signup)).message,
    "Request body is not valid UTF-8",
  );
  const text = failure(await readJsonBody(json("{}", "text/plain"), Signup));
  assert.equal(text.status, 415);
  const none = new Request("http://x/", { method: "POST", body: "{}" });
  none.headers.delete("content-type");
  assert.equal(failure(await readJsonBody(none, Signup)).status, 415);
  const big = failure(
    await readJsonBody(json(JSON.stringify({ pad: "x".repeat(100) })), Signup, { maxBytes: 50 }),
  );
  assert.equal(big.status, 413);
});

Deno.test("strict objects name each unknown field", async () => {
  const strict = z.strictObject({ email: z.email() });
  const error = failure(await validate(strict, { email: "a@b.io", admin: true, role: "x" }));
  assert.deepEqual(error.details, [
    { path: "admin", message: "is not an accepted field" },
    { path: "role", message: "is not an accepted field" },
  ]);
  assert.equal(error.message, "Invalid request body: admin, role");
});

Deno.test("issuesToDetails keeps zod's per-field messages", () => {
  const parsed = Signup.safeParse({ email: 1, password: "x" });
  assert.ok(!parsed.success);
  const details = issuesToDetails(parsed.error.issues);
  assert.equal(details.length, 2);
  assert.match(details[1]!.message, /8/);
});

Deno.test("JSON media types include +json and parameters", () => {
  assert.ok(isJsonContentType("application/json"));
  assert.ok(isJsonContentType("Application/JSON; charset=utf-8"));
  assert.ok(isJsonContentType("application/vnd.api+json"));
  assert.ok(!isJsonContentType("text/json"));
  assert.ok(!isJsonContentType(null));
});

Deno.test("queryParams and routeParams validate with coercion and name the parameter", async () => {
  const app = new Hono();
  app.get(
    "/agents/:id",
    routeParams(z.object({ id: z.uuid() })),
    queryParams(
      z.object({
        limit: z.coerce.number().int().max(100).default(20),
        tag: z.array(z.string()).optional(),
      }),
    ),
    (c) => c.json({ id: c.req.valid("param").id, query: c.req.valid("query") }),
  );
  const id = crypto.randomUUID();
  const good = await app.request(`/agents/${id}?limit=5`);
  assert.deepEqual(await good.json(), { id, query: { limit: 5 } });
  const repeated = await app.request(`/agents/${id}?tag=a&tag=b`);
  assert.deepEqual((await repeated.json()).query, { limit: 20, tag: ["a", "b"] });

  const badQuery = await app.request(`/agents/${id}?limit=500`);
  assert.equal(badQuery.status, 400);
  const queryError = (await badQuery.json()).error;
  assert.equal(queryError.message, "Invalid query parameters: limit");
  assert.equal(queryError.details[0].path, "limit");

  const badId = await app.request("/agents/not-a-uuid");
  assert.equal(badId.status, 400);
  assert.equal((await badId.json()).error.message, "Invalid path parameters: id");
});
