/**
 * The deploy boundary, checked on the graph Supabase's bundler packs (scripts/deploy-size.ts:
 * `deno info --json functions/<name>/index.ts`, dynamic imports included, every reached npm
 * package whole): no function reaches local/ or PGlite, and each reaches only what it runs.
 */
import assert from "node:assert/strict";
import {
  boundaryViolations,
  deployGraph,
  entrypointOf,
  FORBIDDEN_PACKAGES,
} from "../../scripts/deploy-size.ts";
import { FUNCTION_NAMES } from "../../shared/functions/names.ts";

for (const name of FUNCTION_NAMES) {
  Deno.test(`${name}: no local/ module and no PGlite anywhere in the deploy graph`, async () => {
    assert.deepEqual(await boundaryViolations(entrypointOf(name)), []);
    const graph = await deployGraph(name);
    for (const pkg of FORBIDDEN_PACKAGES) {
      assert.ok(!graph.packages.has(pkg), `${pkg} is not in ${name}'s npm resolution`);
    }
    assert.ok(graph.modules.every((path) => !path.startsWith("local/")));
    // Its own app is in the graph; the other three functions' apps are not.
    for (const other of FUNCTION_NAMES) {
      const app = `shared/functions/${other}/app.ts`;
      assert.equal(graph.modules.includes(app), other === name, `${name} graph and ${app}`);
    }
  });
}

Deno.test("the check sees a local-only module behind a literal dynamic import", async () => {
  const violations = await boundaryViolations("tests/functions/fixtures/reaches-local.ts");
  assert.ok(violations.includes("local/db/pglite-client.ts"), JSON.stringify(violations));
  assert.ok(violations.some((v) => v.includes("@electric-sql/pglite")), JSON.stringify(violations));
});

Deno.test("the coordinator only verifies tokens: Better Auth and bcrypt are not in its graph", async () => {
  const graph = await deployGraph("coordinator");
  for (const pkg of ["better-auth", "bcryptjs", "kysely"]) {
    assert.ok(!graph.packages.has(pkg), `${pkg}: ${[...graph.packages.keys()].join(", ")}`);
  }
  const login = await deployGraph("login");
  assert.ok(login.packages.has("better-auth"), "the check would see Better Auth where it is");
});
