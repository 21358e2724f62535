import assert from "node:assert/strict";
import { HTTPException } from "hono/http-exception";
import {
  appErrorResponse,
  appErrorToHttpError,
  errorBody,
  HttpError,
  resultResponse,
  statusForCode,
  toHttpError,
} from "../../../shared/http/errors.ts";
import { AppError, err, type ErrorCode, ok } from "../../../shared/result.ts";

Deno.test("every AppError code maps to its HTTP status", () => {
  const expected: Record<ErrorCode, number> = {
    validation_failed: 400,
    unauthorized: 401,
    forbidden: 403,
    not_found: 404,
    conflict: 409,
    rate_limited: 429,
    internal_error: 500,
    database_error: 500,
    unavailable: 503,
    timeout: 504,
  };
  for (const [code, status] of Object.entries(expected)) {
    assert.equal(statusForCode(code as ErrorCode), status, code);
    assert.equal(appErrorToHttpError(new AppError(code as ErrorCode, "m")).status, status, code);
  }
  assert.equal(statusForCode("payload_too_large"), 413);
  assert.equal(statusForCode("unsupported_media_type"), 415);
  assert.equal(statusForCode("method_not_allowed"), 405);
  assert.equal(statusForCode("not_implemented"), 501);
});

Deno.test("4xx keep message and details; 5xx get a generic message and no details", async () => {
  const clientError = appErrorResponse(
    new AppError("validation_failed", "Invalid request body: email", [{ path: "email" }]),
  );
  assert.equal(clientError.status, 400);
  assert.deepEqual(await clientError.json(), {
    error: {
      code: "validation_failed",
      message: "Invalid request body: email",
      details: [{ path: "email" }],
    },
  });
  const serverError = appErrorResponse(
    new AppError("internal_error", "pool exhausted at 10.0.0.3", { host: "10.0.0.3" }),
  );
  assert.equal(serverError.status, 500);
  assert.deepEqual(await serverError.json(), {
    error: { code: "internal_error", message: "Internal server error" },
  });
  const timeout = appErrorToHttpError(new AppError("timeout", "better auth took 6001 ms"));
  assert.equal(timeout.message, "The request timed out");
});

Deno.test("details never carry a secret even when they echo input", () => {
  const body = errorBody("validation_failed", "bad", {
    password: "hunter2",
    note: "token=abc123 and Bearer abc.def.ghi",
  });
  const text = JSON.stringify(body);
  assert.ok(!text.includes("hunter2") && !text.includes("abc123"), text);
});

Deno.test("resultResponse: the value with the success status, or the mapped error", async () => {
  const created = resultResponse(ok({ id: "u1" }), 201);
  assert.equal(created.status, 201);
  assert.deepEqual(await created.json(), { id: "u1" });
  const nothing = resultResponse(ok(undefined));
  assert.deepEqual(await nothing.json(), null);
  const missing = resultResponse(err(new AppError("not_found", "no such agent")));
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), {
    error: { code: "not_found", message: "no such agent" },
  });
});

Deno.test("toHttpError recognises HttpError, AppError and HTTPException only", () => {
  const own = new HttpError(418, "bad_request", "teapot");
  assert.equal(toHttpError(own), own);
  assert.equal(toHttpError(new AppError("forbidden", "no"))?.status, 403);
  const hono = toHttpError(new HTTPException(413, { message: "Payload Too Large" }));
  assert.equal(hono?.code, "payload_too_large");
  const honoServer = toHttpError(new HTTPException(500, { message: "internal detail" }));
  assert.equal(honoServer?.message, "Internal server error");
  assert.equal(toHttpError(new Error("boom")), null);
  assert.equal(toHttpError(new SyntaxError("Unexpected token")), null);
  assert.equal(toHttpError("string"), null);
});
