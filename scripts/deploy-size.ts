/**
 * What `supabase functions deploy` uploads for a function, computed the way Supabase's bundler
 * builds it (supabase/edge-runtime `crates/deno_facade/eszip/`): the eszip holds every module of
 * the entrypoint's graph — dynamic imports with literal specifiers included — and `vfs.rs`
 * `build_npm_vfs` adds, for every npm package of the resolution (the packages the graph reaches
 * and their dependencies), the package's WHOLE folder (`add_dir_recursive`), whatever the code
 * actually loads.
 *
 * The graph comes from `deno info --json functions/<name>/index.ts` (the same module graph Deno
 * builds), walked from the entrypoint along code imports, static and dynamic; type-only imports
 * are erased when the bundler emits JavaScript, so they add nothing to the upload (the graph test
 * checks them too, for the local/ boundary). With `nodeModulesDir: "manual"` npm modules show up
 * as files under node_modules; their package folders are the packages reached, and package.json
 * `dependencies` (plus required peer dependencies) give the rest of the resolution, resolved as
 * Node does (nested node_modules first, then each parent's).
 *
 * The Supabase CLI uploads that eszip brotli-compressed (supabase/cli `pkg/function/bundle.go`
 * `Compress`: "EZBR" + brotli, andybalholm/brotli's default quality 6), so next to the raw total
 * the figures include the same files brotli-compressed (quality 6) and gzip-compressed, each as
 * one stream. The eszip's own framing (headers, checksums, module table) is not counted.
 *
 *   deno run -A scripts/deploy-size.ts              # table for all four functions
 *   deno run -A scripts/deploy-size.ts --json coordinator
 */
import { dirname, join, resolve, sep } from "node:path";
import { brotliCompressSync, constants as zlib } from "node:zlib";
import { fileURLToPath } from "node:url";
import { FUNCTION_NAMES, type FunctionName, isFunctionName } from "../shared/functions/registry.ts";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Supabase's per-function limit (docs: functions/limits). */
export const SUPABASE_DEPLOY_LIMIT_BYTES = 20 * 1024 * 1024;

export interface DeployGraph {
  readonly name: FunctionName;
  /** Our own modules of the graph (repository-relative paths). */
  readonly modules: readonly string[];
  /** Every npm package of the resolution (name → folder), reached or depended upon. */
  readonly packages: ReadonlyMap<string, string>;
  /** The npm packages the graph itself imports. */
  readonly reachedPackages: readonly string[];
}

export interface DeploySize {
  readonly name: FunctionName;
  readonly modules: number;
  readonly packages: number;
  readonly rawBytes: number;
  /** All files gzip-compressed as one stream. */
  readonly gzipBytes: number;
  /** All files brotli-compressed (quality 6) as one stream: what the CLI's upload compresses to. */
  readonly brotliBytes: number;
  /** Raw bytes per package folder, largest first. */
  readonly byPackage: ReadonlyArray<readonly [string, number]>;
}

interface InfoDependency {
  readonly specifier: string;
  readonly code?: { readonly specifier?: string };
  readonly type?: { readonly specifier?: string };
  readonly isDynamic?: boolean;
}

interface InfoModule {
  readonly specifier: string;
  readonly local?: string;
  readonly kind?: string;
  readonly error?: string;
  readonly dependencies?: readonly InfoDependency[];
}

export interface InfoGraph {
  readonly roots: readonly string[];
  readonly modules: readonly InfoModule[];
  readonly redirects: Readonly<Record<string, string>>;
}

/** `deno info --json` for the entrypoint, with the repository's config (import map, node_modules). */
export async function denoInfo(entry: string): Promise<InfoGraph> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", join(REPO_ROOT, "deno.json"), entry],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`deno info ${entry} failed: ${new TextDecoder().decode(stderr)}`);
  const info = JSON.parse(new TextDecoder().decode(stdout)) as InfoGraph;
  const broken = info.modules.filter((module) => module.error);
  if (broken.length > 0) {
    throw new Error(`unresolved modules in ${entry}: ${broken.map((m) => m.specifier).join(", ")}`);
  }
  return info;
}

