/**
 * `deno task bundle` output is deployable: one self-contained ESM file per function that starts
 * under `deno run -A` and answers its health route, with PGlite left as a lazy run-time import.
 */
import assert from "node:assert/strict";
import {
  bundleEntries,
  bundleFunctions,
  type BundleResult,
  sizeReport,
  SUPABASE_BUNDLE_LIMIT_BYTES,
} from "../../scripts/bundle.ts";
import { FUNCTION_NAMES } from "../../shared/functions/registry.ts";
import { REPO_ROOT, runToEnd, startServer } from "./server-process.ts";

const TEST_DATABASE_URL = Deno.env.get("TEST_DATABASE_URL");
// Inside the repository (gitignored .data/), so the bundles resolve npm: specifiers from
// node_modules and find migrations/ exactly as dist/ does.
const OUTDIR = `${REPO_ROOT}.data/bundle-test-${crypto.randomUUID().slice(0, 8)}`;
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(OUTDIR, { recursive: true });
  } catch { /* never created */ }
});

let built: Promise<BundleResult[]> | undefined;
const bundles = () => built ??= bundleFunctions({ outdir: OUTDIR });

Deno.test("one self-contained ESM file per function, far below Supabase's 20 MB", async () => {
  const results = await bundles();
  assert.deepEqual(results.map((r) => r.name), [...FUNCTION_NAMES]);
  for (const result of results) {
    assert.ok(result.bytes > 0 && result.bytes < SUPABASE_BUNDLE_LIMIT_BYTES, result.name);
    for (const specifier of result.external) {
      assert.ok(
        specifier.startsWith("node:"),
        `${result.name}: unexpected run-time import ${specifier}`,
      );
    }
    const code = await Deno.readTextFile(result.file);
    // The embedded database is local-only (local/): no deployed function may reach it.
    assert.ok(!code.includes("@electric-sql/pglite"), `${result.name}: PGlite is not deployed`);
    assert.doesNotMatch(
      code,
      /^import[^;]*from ["'](hono|zod|@sentry\/deno|postgres)["']/m,
      "npm dependencies are inlined",
    );
  }
  const report = sizeReport(results);
  for (const name of FUNCTION_NAMES) assert.match(report, new RegExp(`${name}\\.js .* of 20 MB`));
});

async function serveAllAndProbe(env: Record<string, string>) {
  const results = await bundles();
  const servers = await Promise.all(
    results.map((result) => startServer(result.file, { LOG_LEVEL: "info", ...env })),
  );
  try {
    for (const [i, server] of servers.entries()) {
      const name = results[i]!.name;
      const response = await fetch(`http://127.0.0.1:${server.port}/${name}/health`);
      assert.equal(response.status, 200, `${name}: ${server.output.join("\n")}`);
      assert.deepEqual(await response.json(), { status: "ok", function: name });
      assert.ok(response.headers.get("x-request-id"));
    }
  } finally {
    const statuses = await Promise.all(servers.map((server) => server.stop()));
    for (const [i, status] of statuses.entries()) {
      assert.equal(status.code, 0, `${results[i]!.name} shuts down cleanly on SIGTERM`);
    }
  }
}

Deno.test("each bundle starts under deno run -A without a database and answers /<name>/health", async () => {
  await serveAllAndProbe({});
});

Deno.test({
  name: "each bundle starts with DATABASE_URL (PostgreSQL) and answers /<name>/health",
  ignore: !TEST_DATABASE_URL,
  fn: () => serveAllAndProbe({ DATABASE_URL: TEST_DATABASE_URL! }),
});

async function probeTrackingDatabase(env: Record<string, string>) {
  const [probe] = await bundleEntries(
    [{ entry: `${REPO_ROOT}tests/functions/fixtures/tracking-database-probe.ts`, out: "probe" }],
    { outdir: OUTDIR },
  );
  const run = await runToEnd(probe!.file, env);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout.trim().split("\n").at(-1)!);
}

Deno.test({
  name: "from a bundle, DATABASE_URL opens PostgreSQL through postgres.js",
  ignore: !TEST_DATABASE_URL,
  fn: async () => {
    assert.deepEqual(await probeTrackingDatabase({ DATABASE_URL: TEST_DATABASE_URL! }), {
      dialect: "postgres",
      one: 1,
    });
  },
});
