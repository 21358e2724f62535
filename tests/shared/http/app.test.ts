import assert from "node:assert/strict";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import { createFunctionApp, type FunctionApp } from "../../../shared/http/app.ts";
import { HttpError } from "../../../shared/http/errors.ts";
import { jsonBody } from "../../../shared/http/validation.ts";
import { createLogger, createMemorySink } from "../../../shared/observability/logger.ts";
import { AppError } from "../../../shared/result.ts";

const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLXNpZw";

function setup(options: { maxBodyBytes?: number; corsOrigins?: string[]; version?: string } = {}) {
  const logs = createMemorySink();
  const app = createFunctionApp("signup", {
    logger: createLogger({ level: "debug", sink: logs.sink }),
    maxBodyBytes: options.maxBodyBytes ?? 1024,
    corsOrigins: options.corsOrigins,
    version: options.version,
  });
  return { app, logs };
}

function call(app: FunctionApp, path: string, init?: RequestInit): Promise<Response> {
  return Promise.resolve(app.fetch(new Request(`http://edge.test${path}`, init)));
}

async function errorOf(response: Response) {
  const body = await response.json();
  assert.ok(body.error, `expected the error shape, got ${JSON.stringify(body)}`);
  assert.deepEqual(
    Object.keys(body).sort(),
    ["error"],
    "nothing but `error` at the top level",
  );
  return body.error as { code: string; message: string; details?: unknown };
}

Deno.test("GET /<name>/health answers 200 with the function name (and version when given)", async () => {
  const { app } = setup({ version: "1.2.3" });
  const response = await call(app, "/signup/health");
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { status: "ok", function: "signup", version: "1.2.3" });
  const head = await call(app, "/signup/health", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");
  const bare = await call(setup().app, "/signup/health");
  assert.deepEqual(await bare.json(), { status: "ok", function: "signup" });
});

Deno.test("request ids: a valid incoming id is echoed and reaches routes; others are replaced", async (t) => {
  const { app, logs } = setup();
  app.get(
    "/echo",
    (c) => c.json({ var: c.get("requestId"), header: c.req.header("x-request-id") }),
  );

  await t.step("honoured", async () => {
    const response = await call(app, "/signup/echo", {
      headers: { "x-request-id": "client-req-0001" },
    });
    assert.equal(response.headers.get("x-request-id"), "client-req-0001");
    assert.deepEqual(await response.json(), { var: "client-req-0001", header: "client-req-0001" });
  });

  await t.step("generated when missing, and the forwarded request carries it", async () => {
    const response = await call(app, "/signup/echo");
    const id = response.headers.get("x-request-id")!;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(await response.json(), { var: id, header: id });
  });

  await t.step("a hostile or malformed id is replaced", async () => {
    for (
      const bad of ["short", "has space in it", "x".repeat(200), "évilévil-id", "a\tb-ccccccc"]
    ) {
      const response = await call(app, "/signup/echo", { headers: { "x-request-id": bad } });
      const id = response.headers.get("x-request-id")!;
      assert.notEqual(id, bad);
      assert.match(id, /^[0-9a-f-]{36}$/);
      await response.body?.cancel();
    }
  });

  await t.step("error responses carry it too, and the log lines name it", async () => {
    logs.clear();
    const response = await call(app, "/signup/nowhere", {
      headers: { "x-request-id": "client-req-0002" },
    });
    assert.equal(response.status, 404);
    assert.equal(response.headers.get("x-request-id"), "client-req-0002");
    await response.body?.cancel();
    const line = logs.records.find((record) => record.msg === "request")!;
    assert.equal(line.request_id, "client-req-0002");
    assert.equal(line.function, "signup");
    assert.equal(line.status, 404);
  });
});

Deno.test("unknown paths are 404 and wrong methods 405 with Allow, in the error shape", async () => {
  const { app } = setup();
  app.post("/items", (c) => c.json({ ok: true }, 201));
  app.get("/items/:id", (c) => c.json({ id: c.req.param("id") }));

  const missing = await call(app, "/signup/nope");
  assert.equal(missing.status, 404);
  const notFound = await errorOf(missing);
  assert.equal(notFound.code, "not_found");
  assert.match(notFound.message, /GET \/signup\/nope/);

  const outside = await call(app, "/other-function/health");
  assert.equal(outside.status, 404);
  assert.equal((await errorOf(outside)).code, "not_found");
  assert.ok(outside.headers.get("x-request-id"), "even outside the base path");

  const wrongMethod = await call(app, "/signup/items", { method: "GET" });
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.get("allow"), "POST, OPTIONS");
  const notAllowed = await errorOf(wrongMethod);
  assert.equal(notAllowed.code, "method_not_allowed");
  assert.deepEqual(notAllowed.details, { allowed: ["POST", "OPTIONS"] });

  const deleteOne = await call(app, "/signup/items/7", { method: "DELETE" });
  assert.equal(deleteOne.status, 405);
  assert.equal(deleteOne.headers.get("allow"), "GET, HEAD, OPTIONS");
  await deleteOne.body?.cancel();

  const healthPost = await call(app, "/signup/health", { method: "POST" });
  assert.equal(healthPost.status, 405);
  await healthPost.body?.cancel();
});