/**
 * The modules reachable from the root: along code imports (static and dynamic) only, or along
 * type-only imports too (`withTypes`).
 */
export function reachable(graph: InfoGraph, options: { withTypes?: boolean } = {}): InfoModule[] {
  const bySpecifier = new Map(graph.modules.map((module) => [module.specifier, module]));
  const resolve = (specifier: string) => bySpecifier.get(graph.redirects[specifier] ?? specifier);
  const seen = new Set<string>();
  const out: InfoModule[] = [];
  const queue = graph.roots.map(resolve).filter((module) => module !== undefined);
  while (queue.length > 0) {
    const module = queue.shift()!;
    if (seen.has(module.specifier)) continue;
    seen.add(module.specifier);
    out.push(module);
    for (const dependency of module.dependencies ?? []) {
      const targets = [dependency.code?.specifier];
      if (options.withTypes) targets.push(dependency.type?.specifier);
      for (const target of targets) {
        const next = target ? resolve(target) : undefined;
        if (next && !seen.has(next.specifier)) queue.push(next);
      }
    }
  }
  return out;
}

const NODE_MODULES = `${sep}node_modules${sep}`;

/** `/x/node_modules/@scope/name/lib/a.js` → ["@scope/name", "/x/node_modules/@scope/name"]. */
export function packageOf(path: string): [string, string] | null {
  const at = path.lastIndexOf(NODE_MODULES);
  if (at < 0) return null;
  const rest = path.slice(at + NODE_MODULES.length).split(sep);
  const name = rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  return [name, path.slice(0, at + NODE_MODULES.length) + name];
}

async function readJson(path: string): Promise<Record<string, unknown> | null> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch {
    return null;
  }
}

