/**
 * `deno task bundle`: one self-contained ESM file per edge function, dist/<name>.js, built by
 * esbuild from functions/<name>/index.ts. It proves the entrypoints are deployable as single
 * files (Supabase's limit is 20 MB per function) and `deno run -A dist/<name>.js` runs one.
 *
 *   deno task bundle                       # all four functions into dist/
 *   deno task bundle signup login          # some of them
 *   deno task bundle --minify --sourcemap --outdir build/
 *
 * How bare specifiers are resolved:
 * - npm packages: from node_modules, exactly the versions import_map.json pins (npm installs
 *   them from the same pins in package.json).
 * - Node built-ins (`node:fs`, and bare `fs`, `crypto`... used by postgres.js, bcryptjs): left
 *   as `node:` imports; Deno provides them.
 * - Packages that load files next to their own code at run time (PGlite's WASM and data
 *   bundle): left external as the pinned `npm:` specifier from import_map.json, so Deno fetches
 *   the package, assets included, when (and only if) the code path needs it. PGlite is imported
 *   lazily (`await import(...)`) by shared/db/pglite-client.ts, so a function on PostgreSQL never
 *   loads it; the build fails if anything imports it statically.
 * - `import.meta.url` in our own modules (e.g. the migrations directory, "../../migrations/"
 *   from shared/db/) is rewritten to that module's original location relative to the bundle, so
 *   dist/<name>.js next to the repository's migrations/ still finds them.
 */
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve, sep as SEPARATOR } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { FUNCTION_NAMES, type FunctionName, isFunctionName } from "../shared/functions/registry.ts";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Supabase's per-function bundle limit. */
export const SUPABASE_BUNDLE_LIMIT_BYTES = 20 * 1024 * 1024;
/** Packages that must stay external (they read their own files at run time). */
export const RUNTIME_PACKAGES = ["@electric-sql/pglite"] as const;

export interface BundleOptions {
  readonly names?: readonly FunctionName[];
  /** Default <repo>/dist. */
  readonly outdir?: string;
  readonly minify?: boolean;
  readonly sourcemap?: boolean;
}

export interface BundleResult {
  readonly name: FunctionName;
  readonly file: string;
  readonly bytes: number;
  /** Specifiers left for Deno to resolve at run time (node: built-ins and npm: packages). */
  readonly external: readonly string[];
}

/** The pinned `npm:` specifier of each runtime package, from import_map.json. */
export async function runtimeSpecifiers(): Promise<Map<string, string>> {
  const importMap = JSON.parse(
    await Deno.readTextFile(join(REPO_ROOT, "import_map.json")),
  ) as { imports: Record<string, string> };
  const specifiers = new Map<string, string>();
  for (const name of RUNTIME_PACKAGES) {
    const pinned = importMap.imports[name];
    if (!pinned?.startsWith("npm:")) {
      throw new Error(`import_map.json must pin ${name} to an npm: specifier`);
    }
    specifiers.set(name, pinned);
  }
  return specifiers;
}

const NODE_BUILTINS = new Set(builtinModules.filter((name) => !name.startsWith("_")));

function builtinOf(specifier: string): string | null {
  const bare = specifier.startsWith("node:") ? specifier.slice(5) : specifier;
  const root = bare.split("/")[0]!;
  return NODE_BUILTINS.has(bare) || NODE_BUILTINS.has(root) ? `node:${bare}` : null;
}

/** The esbuild plugin that makes node_modules + our sources into a Deno-runnable bundle. */
export function denoBundlePlugin(
  runtime: Map<string, string>,
  outdir: string,
): esbuild.Plugin {
  const runtimePattern = new RegExp(
    `^(${
      [...runtime.keys()].map((name) => name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|")
    })(/.*)?$`,
  );
  const ownSource = (path: string) =>
    path.startsWith(REPO_ROOT + SEPARATOR) &&
    !path.includes(`${SEPARATOR}node_modules${SEPARATOR}`);
  return {
    name: "deno-bundle",
    setup(build) {
      build.onResolve({ filter: /^[a-z_:][a-z0-9_/:.-]*$/ }, (args) => {
        const builtin = builtinOf(args.path);
        return builtin ? { path: builtin, external: true } : undefined;
      });
      build.onResolve({ filter: runtimePattern }, (args) => {
        const match = runtimePattern.exec(args.path)!;
        if (args.kind !== "dynamic-import") {
          const from = relative(REPO_ROOT, args.importer);
          throw new Error(
            `${args.path} must be imported lazily (await import(...)), but ${from} imports it ` +
              `statically; that would load it at start-up in every function`,
          );
        }
        return { path: `${runtime.get(match[1]!)}${match[2] ?? ""}`, external: true };
      });
      build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
        if (!ownSource(args.path)) return undefined;
        const source = await Deno.readTextFile(args.path);
        if (!source.includes("import.meta.url")) return undefined;
        const fromBundle = relative(outdir, args.path).split(SEPARATOR).join("/");
        return {
          contents: source.replaceAll(
            "import.meta.url",
            `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`,
          ),
          loader: args.path.endsWith(".ts") ? "ts" : "js",
        };
      });
    },
  };
}

