/**
 * The Hono app of one edge function. Supabase hands a function every request whose path starts
 * with `/<name>` (the local dev server maps `/functions/v1/<name>/...` the same way), so the app
 * has basePath `/<name>` and its routes are written relative to it.
 *
 * Every response, whatever produced it:
 * - carries `x-request-id` (a valid incoming one is kept, else a new UUID; the request forwarded
 *   to routes carries it too, so the EdgeFunctionMigrator sees the same id);
 * - has CORS headers (preflight `OPTIONS` is answered 204 before any route runs);
 * - is refused with 413 above `maxBodyBytes`;
 * - on failure uses the one error shape `{ error: { code, message, details? } }`: 404 for an
 *   unknown path, 405 (with Allow) for a known path and the wrong method, the mapped status for
 *   HttpError / AppError / HTTPException, and for anything else 500 with a generic message and the
 *   request id, never the stack or the error's own text (that is logged, redacted, and sent to
 *   Sentry).
 * Each request runs in its own Sentry isolation scope tagged with the function and request id.
 *
 *   const app = createFunctionApp("signup", { logger, maxBodyBytes: env.MAX_REQUEST_BYTES });
 *   app.post("/", jsonBody(schema), (c) => ...);   // POST /signup
 *   Deno.serve(app.fetch);
 */
import { Hono } from "hono";
import type { Context, ErrorHandler, MiddlewareHandler, NotFoundHandler } from "hono";
import type { Logger } from "../observability/logger.ts";
import {
  faultCapture,
  type FaultSink,
  reportFault,
  withFaultSink,
} from "../observability/faults.ts";
import { captureException, captureMessage, withSentryRequest } from "../observability/sentry.ts";
import { bodyLimitMiddleware } from "./body-limit.ts";
import { corsMiddleware } from "./cors.ts";
import {
  clippedPath,
  errorBody,
  errorResponse,
  notFoundResponse,
  publicMessage,
  toHttpError,
} from "./errors.ts";
import { REQUEST_ID_HEADER, requestIdFor, withRequestIdHeader } from "./request-id.ts";

export interface FunctionVariables {
  /** This request's id (also in the request's and the response's x-request-id). */
  readonly requestId: string;
  /** The function's logger with `request_id` bound. */
  readonly logger: Logger;
}

export interface FunctionEnv {
  Variables: FunctionVariables;
}

export type FunctionApp = Hono<FunctionEnv>;

export interface FunctionAppOptions {
  /** The process logger; records get `function` and `request_id`. */
  readonly logger: Logger;
  /** Larger request bodies get 413 (MAX_REQUEST_BYTES). */
  readonly maxBodyBytes: number;
  /** Allowed browser origins: "*" (default), one origin, or a list. */
  readonly corsOrigins?: string | readonly string[];
  /** More request headers browsers may send (e.g. ROUTING_KEY_HEADER). */
  readonly corsHeaders?: readonly string[];
  /** Reported by GET /<name>/health. */
  readonly version?: string;
  /** One info line per request with method, path, status and duration (default true). */
  readonly accessLog?: boolean;
}

const FUNCTION_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const ROUTE_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

export function createFunctionApp(name: string, options: FunctionAppOptions): FunctionApp {
  if (!FUNCTION_NAME.test(name)) {
    throw new RangeError(`function name must be a lower-case slug, got "${name}"`);
  }
  const logger = options.logger.child({ function: name });
  // Middleware and handlers go on a root app so they also cover paths outside /<name>; the
  // basePath app shares its router and copies its handlers.
  const root = new Hono<FunctionEnv>();
  root.use("*", requestContext(name, logger, options.accessLog ?? true));
  root.use(
    "*",
    corsMiddleware({ origins: options.corsOrigins, extraHeaders: options.corsHeaders }),
  );
  root.use("*", bodyLimitMiddleware(options.maxBodyBytes));
  root.notFound(notFoundOrMethodNotAllowed(root));
  root.onError(errorHandler());
  const app = root.basePath(`/${name}`);
  app.get("/health", (c) =>
    c.json({
      status: "ok",
      function: name,
      ...(options.version !== undefined && { version: options.version }),
    }));
  return app;
}

/**
 * Request id, per-request logger, Sentry isolation scope (with the request's transaction when
 * tracing is on), fault reporting and the access log line. The access log is written inside the
 * request's scope: written outside, its breadcrumb landed in the process scope and rode along on
 * every later request's events.
 */
function requestContext(name: string, logger: Logger, accessLog: boolean): MiddlewareHandler<
  FunctionEnv
