/**
 * CORS for browser callers of the functions (supabase-js `functions.invoke`, fetch from an app).
 * Preflight `OPTIONS` is answered here with 204; every other response carries the allow-origin
 * and the headers a client may read (request id, migration path, Retry-After).
 */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";

/**
 * What supabase-js sends, plus our request id and supabase-js's `x-region` option, and the API
 * version header auth-js sends to the login function's GoTrue routes (shared/sessions/).
 */
export const SUPABASE_CLIENT_HEADERS = [
  "authorization",
  "x-client-info",
  "apikey",
  "content-type",
  "x-request-id",
  "x-region",
  "x-supabase-api-version",
] as const;

export const EXPOSED_HEADERS = [
  "x-request-id",
  "x-migration-path",
  "retry-after",
  "x-supabase-api-version",
] as const;

export const ALLOWED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

export interface CorsOptions {
  /** "*" (default), one origin, or an allowlist; other origins get no allow-origin header. */
  readonly origins?: string | readonly string[];
  /** More request headers to allow (e.g. ROUTING_KEY_HEADER). */
  readonly extraHeaders?: readonly string[];
  /** Preflight cache lifetime in seconds (default 600). */
  readonly maxAgeSeconds?: number;
}

export function corsMiddleware(options: CorsOptions = {}): MiddlewareHandler {
  const origins = options.origins ?? "*";
  const allowHeaders = [
    ...new Set(
      [...SUPABASE_CLIENT_HEADERS, ...(options.extraHeaders ?? [])].map((header) =>
        header.toLowerCase()
      ),
    ),
  ];
  return cors({
    origin: typeof origins === "string" ? origins : [...origins],
    allowMethods: ALLOWED_METHODS,
    allowHeaders,
    exposeHeaders: [...EXPOSED_HEADERS],
    maxAge: options.maxAgeSeconds ?? 600,
  });
}
