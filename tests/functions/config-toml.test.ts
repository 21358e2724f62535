/**
 * supabase/config.toml declares exactly the registry's functions, each with an entrypoint and
 * the import map that exist relative to config.toml, and a deliberate verify_jwt.
 */
import assert from "node:assert/strict";
import { dirname, resolve } from "node:path";
import { FUNCTION_NAMES } from "../../shared/functions/registry.ts";
import { REPO_ROOT } from "./server-process.ts";

type TomlValue = string | number | boolean | string[];

/** Enough TOML for config.toml: [tables], key = "string" | number | bool | ["strings"]. */
function parseToml(text: string): Map<string, Map<string, TomlValue>> {
  const tables = new Map<string, Map<string, TomlValue>>([["", new Map()]]);
  let current = tables.get("")!;
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.replace(/\s+#.*$/, "").trim();
    if (line === "" || line.startsWith("#")) continue;
    const table = /^\[([A-Za-z0-9_.-]+)\]$/.exec(line);
    if (table) {
      assert.ok(!tables.has(table[1]!), `duplicate table [${table[1]}]`);
      tables.set(table[1]!, current = new Map());
      continue;
    }
    const pair = /^([A-Za-z0-9_-]+)\s*=\s*(.+)$/.exec(line);
    assert.ok(pair, `line ${index + 1} is not key = value: ${raw}`);
    const value = pair[2]!;
    current.set(
      pair[1]!,
      value === "true" || value === "false"
        ? value === "true"
        : /^-?\d+$/.test(value)
        ? Number(value)
        : JSON.parse(value) as string | string[],
    );
  }
  return tables;
}

const CONFIG = `${REPO_ROOT}supabase/config.toml`;
const config = parseToml(await Deno.readTextFile(CONFIG));

Deno.test("config.toml declares exactly the four functions with entrypoints that exist", async () => {
  const declared = [...config.keys()].filter((key) => key.startsWith("functions."))
    .map((key) => key.slice("functions.".length));
  assert.deepEqual(declared.sort(), [...FUNCTION_NAMES].sort());
  for (const name of FUNCTION_NAMES) {
    const fn = config.get(`functions.${name}`)!;
    assert.equal(fn.get("enabled"), true);
    const entrypoint = resolve(dirname(CONFIG), String(fn.get("entrypoint")));
    assert.equal(entrypoint, resolve(REPO_ROOT, `functions/${name}/index.ts`));
    assert.ok((await Deno.stat(entrypoint)).isFile, entrypoint);
    const importMap = resolve(dirname(CONFIG), String(fn.get("import_map")));
    assert.equal(importMap, resolve(REPO_ROOT, "import_map.json"));
    assert.ok((await Deno.stat(importMap)).isFile);
  }
});

Deno.test("verify_jwt is off for every function: each verifies its callers in code", () => {
  // signup/login run before a session exists; coordinator accepts Better Auth tokens the
  // platform check would reject; migrate-batch is called with CRON_SECRET or a secret key.
  for (const name of FUNCTION_NAMES) {
    assert.equal(config.get(`functions.${name}`)!.get("verify_jwt"), false, name);
  }
});

Deno.test("the project sections match `supabase init`, on PostgreSQL 15, with migrations linked", async () => {
  assert.equal(typeof config.get("")!.get("project_id"), "string");
  assert.equal(config.get("api")?.get("port"), 54321);
  assert.equal(config.get("db")?.get("major_version"), 15);
  assert.equal(config.get("edge_runtime")?.get("deno_version"), 2);
  const linked = await Deno.realPath(`${REPO_ROOT}supabase/migrations`);
  assert.equal(linked, await Deno.realPath(`${REPO_ROOT}migrations`));
});
