/**
 * The stages admin API, mounted by migrate-batch beside the other admin routes, with their
 * credentials (service-role key, OPS_ADMIN_SECRET, or a dashboard session + x-ops-csrf):
 *
 *   GET  /migrate-batch/admin/stages                 every staged function: stage, next, back_to
 *   GET  /migrate-batch/admin/stages/audit           the audit rows (?function=login&limit=50)
 *   GET  /migrate-batch/admin/stages/{fn}/gate       the next stage's gate, evaluated now
 *   POST /migrate-batch/admin/stages/{fn}            { to, reason }: move (forward through the
 *                                                    gate, one step; backward to any earlier)
 *
 * Answers `{ data }`; a refused move is `409 { error: { code: "conflict", message, details:
 * { refusal, from, to, gate } } }` with every check's figures; bad input a 400 naming the field.
 */
import { Hono } from "hono";
import { z } from "zod";
import { appErrorResponse, HttpError } from "../http/errors.ts";
import { parseJsonBytes, validate } from "../http/validation.ts";
import { AppError } from "../result.ts";
import { redactString } from "../observability/redact.ts";
import { authenticate, type OpsAuth } from "../ops/admin-auth.ts";
import type { StageService } from "./stage-service.ts";
import { isStagedFunction, STAGED_FUNCTIONS, STAGES } from "./stages.ts";

export interface StageRoutesDeps {
  readonly stages: () => Promise<StageService>;
  readonly auth: () => Promise<OpsAuth>;
  readonly maxBodyBytes?: number;
}

const moveSchema = z.strictObject({
  to: z.enum(STAGES),
  reason: z.string().trim().min(1, "say why").max(500),
});

const auditQuery = z.strictObject({
  function: z.enum(Object.keys(STAGED_FUNCTIONS) as [string, ...string[]]).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

const CODES: Record<number, "unauthorized" | "forbidden" | "unavailable"> = {
  401: "unauthorized",
  403: "forbidden",
  503: "unavailable",
};

async function readBody(request: Request, maxBytes: number): Promise<unknown> {
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > maxBytes) {
    throw new HttpError(413, "payload_too_large", `Request body exceeds ${maxBytes} bytes`);
  }
  if (bytes.byteLength === 0) return {};
  const parsed = parseJsonBytes(request.headers.get("content-type") ?? undefined, bytes);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

function unknownFunction(fn: string): HttpError {
  return new HttpError(
    404,
    "not_found",
    `${fn} has no migration stages (staged: ${Object.keys(STAGED_FUNCTIONS).join(", ")})`,
  );
}

export function createStageRoutes(deps: StageRoutesDeps, basePath: string) {
  const maxBytes = deps.maxBodyBytes ?? 64 * 1024;
  const app = new Hono<{ Variables: { operator: string } }>({ strict: false }).basePath(basePath);

  app.use("*", async (c, next) => {
    const outcome = await authenticate(await deps.auth(), c.req.raw);
    if (!outcome.ok) {
      throw new HttpError(outcome.status, CODES[outcome.status] ?? "unauthorized", outcome.message);
    }
    c.set("operator", outcome.principal.id);
    c.header("cache-control", "no-store");
    await next();
  });

  app.get("/", async (c) => c.json({ data: await (await deps.stages()).list() }));

  app.get("/audit", async (c) => {
    const query = await validate(auditQuery, c.req.query());
    if (!query.ok) throw query.error;
    const fn = query.value.function;
    const rows = await (await deps.stages()).audit(
      fn && isStagedFunction(fn) ? fn : null,
      query.value.limit ?? 50,
    );
    return c.json({ data: rows });
  });

  app.get("/:fn/gate", async (c) => {
    const fn = c.req.param("fn");
    if (!isStagedFunction(fn)) throw unknownFunction(fn);
    const { view, gate } = await (await deps.stages()).check(fn);
    return c.json({ data: { stage: view, gate } });
  });

  app.get("/:fn", async (c) => {
    const fn = c.req.param("fn");
    if (!isStagedFunction(fn)) throw unknownFunction(fn);
    return c.json({ data: await (await deps.stages()).get(fn) });
  });

  app.post("/:fn", async (c) => {
    const fn = c.req.param("fn");
    if (!isStagedFunction(fn)) throw unknownFunction(fn);
    const input = await validate(moveSchema, await readBody(c.req.raw, maxBytes));
    if (!input.ok) throw input.error;
    const outcome = await (await deps.stages()).move(fn, {
      to: input.value.to,
      reason: input.value.reason,
      actor: c.get("operator"),
    });
    if (!outcome.ok) {
      throw new HttpError(
        outcome.status === 404 ? 404 : 409,
        outcome.status === 404 ? "not_found" : "conflict",
        outcome.message,
        {
          refusal: outcome.refusal,
          from: outcome.from,
          to: outcome.to,
          gate: outcome.gate ?? null,
        },
      );
    }
    return c.json({ data: { stage: outcome.view, gate: outcome.gate } });
  });

  app.onError((error, c) => {
    const headers = { "cache-control": "no-store" };
    if (error instanceof HttpError) {
      const response = error.toResponse();
      response.headers.set("cache-control", headers["cache-control"]);
      return response;
    }
    if (error instanceof AppError) return appErrorResponse(error);
    console.error(JSON.stringify({
      level: "error",
      msg: "stages admin route failed",
      path: new URL(c.req.url).pathname,
      error: redactString(error instanceof Error ? error.message : String(error)),
    }));
    return new HttpError(500, "internal_error", "Internal server error").toResponse();
  });
  return app;
}