/** Node's lookup of `name` from inside `folder`: its own node_modules, then each parent's. */
async function resolvePackage(name: string, fromFolder: string): Promise<string | null> {
  let dir = fromFolder;
  while (true) {
    const candidate = join(dir, "node_modules", name);
    if (await readJson(join(candidate, "package.json"))) return await Deno.realPath(candidate);
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

export const entrypointOf = (name: FunctionName) => join("functions", name, "index.ts");

/** Packages that must never ship: the embedded PostgreSQL is local-only (~27 MB raw alone). */
export const FORBIDDEN_PACKAGES = ["@electric-sql/pglite"] as const;

/**
 * What breaks the deploy boundary in `entry`'s graph: any module under local/ or any forbidden
 * package, along every import (code, dynamic and type-only), with the import chain that reaches
 * it. Empty when the entrypoint is deployable.
 */
export async function boundaryViolations(entry: string): Promise<string[]> {
  const graph = await denoInfo(entry);
  const local = `${REPO_ROOT}${sep}local${sep}`;
  const violations: string[] = [];
  for (const module of reachable(graph, { withTypes: true })) {
    const path = module.local ??
      (module.specifier.startsWith("file:") ? fileURLToPath(module.specifier) : module.specifier);
    const pkg = packageOf(path)?.[0];
    if (
      path.startsWith(local) || (pkg && (FORBIDDEN_PACKAGES as readonly string[]).includes(pkg))
    ) {
      violations.push(path.startsWith(REPO_ROOT) ? path.slice(REPO_ROOT.length + 1) : path);
    } else if (module.specifier.startsWith("npm:")) {
      const name = module.specifier.slice(4).replace(/@[^@/]*$/, "");
      if ((FORBIDDEN_PACKAGES as readonly string[]).includes(name)) {
        violations.push(module.specifier);
      }
    }
  }
  return violations;
}

/** The entrypoint's module graph, as the deploy bundler follows it. */
export async function deployGraph(name: FunctionName): Promise<DeployGraph> {
  const modules = reachable(await denoInfo(entrypointOf(name)));
  const own: string[] = [];
  const packages = new Map<string, string>();
  for (const module of modules) {
    const path = module.local ??
      (module.specifier.startsWith("file:") ? fileURLToPath(module.specifier) : null);
    if (!path) continue;
    const pkg = packageOf(path);
    if (pkg) packages.set(pkg[0], pkg[1]);
    else own.push(path.startsWith(REPO_ROOT) ? path.slice(REPO_ROOT.length + 1) : path);
  }
  const reachedPackages = [...packages.keys()].sort();
  // The rest of the npm resolution: dependencies and required peers, transitively.
  const queue = [...packages.entries()];
  while (queue.length > 0) {
    const [, folder] = queue.shift()!;
    const manifest = await readJson(join(folder, "package.json"));
    if (!manifest) continue;
    const peersMeta = (manifest.peerDependenciesMeta ?? {}) as Record<
      string,
      { optional?: boolean }
    >;
    const wanted = [
      ...Object.keys((manifest.dependencies ?? {}) as Record<string, string>),
      ...Object.keys((manifest.peerDependencies ?? {}) as Record<string, string>).filter(
        (peer) => !peersMeta[peer]?.optional,
      ),
    ];
    for (const dependency of wanted) {
      if (packages.has(dependency)) continue;
      const found = await resolvePackage(dependency, folder);
      if (!found) continue; // an uninstalled optional or platform-specific package
      packages.set(dependency, found);
      queue.push([dependency, found]);
    }
  }
  return { name, modules: own.sort(), packages, reachedPackages };
}

async function* filesUnder(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* filesUnder(path);
    else if (entry.isFile) yield path;
  }
}

/** Raw and gzip-compressed size of everything the deploy bundler packs for `name`. */
export async function deploySize(name: FunctionName): Promise<DeploySize> {
  const graph = await deployGraph(name);
  const files: string[] = graph.modules.map((path) => resolve(REPO_ROOT, path));
  const byPackage: Array<[string, number]> = [];
  for (const [pkg, folder] of graph.packages) {
    let bytes = 0;
    for await (const file of filesUnder(folder)) {
      files.push(file);
      bytes += (await Deno.stat(file)).size;
    }
    byPackage.push([pkg, bytes]);
  }
  const contents: Uint8Array[] = [];
  for (const file of files) contents.push(await Deno.readFile(file));
  const all = new Uint8Array(contents.reduce((sum, content) => sum + content.byteLength, 0));
  let offset = 0;
  for (const content of contents) {
    all.set(content, offset);
    offset += content.byteLength;
  }
  const gzipped = await new Response(
    new Blob([all]).stream().pipeThrough(new CompressionStream("gzip")),
  ).arrayBuffer();
  const brotli = brotliCompressSync(all, {
    params: { [zlib.BROTLI_PARAM_QUALITY]: 6, [zlib.BROTLI_PARAM_SIZE_HINT]: all.byteLength },
  });
  return {
    name,
    modules: graph.modules.length,
    packages: graph.packages.size,
    rawBytes: all.byteLength,
    gzipBytes: gzipped.byteLength,
    brotliBytes: brotli.byteLength,
    byPackage: byPackage.sort((a, b) => b[1] - a[1]),
  };
}

export const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

if (import.meta.main) {
  const json = Deno.args.includes("--json");
  const names = Deno.args.filter((arg) => !arg.startsWith("--"));
  const unknown = names.filter((name) => !isFunctionName(name));
  if (unknown.length > 0) {
    console.error(`unknown function(s): ${unknown.join(", ")}`);
    Deno.exit(2);
  }
  const selected = names.length > 0 ? names as FunctionName[] : [...FUNCTION_NAMES];
  const sizes = [];
  for (const name of selected) sizes.push(await deploySize(name));
  if (json) {
    console.log(JSON.stringify(sizes, null, 2));
  } else {
    console.log(
      "| function | own modules | npm packages | raw | gzip | brotli (upload) | largest packages |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- |");
    for (const size of sizes) {
      const largest = size.byPackage.slice(0, 3).map(([pkg, bytes]) => `${pkg} ${megabytes(bytes)}`)
        .join(", ");
      console.log(
        [
          size.name,
          size.modules,
          size.packages,
          megabytes(size.rawBytes),
          megabytes(size.gzipBytes),
          megabytes(size.brotliBytes),
          largest,
        ].join(" | ").replace(/^/, "| ") + " |",
      );
    }
  }
}