/** Builds the bundles; returns one result per function. */
export async function bundleFunctions(options: BundleOptions = {}): Promise<BundleResult[]> {
  const names = options.names ?? FUNCTION_NAMES;
  const built = await bundleEntries(
    names.map((name) => ({ entry: join(REPO_ROOT, "functions", name, "index.ts"), out: name })),
    options,
  );
  return built.map((result, i) => ({ ...result, name: names[i]! }));
}

export interface BundledEntry {
  readonly file: string;
  readonly bytes: number;
  readonly external: readonly string[];
}

/**
 * Bundles arbitrary entry modules the same way (the bundle test uses it for a probe that opens
 * the tracking database from a bundle). `out` is the file name without `.js`.
 */
export async function bundleEntries(
  entries: readonly { readonly entry: string; readonly out: string }[],
  options: Omit<BundleOptions, "names"> = {},
): Promise<BundledEntry[]> {
  const outdir = resolve(options.outdir ?? join(REPO_ROOT, "dist"));
  const runtime = await runtimeSpecifiers();
  await Deno.mkdir(outdir, { recursive: true });
  try {
    const result = await esbuild.build({
      absWorkingDir: REPO_ROOT,
      entryPoints: entries.map(({ entry, out }) => ({ in: resolve(entry), out })),
      outdir,
      bundle: true,
      platform: "neutral",
      format: "esm",
      target: "esnext",
      mainFields: ["module", "main"],
      conditions: ["deno", "worker", "module"],
      minify: options.minify ?? false,
      sourcemap: options.sourcemap ? "linked" : false,
      metafile: true,
      logLevel: "silent",
      plugins: [denoBundlePlugin(runtime, outdir)],
    });
    const results: BundledEntry[] = [];
    for (const { out } of entries) {
      const file = join(outdir, `${out}.js`);
      const key = relative(REPO_ROOT, file).split(SEPARATOR).join("/");
      const imports = result.metafile.outputs[key]?.imports ?? [];
      const external = [...new Set(imports.filter((i) => i.external).map((i) => i.path))].sort();
      results.push({ file, bytes: (await Deno.stat(file)).size, external });
    }
    return results;
  } finally {
    await esbuild.stop();
  }
}

function formatSize(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(2)} MB`
    : `${(bytes / 1024).toFixed(1)} KB`;
}

/** The size table printed by the CLI. */
export function sizeReport(results: readonly BundleResult[]): string {
  const width = Math.max(...results.map((r) => relative(REPO_ROOT, r.file).length), 4);
  const lines = results.map((r) => {
    const share = ((r.bytes / SUPABASE_BUNDLE_LIMIT_BYTES) * 100).toFixed(1);
    return `${relative(REPO_ROOT, r.file).padEnd(width)}  ${formatSize(r.bytes).padStart(10)}  ` +
      `${share.padStart(5)}% of 20 MB`;
  });
  const runtime = [...new Set(results.flatMap((r) => r.external))]
    .filter((specifier) => specifier.startsWith("npm:"));
  if (runtime.length > 0) lines.push(`loaded at run time (lazily): ${runtime.join(", ")}`);
  return lines.join("\n");
}

async function main(args: string[]): Promise<number> {
  const names: FunctionName[] = [];
  let outdir: string | undefined;
  let minify = false;
  let sourcemap = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--minify") minify = true;
    else if (arg === "--sourcemap") sourcemap = true;
    else if (arg === "--outdir") outdir = args[++i];
    else if (arg.startsWith("--outdir=")) outdir = arg.slice("--outdir=".length);
    else if (isFunctionName(arg)) names.push(arg);
    else {
      console.error(
        `unknown argument "${arg}"\nusage: deno task bundle [--minify] [--sourcemap] ` +
          `[--outdir dir] [${FUNCTION_NAMES.join(" | ")} ...]`,
      );
      return 2;
    }
  }
  let results: BundleResult[];
  try {
    results = await bundleFunctions({
      names: names.length > 0 ? names : undefined,
      outdir,
      minify,
      sourcemap,
    });
  } catch (error) {
    const failure = error as { errors?: esbuild.Message[]; message?: string };
    const messages = failure.errors?.length
      ? failure.errors.map((e) =>
        `${e.location ? `${e.location.file}:${e.location.line}: ` : ""}${e.text}`
      )
      : [failure.message ?? String(error)];
    console.error(`bundle failed:\n${messages.join("\n")}`);
    return 1;
  }
  console.log(sizeReport(results));
  const tooLarge = results.filter((r) => r.bytes > SUPABASE_BUNDLE_LIMIT_BYTES);
  if (tooLarge.length > 0) {
    console.error(`over Supabase's 20 MB limit: ${tooLarge.map((r) => r.name).join(", ")}`);
    return 1;
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
