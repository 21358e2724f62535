import assert from "node:assert/strict";
import { ConfigError } from "../../../shared/config/env.ts";
import { coordinatorFunction } from "../../../shared/functions/coordinator/app.ts";
import { signupFunction } from "../../../shared/functions/signup/app.ts";
import {
  describeStartupError,
  portFromEnv,
  startFunction,
} from "../../../shared/functions/serve.ts";

Deno.test("startFunction validates the env, builds the app and serves it until shutdown", async () => {
  const running = await startFunction(coordinatorFunction, {
    env: { LOG_LEVEL: "silent" },
    port: 0,
    hostname: "127.0.0.1",
  });
  try {
    assert.ok(running.port !== undefined && running.port > 0);
    const response = await fetch(`http://127.0.0.1:${running.port}/coordinator/health`, {
      headers: { "x-request-id": "probe-request-1" },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-request-id"), "probe-request-1");
    assert.deepEqual(await response.json(), { status: "ok", function: "coordinator" });
  } finally {
    await running.shutdown();
    await running.shutdown(); // idempotent
  }
});

Deno.test("a bad environment fails start-up with every offending variable, before listening", async () => {
  const error = await startFunction(signupFunction, {
    env: { MIGRATION_MODE: "triple_write", MAX_REQUEST_BYTES: "lots", LOG_LEVEL: "loud" },
    port: 0,
  }).then(() => null, (e) => e);
  assert.ok(error instanceof ConfigError);
  const line = describeStartupError("signup", error);
  assert.equal(line.split("\n").length, 1, "one line");
  assert.match(line, /^signup: cannot start: Invalid environment: /);
  for (const variable of ["MIGRATION_MODE", "MAX_REQUEST_BYTES", "LOG_LEVEL"]) {
    assert.match(line, new RegExp(`${variable}: `));
  }
});

Deno.test("PORT: unset means the platform default; anything but a port number is a config error", () => {
  assert.equal(portFromEnv({}), undefined);
  assert.equal(portFromEnv({ PORT: "" }), undefined);
  assert.equal(portFromEnv({ PORT: "8123" }), 8123);
  assert.equal(portFromEnv({ PORT: "0" }), 0);
  for (const bad of ["-1", "65536", "80a", "1e3", "0x50"]) {
    assert.throws(
      () => portFromEnv({ PORT: bad }),
      (e) => e instanceof ConfigError && /PORT/.test(e.message),
      bad,
    );
  }
});

Deno.test("other start-up failures are reported with their stack, redacted", () => {
  const line = describeStartupError(
    "login",
    new Error("connect failed: postgres://app:s3cret@db:5432/x"),
  );
  assert.match(
    line,
    /^login: cannot start: Error: connect failed: postgres:\/\/app:\[redacted\]@db/,
  );
  assert.ok(!line.includes("s3cret"));
});
