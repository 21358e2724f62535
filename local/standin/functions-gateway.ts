/**
 * `/functions/v1/<name>/...` routing exactly as `supabase functions serve` does it: the function
 * sees `/<name>/...` (its Hono app has basePath `/<name>`), with method, headers, query and body
 * untouched.
 *
 * Function apps come from shared/functions/registry.ts (`FUNCTION_NAMES`,
 * `buildFunctionApp(name, container)`), built once on first use and shared by every request. A
 * function that is not built yet answers 501 with a clear message; an unknown name answers 404
 * like the Supabase edge runtime.
 */
import type { Container } from "../../shared/di/container.ts";
import { redactString } from "../../shared/observability/redact.ts";

/** The functions the project ships; each answers (501 until it exists). */
export const KNOWN_FUNCTIONS = ["signup", "login", "coordinator", "migrate-batch"] as const;

/** What the dev server needs from a function app (a Hono app satisfies it). */
export interface FetchHandler {
  fetch(request: Request, env?: unknown): Response | Promise<Response>;
}

/** The contract of shared/functions/registry.ts. */
export interface FunctionRegistry {
  readonly FUNCTION_NAMES: readonly string[];
  buildFunctionApp(name: string, container: Container): Promise<FetchHandler>;
}

export const DEFAULT_REGISTRY_URL = new URL("../../shared/functions/registry.ts", import.meta.url);

/**
 * Imports the registry when the file exists; null while nobody has written it yet. Any other
 * failure (a syntax or import error inside the registry) propagates: it must not look like 501.
 */
export async function loadFunctionRegistry(
  url: URL = DEFAULT_REGISTRY_URL,
): Promise<FunctionRegistry | null> {
  try {
    await Deno.stat(url);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  // A computed specifier: the registry may not exist when this module is type-checked.
  const module = await import(url.href) as Partial<FunctionRegistry>;
  if (!Array.isArray(module.FUNCTION_NAMES) || typeof module.buildFunctionApp !== "function") {
    throw new Error(
      `${url.pathname} must export FUNCTION_NAMES and buildFunctionApp(name, container)`,
    );
  }
  return module as FunctionRegistry;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

export interface FunctionsGatewayOptions {
  readonly registry: FunctionRegistry | null;
  readonly container: Container;
  readonly log?: (line: string) => void;
}

export class FunctionsGateway {
  readonly #apps = new Map<string, Promise<FetchHandler>>();
  readonly names: readonly string[];

  constructor(private readonly options: FunctionsGatewayOptions) {
    this.names = [...new Set([...KNOWN_FUNCTIONS, ...(options.registry?.FUNCTION_NAMES ?? [])])];
  }

  isImplemented(name: string): boolean {
    return this.options.registry?.FUNCTION_NAMES.includes(name) ?? false;
  }

  /** Builds (once) the app of an implemented function; used to warm functions up at start. */
  app(name: string): Promise<FetchHandler> {
    let app = this.#apps.get(name);
    if (!app) {
      app = this.options.registry!.buildFunctionApp(name, this.options.container);
      // A failed build is retried on the next request instead of failing forever.
      app.catch(() => this.#apps.delete(name));
      this.#apps.set(name, app);
    }
    return app;
  }

  /** Handles a request whose path starts with /functions/v1. */
  async handle(request: Request, env?: unknown): Promise<Response> {
    const url = new URL(request.url);
    const match = /^\/functions\/v1\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!match) {
      return json(404, { code: "NOT_FOUND", message: "Requested function was not found" });
    }
    const name = decodeURIComponent(match[1]!);
    if (!this.names.includes(name)) {
      return json(404, { code: "NOT_FOUND", message: "Requested function was not found" });
    }
    if (!this.isImplemented(name)) {
      return json(501, {
        error: {
          code: "not_implemented",
          message: `The ${name} function is not built yet: shared/functions/registry.ts does not ` +
            `export it. Every other part of the local stack works.`,
        },
      });
    }
    let app: FetchHandler;
    try {
      app = await this.app(name);
    } catch (error) {
      const reason = redactString(error instanceof Error ? error.message : String(error));
      this.options.log?.(`function ${name} failed to start: ${reason}`);
      return json(500, {
        error: {
          code: "internal_error",
          message: `The ${name} function failed to start; see the dev server log`,
        },
      });
    }
    url.pathname = `/${match[1]}${match[2] ?? ""}`;
    return await app.fetch(new Request(url, request), env);
  }
}
