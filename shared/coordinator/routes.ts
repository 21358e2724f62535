/**
 * The coordinator API as a Hono sub-app, written once against CoordinatorOperations: mounted
 * over OriginalCoordinator it is the original function, over CoordinationService the abstracted
 * one, and both answer every request with the same status and body.
 *
 *   POST   /                     { task_id, strategy, max_agents? } -> assignment
 *   GET    /agents               ?status=active|inactive&capability=a,b&limit=&offset=
 *   POST   /agents               create
 *   GET    /agents/:id
 *   PATCH  /agents/:id           partial update (PUT is accepted as an alias)
 *   DELETE /agents/:id
 *   GET    /agents/:id/metrics   task count, success rate, average duration
 *
 * Every route requires `Authorization: Bearer <user access token>` (either auth system), checked
 * by the injected `verifyToken`. Mount it under the function's base path (`/coordinator`).
 * The EdgeFunctionMigrator's HandlerContext arrives as `env.handler` (see toMigratorHandler).
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Handler, HandlerContext } from "../migrator/types.ts";
import { routeError } from "../http/errors.ts";
import { reportFault } from "../observability/faults.ts";
import { AppError, type Result } from "../result.ts";
import type { VerifyToken } from "./auth.ts";
import type { CoordinatorOperations } from "./operations.ts";
import {
  parseAgentCreate,
  parseAgentListQuery,
  parseAgentUpdate,
  parseCoordinateRequest,
  parseId,
  validationError,
} from "./validation.ts";

export type { VerifyToken };

export interface CoordinatorRoutesDeps {
  readonly operations: CoordinatorOperations;
  /** The auth seam (see auth.ts; verifyTokenWith adapts shared/auth's verifyAccessToken). */
  readonly verifyToken: VerifyToken;
  /** Request bodies larger than this are refused with 413 (default 64 KiB). */
  readonly maxBodyBytes?: number;
}

/** What the migrator passes per request; absent when the app is served directly (live). */
export type MigratorBinding = Pick<HandlerContext, "mode" | "claimCommit" | "requestId">;

export interface CoordinatorEnv {
  Bindings: { handler?: MigratorBinding };
  Variables: { userId: string };
}

/**
 * `{ error: { code, message, details? } }`; server-side failures (a database fault such as a
 * missing table included) never expose their internals and are reported (shared/http/errors.ts).
 */
export function errorResponse(c: Context, error: AppError): Response {
  const { status, body } = routeError(error);
  return c.json({ error: body }, status);
}

function respond<T>(c: Context, result: Result<T, AppError>, status: ContentfulStatusCode = 200) {
  return result.ok
    ? c.json({ success: true, data: result.value }, status)
    : errorResponse(c, result.error);
}

function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match ? match[1]! : null;
}

/** Reads a JSON object body within the size limit; a Result so bad input is a 4xx, never a 500. */
async function readJsonBody(c: Context, maxBytes: number): Promise<Result<unknown, AppError>> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > maxBytes) return tooLarge(maxBytes);
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.byteLength > maxBytes) return tooLarge(maxBytes);
  if (bytes.byteLength === 0) {
    return {
      ok: false,
      error: validationError([{ field: "body", message: "a JSON body is required" }]),
    };
  }
  try {
    return { ok: true, value: JSON.parse(new TextDecoder().decode(bytes)) };
  } catch {
    return {
      ok: false,
      error: validationError([{ field: "body", message: "must be valid JSON" }]),
    };
  }
}

function tooLarge(maxBytes: number): Result<never, AppError> {
  return {
    ok: false,
    error: new AppError("validation_failed", `request body exceeds ${maxBytes} bytes`, {
      field: "body",
      reason: "too_large",
    }),
  };
}

/** The migrator's commit gate for this request (always "go ahead" when served directly). */
function commitGate(
  c: Context<CoordinatorEnv>,
): { planOnly: boolean; claimCommit: () => boolean; requestId?: string } {
  const handler = c.env?.handler;
  return {
    planOnly: handler?.mode === "plan",
    claimCommit: handler ? () => handler.claimCommit() : () => true,
    ...(handler?.requestId !== undefined && { requestId: handler.requestId }),
  };
}

const NOT_COMMITTED = new AppError(
  "unavailable",
  "the write was not committed (plan run, or the attempt was abandoned)",
  { reason: "not_committed" },
);