Deno.test("a thrown error is a generic 500: no stack, no internal text; the log has it redacted", async () => {
  const { app, logs } = setup();
  app.get("/boom", () => {
    throw new Error(`db said password=hunter2 while using ${JWT} at /srv/internal/path.ts`);
  });
  const response = await call(app, "/signup/boom", {
    headers: { "x-request-id": "req-boom-0001" },
  });
  assert.equal(response.status, 500);
  const text = await response.text();
  assert.deepEqual(JSON.parse(text), {
    error: {
      code: "internal_error",
      message: "Internal server error",
      details: { request_id: "req-boom-0001" },
    },
  });
  for (const leak of ["hunter2", JWT, "internal/path", "at ", "Error:"]) {
    assert.ok(!text.includes(leak), `response must not contain ${leak}`);
  }
  const failure = logs.records.find((record) => record.msg === "request failed")!;
  assert.equal(failure.level, "error");
  assert.equal(failure.request_id, "req-boom-0001");
  const logged = JSON.stringify(failure);
  assert.match(logged, /db said password=\[redacted\]/);
  assert.match(logged, /"stack":/, "the log keeps the stack for operators");
  assert.ok(!logged.includes("hunter2") && !logged.includes(JWT), "the log is redacted");
});

Deno.test("non-Error throws and async rejections are 500s in the same shape", async () => {
  const { app } = setup();
  app.get("/string", () => {
    throw "a string with token=abc";
  });
  app.get("/async", async () => {
    await Promise.resolve();
    throw new TypeError("cannot read properties of undefined");
  });
  for (const path of ["/signup/string", "/signup/async"]) {
    const response = await call(app, path);
    assert.equal(response.status, 500);
    const error = await errorOf(response);
    assert.equal(error.code, "internal_error");
    assert.equal(error.message, "Internal server error");
    assert.ok(response.headers.get("x-request-id"));
  }
});

Deno.test("AppError, HttpError and HTTPException keep their meaning; 5xx lose their text", async () => {
  const { app } = setup();
  app.get("/conflict", () => {
    throw new AppError("conflict", "email already registered", { field: "email" });
  });
  app.get("/db", () => {
    throw new AppError("database_error", 'relation "secret_table" does not exist');
  });
  app.get("/unavailable", () => {
    throw new AppError("unavailable", "supabase auth at 10.0.0.3 refused");
  });
  app.get("/teapot", () => {
    throw new HttpError(429, "rate_limited", "slow down", undefined, { "retry-after": "3" });
  });
  app.get("/hono", () => {
    throw new HTTPException(401, { message: "missing bearer token" });
  });

  const conflict = await call(app, "/signup/conflict");
  assert.equal(conflict.status, 409);
  assert.deepEqual(await errorOf(conflict), {
    code: "conflict",
    message: "email already registered",
    details: { field: "email" },
  });

  const db = await call(app, "/signup/db");
  assert.equal(db.status, 500);
  const dbError = await errorOf(db);
  assert.equal(dbError.code, "database_error");
  assert.equal(dbError.message, "Internal server error");
  assert.ok(!JSON.stringify(dbError).includes("secret_table"));

  const unavailable = await call(app, "/signup/unavailable");
  assert.equal(unavailable.status, 503);
  assert.equal((await errorOf(unavailable)).message, "Service temporarily unavailable");

  const limited = await call(app, "/signup/teapot");
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get("retry-after"), "3");
  assert.equal((await errorOf(limited)).code, "rate_limited");

  const hono = await call(app, "/signup/hono");
  assert.equal(hono.status, 401);
  assert.deepEqual(await errorOf(hono), { code: "unauthorized", message: "missing bearer token" });
});

