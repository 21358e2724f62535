import assert from "node:assert/strict";
import { Hono } from "hono";
import { Container } from "../../../shared/di/container.ts";
import {
  type FunctionRegistry,
  FunctionsGateway,
  KNOWN_FUNCTIONS,
  loadFunctionRegistry,
} from "../../../local/standin/functions-gateway.ts";

/** A registry of real Hono apps (basePath /<name>), as shared/functions/registry.ts builds them. */
function registry(
  names: string[],
  builds: { count: number; failFirst?: boolean },
): FunctionRegistry {
  return {
    FUNCTION_NAMES: names,
    buildFunctionApp(name) {
      builds.count++;
      if (builds.failFirst && builds.count === 1) {
        return Promise.reject(new Error("boom: cannot start"));
      }
      const app = new Hono().basePath(`/${name}`);
      app.all("/*", async (c) =>
        c.json({
          fn: name,
          path: c.req.path,
          method: c.req.method,
          query: c.req.query("q") ?? null,
          header: c.req.header("x-test") ?? null,
          body: c.req.method === "POST" ? await c.req.text() : null,
        }));
      return Promise.resolve(app);
    },
  };
}

const request = (path: string, init?: RequestInit) =>
  new Request(`http://127.0.0.1:54321${path}`, init);

Deno.test("requests reach the function as /<name>/... with method, query, headers and body intact", async () => {
  const builds = { count: 0 };
  const gateway = new FunctionsGateway({
    registry: registry(["login", "extra"], builds),
    container: new Container(),
  });
  const response = await gateway.handle(
    request("/functions/v1/login/sub/path?q=1", {
      method: "POST",
      headers: { "x-test": "yes" },
      body: '{"a":1}',
    }),
  );
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), {
    fn: "login",
    path: "/login/sub/path",
    method: "POST",
    query: "1",
    header: "yes",
    body: '{"a":1}',
  });
  const bare = await gateway.handle(request("/functions/v1/login"));
  assert.equal((await bare.json()).path, "/login");
  await (await gateway.handle(request("/functions/v1/extra"))).body?.cancel();
  assert.equal(builds.count, 2, "each app is built once and reused");
  assert.deepEqual(gateway.names, [...KNOWN_FUNCTIONS, "extra"]);
});

Deno.test("functions not built yet answer 501; unknown names 404", async () => {
  const gateway = new FunctionsGateway({ registry: null, container: new Container() });
  for (const name of KNOWN_FUNCTIONS) {
    const response = await gateway.handle(request(`/functions/v1/${name}/health`));
    assert.equal(response.status, 501);
    const body = await response.json();
    assert.equal(body.error.code, "not_implemented");
    assert.match(body.error.message, new RegExp(`The ${name} function is not built yet`));
  }
  const unknown = await gateway.handle(request("/functions/v1/nope"));
  assert.equal(unknown.status, 404);
  assert.deepEqual(await unknown.json(), {
    code: "NOT_FOUND",
    message: "Requested function was not found",
  });
});

Deno.test("a function that fails to start answers 500 and is retried on the next request", async () => {
  const builds = { count: 0, failFirst: true };
  const lines: string[] = [];
  const gateway = new FunctionsGateway({
    registry: registry(["signup"], builds),
    container: new Container(),
    log: (line) => lines.push(line),
  });
  const failed = await gateway.handle(request("/functions/v1/signup"));
  assert.equal(failed.status, 500);
  assert.equal((await failed.json()).error.code, "internal_error");
  assert.match(lines[0]!, /signup failed to start: boom/);
  const retried = await gateway.handle(request("/functions/v1/signup"));
  assert.equal(retried.status, 200);
  await retried.body?.cancel();
});

Deno.test("loadFunctionRegistry: null while the file is absent, an error when it is malformed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await loadFunctionRegistry(new URL(`file://${dir}/registry.ts`)), null);
    await Deno.writeTextFile(`${dir}/bad.ts`, "export const FUNCTION_NAMES = 'signup';\n");
    await assert.rejects(
      loadFunctionRegistry(new URL(`file://${dir}/bad.ts`)),
      /must export FUNCTION_NAMES/,
    );
    await Deno.writeTextFile(
      `${dir}/good.ts`,
      "export const FUNCTION_NAMES = ['signup'];\nexport async function buildFunctionApp() { return { fetch: () => new Response('hi') }; }\n",
    );
    const loaded = await loadFunctionRegistry(new URL(`file://${dir}/good.ts`));
    assert.deepEqual(loaded?.FUNCTION_NAMES, ["signup"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
