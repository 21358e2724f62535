import assert from "node:assert/strict";
import { loadConfig } from "../../../shared/config/env.ts";
import { createAppContainer } from "../../../shared/di/app-container.ts";
import {
  buildFunctionApp,
  FUNCTION_NAMES,
  type FunctionName,
  isFunctionName,
} from "../../../shared/functions/registry.ts";
import { LoggerToken } from "../../../shared/observability/tokens.ts";
import { KNOWN_FUNCTIONS, loadFunctionRegistry } from "../../../local/standin/functions-gateway.ts";

Deno.test("the registry names the four functions the dev gateway and config.toml expect", async () => {
  assert.deepEqual([...FUNCTION_NAMES], ["signup", "login", "coordinator", "migrate-batch"]);
  assert.deepEqual([...FUNCTION_NAMES], [...KNOWN_FUNCTIONS]);
  assert.ok(isFunctionName("migrate-batch") && !isFunctionName("admin"));
  const loaded = await loadFunctionRegistry();
  assert.ok(loaded, "the dev server finds shared/functions/registry.ts");
  assert.deepEqual(loaded.FUNCTION_NAMES, FUNCTION_NAMES);
});

Deno.test("every function builds on the app container and answers /health before any backend", async () => {
  // No SUPABASE_URL, no Better Auth secret: handlers are built on first use, so /health works
  // and a real route answers a clean 503/4xx JSON error instead of failing start-up.
  const container = createAppContainer(loadConfig({ LOG_LEVEL: "silent" }));
  try {
    for (const name of FUNCTION_NAMES) {
      const app = await buildFunctionApp(name, container);
      const health = await app.fetch(new Request(`http://edge.test/${name}/health`));
      assert.equal(health.status, 200, name);
      assert.deepEqual(await health.json(), { status: "ok", function: name });
      const other = await app.fetch(new Request("http://edge.test/elsewhere"));
      assert.equal(other.status, 404, "outside its base path");
      await other.body?.cancel();
    }
    const login = await buildFunctionApp("login", container);
    const response = await login.fetch(
      new Request("http://edge.test/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "a@example.com", password: "long enough password" }),
      }),
    );
    assert.equal(response.status, 503);
    assert.deepEqual(await response.json(), {
      error: { code: "auth_unavailable", message: "login is not available" },
    });
    assert.ok(response.headers.get("x-request-id"));
    assert.ok(container.has(LoggerToken), "observability registered");
  } finally {
    await container.dispose();
  }
});

Deno.test("an unknown name is refused with the list of known ones", async () => {
  const container = createAppContainer(loadConfig({ LOG_LEVEL: "silent" }));
  await assert.rejects(
    buildFunctionApp("admin" as FunctionName, container),
    /unknown function "admin"; expected one of signup, login, coordinator, migrate-batch/,
  );
  await container.dispose();
});
