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
import {
  KNOWN_FUNCTIONS,
  loadFunctionRegistry,
} from "../../../shared/standin/functions-gateway.ts";

Deno.test("the registry names the four functions the dev gateway and config.toml expect", async () => {
  assert.deepEqual([...FUNCTION_NAMES], ["signup", "login", "coordinator", "migrate-batch"]);
  assert.deepEqual([...FUNCTION_NAMES], [...KNOWN_FUNCTIONS]);
  assert.ok(isFunctionName("migrate-batch") && !isFunctionName("admin"));
  const loaded = await loadFunctionRegistry();
  assert.ok(loaded, "the dev server finds shared/functions/registry.ts");
  assert.deepEqual(loaded.FUNCTION_NAMES, FUNCTION_NAMES);
});

Deno.test("every function builds on the app container: /health is 200, the rest 501 until built", async () => {
  const container = createAppContainer(loadConfig({ LOG_LEVEL: "silent" }));
  try {
    for (const name of FUNCTION_NAMES) {
      const app = await buildFunctionApp(name, container);
      const health = await app.fetch(new Request(`http://edge.test/${name}/health`));
      assert.equal(health.status, 200, name);
      assert.deepEqual(await health.json(), { status: "ok", function: name });
      for (const [method, path] of [["POST", `/${name}`], ["GET", `/${name}/anything/else`]]) {
        const response = await app.fetch(new Request(`http://edge.test${path}`, { method }));
        assert.equal(response.status, 501, `${method} ${path}`);
        assert.deepEqual(await response.json(), {
          error: { code: "not_implemented", message: `${name} is not built yet` },
        });
        assert.ok(response.headers.get("x-request-id"));
      }
      const other = await app.fetch(new Request("http://edge.test/elsewhere"));
      assert.equal(other.status, 404, "outside its base path");
      await other.body?.cancel();
    }
    assert.ok(container.has(LoggerToken), "observability registered on first build");
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