Deno.test("CORS: preflight answers 204 with the supabase-js headers; responses expose the ids", async () => {
  const { app } = setup();
  const preflight = await call(app, "/signup", {
    method: "OPTIONS",
    headers: {
      origin: "https://app.example",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, x-client-info, apikey, content-type",
    },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
  const allowed = preflight.headers.get("access-control-allow-headers")!.split(",");
  for (
    const header of ["authorization", "x-client-info", "apikey", "content-type", "x-request-id"]
  ) {
    assert.ok(allowed.includes(header), `allows ${header}`);
  }
  assert.match(preflight.headers.get("access-control-allow-methods")!, /POST/);
  assert.ok(preflight.headers.get("x-request-id"));

  const health = await call(app, "/signup/health", { headers: { origin: "https://app.example" } });
  assert.equal(health.headers.get("access-control-allow-origin"), "*");
  assert.match(health.headers.get("access-control-expose-headers")!, /x-request-id/);
  assert.match(health.headers.get("access-control-expose-headers")!, /x-migration-path/);
  await health.body?.cancel();
});

Deno.test("CORS allowlist: listed origins are echoed, others get no allow-origin", async () => {
  const { app } = setup({ corsOrigins: ["https://app.example"] });
  const listed = await call(app, "/signup/health", { headers: { origin: "https://app.example" } });
  assert.equal(listed.headers.get("access-control-allow-origin"), "https://app.example");
  assert.match(listed.headers.get("vary") ?? "", /Origin/);
  await listed.body?.cancel();
  const other = await call(app, "/signup/health", { headers: { origin: "https://evil.example" } });
  assert.equal(other.headers.get("access-control-allow-origin"), null);
  await other.body?.cancel();
});

Deno.test("bodies over maxBodyBytes get 413 (declared length and chunked streams)", async () => {
  const { app } = setup({ maxBodyBytes: 64 });
  let reached = 0;
  app.post("/upload", async (c) => {
    reached++;
    return c.json({ length: (await c.req.text()).length });
  });

  const declared = await call(app, "/signup/upload", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ data: "x".repeat(200) }),
  });
  assert.equal(declared.status, 413);
  const tooLarge = await errorOf(declared);
  assert.equal(tooLarge.code, "payload_too_large");
  assert.deepEqual(tooLarge.details, [{ path: "body", message: "must be at most 64 bytes" }]);

  const chunks = [new Uint8Array(40).fill(97), new Uint8Array(40).fill(98)];
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
  });
  const chunked = await call(app, "/signup/upload", { method: "POST", body: stream });
  assert.equal(chunked.status, 413);
  await chunked.body?.cancel();
  assert.equal(reached, 0, "the route never ran");

  const small = await call(app, "/signup/upload", { method: "POST", body: "x".repeat(64) });
  assert.equal(small.status, 200);
  assert.deepEqual(await small.json(), { length: 64 });
});

Deno.test("a route with jsonBody: 400 naming each field, 400 for broken JSON, 415 for other types", async () => {
  const { app } = setup();
  const schema = z.object({
    email: z.email(),
    password: z.string().min(8),
    metadata: z.object({ age: z.number().int() }).optional(),
  });
  app.post("/", jsonBody(schema), (c) => c.json({ email: c.req.valid("json").email }, 201));
  const post = (body: BodyInit, contentType = "application/json") =>
    call(app, "/signup", { method: "POST", headers: { "content-type": contentType }, body });

  const good = await post(JSON.stringify({ email: "a@b.io", password: "long enough" }));
  assert.equal(good.status, 201);
  assert.deepEqual(await good.json(), { email: "a@b.io" });

  const bad = await post(
    JSON.stringify({ email: "nope", password: "hunter2", metadata: { age: "x" } }),
  );
  assert.equal(bad.status, 400);
  const invalid = await errorOf(bad);
  assert.equal(invalid.code, "validation_failed");
  assert.equal(invalid.message, "Invalid request body: email, password, metadata.age");
  const details = invalid.details as { path: string; message: string }[];
  assert.deepEqual(details.map((detail) => detail.path), ["email", "password", "metadata.age"]);
  assert.ok(!JSON.stringify(invalid).includes("hunter2"), "input values are not echoed");

  const broken = await post('{"email": "a@b.io", "password": "hunter2"');
  assert.equal(broken.status, 400);
  const brokenError = await errorOf(broken);
  assert.equal(brokenError.code, "invalid_json");
  assert.deepEqual(brokenError.details, [{ path: "body", message: "must be valid JSON" }]);
  assert.ok(!JSON.stringify(brokenError).includes("hunter2"), "the parser's quote of the body");

  const empty = await post("");
  assert.equal(empty.status, 400);
  assert.deepEqual((await errorOf(empty)).details, [{ path: "body", message: "is required" }]);

  const form = await post("email=a@b.io", "application/x-www-form-urlencoded");
  assert.equal(form.status, 415);
  const formError = await errorOf(form);
  assert.equal(formError.code, "unsupported_media_type");
  assert.deepEqual(formError.details, [{
    path: "content-type",
    message: "must be application/json",
  }]);

  const array = await post("[1,2]");
  assert.equal(array.status, 400);
  assert.equal((await errorOf(array)).message, "Invalid request body: body");
});

Deno.test("the function name must be a slug (it becomes the base path)", () => {
  const logger = createLogger({ level: "silent" });
  for (const bad of ["", "Signup", "../x", "a/b", "with space"]) {
    assert.throws(() => createFunctionApp(bad, { logger, maxBodyBytes: 10 }), RangeError);
  }
  assert.throws(() => createFunctionApp("ok", { logger, maxBodyBytes: 0 }), RangeError);
});