> {
  return async (c, next) => {
    const started = performance.now();
    const requestId = requestIdFor(c.req.raw);
    c.req.raw = withRequestIdHeader(c.req.raw, requestId);
    const log = logger.child({ request_id: requestId });
    c.set("requestId", requestId);
    c.set("logger", log);
    const sink: FaultSink = {
      report: (error, context) => {
        log.error("request failed", {
          error,
          code: context.code ?? "internal_error",
          ...(context.where !== undefined && { caught_in: context.where }),
          method: c.req.method,
          path: c.req.path,
        });
        captureException(
          error,
          faultCapture({ ...context, tags: { path: routeOf(c), ...context.tags } }),
        );
      },
    };
    await withSentryRequest(
      {
        function: name,
        requestId,
        method: c.req.method,
        url: c.req.url,
        headers: c.req.raw.headers,
        transaction: routeOf(c),
      },
      async () => {
        const { reported } = await withFaultSink(sink, async () => {
          try {
            await next();
          } catch (thrown) {
            // Hono hands only Error instances to onError; a thrown string or object lands here.
            c.res = internalError(c, thrown);
          }
        });
        if (c.res.status >= 500) c.res = await reportedServerError(c, log, reported());
        c.header(REQUEST_ID_HEADER, requestId);
        if (accessLog) {
          const fields = {
            method: c.req.method,
            path: c.req.path,
            status: c.res.status,
            duration_ms: Math.round((performance.now() - started) * 100) / 100,
          };
          if (c.req.method === "OPTIONS") log.debug("preflight", fields);
          else log.info("request", fields);
        }
        return c.res.status;
      },
      (status) => status,
    );
  };
}

/**
 * A 5xx that left the routes: answered in the project's error shape (a sub-app's plain-text 500
 * is replaced), and — unless whoever produced it reported it already — logged and captured as a
 * Sentry issue tagged with its code, status and path (an `auth_unavailable` 503 or a migrator
 * failure is an outage someone must see).
 */
async function reportedServerError(
  c: Context<FunctionEnv>,
  log: Logger,
  reported: boolean,
): Promise<Response> {
  const response = c.res;
  const code = await errorCodeOf(response);
  if (!reported) {
    const fields = { code: code ?? "internal_error", status: response.status };
    log.error("request failed", { ...fields, method: c.req.method, path: c.req.path });
    captureMessage(
      `${c.req.method} ${routeOf(c)} answered ${response.status} ${fields.code}`,
      "error",
      {
        tags: { error_code: fields.code, status: response.status, path: routeOf(c) },
        fingerprint: ["server-error", routeOf(c), fields.code],
      },
    );
  }
  if (code !== null) return response;
  await response.body?.cancel();
  const fallbackCode = response.status === 503
    ? "unavailable"
    : response.status === 504
    ? "timeout"
    : "internal_error";
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  headers.set("content-type", "application/json");
  return new Response(
    JSON.stringify(errorBody(fallbackCode, publicMessage(fallbackCode), {
      request_id: c.get("requestId"),
    })),
    { status: response.status, headers },
  );
}

/**
 * The first two path segments (`/coordinator/agents`, `/migrate-batch/admin`): groups one route's
 * failures into one issue, and keeps ids (or a secret a client put in the path) out of its title.
 */
function routeOf(c: Context<FunctionEnv>): string {
  return c.req.path.split("/").slice(0, 3).join("/");
}

/** `error.code` of a JSON error body, or null when the body is not in the project's shape. */
async function errorCodeOf(response: Response): Promise<string | null> {
  if (!response.headers.get("content-type")?.includes("json")) return null;
  try {
    const body = await response.clone().json() as { error?: { code?: unknown } };
    return typeof body?.error?.code === "string" ? body.error.code : null;
  } catch {
    return null;
  }
}

function errorHandler(): ErrorHandler<FunctionEnv> {
  return (error, c) => {
    const known = toHttpError(error);
    if (known && known.status < 500) return known.toResponse();
    if (!known) return internalError(c, error);
    reportFault(error, { code: known.code });
    return errorResponse(
      known.status,
      known.code,
      known.message,
      { request_id: c.get("requestId") },
      known.headers,
    );
  };
}

/** 500 with a generic message; the error itself goes (redacted) to the log and Sentry only. */
function internalError(c: Context<FunctionEnv>, error: unknown): Response {
  reportFault(error, { code: "internal_error" });
  return errorResponse(500, "internal_error", "Internal server error", {
    request_id: c.get("requestId"),
  });
}

function notFoundOrMethodNotAllowed(app: Hono<FunctionEnv>): NotFoundHandler<FunctionEnv> {
  return (c) => {
    const path = clippedPath(c.req.path);
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length > 0 && !allowed.includes(c.req.method)) {
      return errorResponse(
        405,
        "method_not_allowed",
        `Method ${c.req.method} is not allowed for ${path}`,
        { allowed },
        { Allow: allowed.join(", ") },
      );
    }
    return notFoundResponse(c.req.method, c.req.path);
  };
}

/** The methods with a route (not middleware, not a catch-all `all`) for this path. */
function allowedMethods(app: Hono<FunctionEnv>, path: string): string[] {
  const allowed: string[] = [];
  for (const method of ROUTE_METHODS) {
    const [matches] = app.router.match(method, path);
    const routed = matches.some((match) => {
      const route = (match[0] as unknown as [unknown, { method?: string }])[1];
      return route?.method === method;
    });
    if (routed) allowed.push(method);
  }
  if (allowed.includes("GET")) allowed.splice(1, 0, "HEAD");
  if (allowed.length > 0) allowed.push("OPTIONS");
  return allowed;
}