export function createCoordinatorRoutes(deps: CoordinatorRoutesDeps): Hono<CoordinatorEnv> {
  const { operations: ops, verifyToken } = deps;
  const maxBodyBytes = deps.maxBodyBytes ?? 64 * 1024;
  const app = new Hono<CoordinatorEnv>({ strict: false });

  app.use("*", async (c, next) => {
    const token = bearerToken(c.req.header("authorization"));
    if (!token) {
      return errorResponse(c, new AppError("unauthorized", "a Bearer access token is required"));
    }
    let user: { userId: string } | null;
    try {
      user = await verifyToken(token);
    } catch {
      return errorResponse(c, new AppError("unavailable", "token verification is unavailable"));
    }
    if (!user) {
      return errorResponse(
        c,
        new AppError("unauthorized", "the access token is invalid or expired"),
      );
    }
    c.set("userId", user.userId);
    await next();
  });

  app.post("/", async (c) => {
    const body = await readJsonBody(c, maxBodyBytes);
    if (!body.ok) return errorResponse(c, body.error);
    const request = parseCoordinateRequest(body.value);
    if (!request.ok) return errorResponse(c, request.error);
    const gate = commitGate(c);
    return respond(
      c,
      await ops.coordinateTask(request.value.task_id, {
        strategy: request.value.strategy,
        maxAgents: request.value.max_agents,
        planOnly: gate.planOnly,
        claimCommit: gate.claimCommit,
        requestId: gate.requestId,
      }),
    );
  });

  app.get("/agents", async (c) => {
    const filters = parseAgentListQuery(c.req.queries());
    if (!filters.ok) return errorResponse(c, filters.error);
    return respond(c, await ops.listAgents(filters.value));
  });

  app.post("/agents", async (c) => {
    const body = await readJsonBody(c, maxBodyBytes);
    if (!body.ok) return errorResponse(c, body.error);
    const input = parseAgentCreate(body.value);
    if (!input.ok) return errorResponse(c, input.error);
    if (!commitGate(c).claimCommit()) return errorResponse(c, NOT_COMMITTED);
    return respond(c, await ops.createAgent(input.value), 201);
  });

  app.get("/agents/:id", async (c) => {
    const id = parseId(c.req.param("id"), "id");
    if (!id.ok) return errorResponse(c, id.error);
    return respond(c, await ops.getAgent(id.value));
  });

  const update = async (c: Context<CoordinatorEnv>) => {
    const id = parseId(c.req.param("id"), "id");
    if (!id.ok) return errorResponse(c, id.error);
    const body = await readJsonBody(c, maxBodyBytes);
    if (!body.ok) return errorResponse(c, body.error);
    const input = parseAgentUpdate(body.value);
    if (!input.ok) return errorResponse(c, input.error);
    if (!commitGate(c).claimCommit()) return errorResponse(c, NOT_COMMITTED);
    return respond(c, await ops.updateAgent(id.value, input.value));
  };
  app.patch("/agents/:id", update);
  app.put("/agents/:id", update);

  app.delete("/agents/:id", async (c) => {
    const id = parseId(c.req.param("id"), "id");
    if (!id.ok) return errorResponse(c, id.error);
    if (!commitGate(c).claimCommit()) return errorResponse(c, NOT_COMMITTED);
    return respond(c, await ops.deleteAgent(id.value));
  });

  app.get("/agents/:id/metrics", async (c) => {
    const id = parseId(c.req.param("id"), "id");
    if (!id.ok) return errorResponse(c, id.error);
    return respond(c, await ops.getAgentMetrics(id.value));
  });

  app.onError((error, c) => {
    if (error instanceof AppError) return errorResponse(c, error);
    reportFault(error, { code: "internal_error", where: "coordinator routes" });
    return errorResponse(c, new AppError("internal_error", "internal error"));
  });
  return app;
}

/** The whole function app: the routes under `basePath` (Supabase routes `/<function-name>/...`). */
export function createCoordinatorApp(
  deps: CoordinatorRoutesDeps,
  basePath = "/coordinator",
): Hono<CoordinatorEnv> {
  // strict: false, so `/coordinator` and `/coordinator/` are the same endpoint.
  const app = new Hono<CoordinatorEnv>({ strict: false }).basePath(basePath);
  app.route("/", createCoordinatorRoutes(deps));
  app.notFound((c) =>
    errorResponse(c, new AppError("not_found", `no route for ${c.req.method} ${c.req.path}`))
  );
  app.onError((error, c) => {
    if (error instanceof AppError) return errorResponse(c, error);
    reportFault(error, { code: "internal_error", where: "coordinator routes" });
    return errorResponse(c, new AppError("internal_error", "internal error"));
  });
  return app;
}

/**
 * Adapts a coordinator app (mounted at `/coordinator`) to the EdgeFunctionMigrator's Handler
 * contract: the HandlerContext travels to the routes as `env.handler`.
 */
export function toMigratorHandler(
  app: { fetch(req: Request, env?: unknown): Response | Promise<Response> },
): Handler {
  return async (req, ctx) => await app.fetch(req, { handler: ctx });
}
