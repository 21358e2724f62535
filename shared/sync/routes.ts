/**
 * The sync admin API, mounted by migrate-batch under its admin prefix
 * (`/functions/v1/migrate-batch/admin/sync/...`), with the credentials of the other admin routes
 * (service-role key or OPS_ADMIN_SECRET, as `Authorization: Bearer` or `apikey`):
 *
 *   GET  /admin/sync/status                     pending rows, lag, stuck users per direction;
 *                                               open capture failures; completion
 *   POST /admin/sync/apply    { budget_ms? }    apply both directions now
 *   POST /admin/sync/resync   { since? }        re-capture every Supabase user (changed since)
 *   POST /admin/sync/complete { confirm: true } declare the migration complete
 *   POST /admin/sync/reopen   { confirm: true } take the declaration back
 */
import { Hono } from "hono";
import { z } from "zod";
import { appErrorResponse, HttpError } from "../http/errors.ts";
import { AppError } from "../result.ts";
import { parseJsonBytes, validate } from "../http/validation.ts";
import { presentedKey } from "../ops/admin-auth.ts";
import type { AdminKeyVerifier } from "../ops/admin-auth.ts";
import type { IdentitySync } from "./service.ts";

export interface SyncRoutesDeps {
  readonly sync: () => Promise<IdentitySync>;
  readonly verifyKey: () => Promise<AdminKeyVerifier>;
  readonly maxBodyBytes?: number;
}

const applySchema = z.object({
  budget_ms: z.number().int().min(100).max(120_000).optional(),
}).strict();
const resyncSchema = z.object({ since: z.iso.datetime({ offset: true }).optional() }).strict();
const confirmSchema = z.object({ confirm: z.literal(true) }).strict();

async function body<S extends z.ZodType>(
  request: Request,
  schema: S,
  maxBytes: number,
): Promise<z.output<S>> {
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > maxBytes) {
    throw new HttpError(413, "payload_too_large", `Request body exceeds ${maxBytes} bytes`);
  }
  let value: unknown = {};
  if (bytes.byteLength > 0) {
    const parsed = parseJsonBytes(request.headers.get("content-type") ?? undefined, bytes);
    if (!parsed.ok) throw parsed.error;
    value = parsed.value;
  }
  const valid = await validate(schema, value);
  if (!valid.ok) throw valid.error;
  return valid.value;
}

/** The routes under `basePath` (migrate-batch passes "/migrate-batch/admin/sync"). */
export function createSyncRoutes(deps: SyncRoutesDeps, basePath: string) {
  const maxBytes = deps.maxBodyBytes ?? 64 * 1024;
  const app = new Hono<{ Variables: { operator: string } }>({ strict: false }).basePath(basePath);

  app.use("*", async (c, next) => {
    const key = presentedKey(c.req.raw.headers);
    const principal = key ? await (await deps.verifyKey())(key) : null;
    if (!principal) {
      throw new HttpError(
        401,
        "unauthorized",
        "a service-role key or OPS_ADMIN_SECRET is required",
      );
    }
    c.set("operator", principal.id);
    await next();
  });

  app.get("/status", async (c) => c.json(await (await deps.sync()).status()));

  app.post("/apply", async (c) => {
    const input = await body(c.req.raw, applySchema, maxBytes);
    return c.json(await (await deps.sync()).apply({ budgetMs: input.budget_ms }));
  });

  app.post("/resync", async (c) => {
    const input = await body(c.req.raw, resyncSchema, maxBytes);
    const since = input.since ? new Date(input.since) : undefined;
    return c.json(await (await deps.sync()).resync({ since }));
  });

  app.post("/complete", async (c) => {
    await body(c.req.raw, confirmSchema, maxBytes);
    return c.json(await (await deps.sync()).completion.declareComplete(c.get("operator")));
  });

  app.post("/reopen", async (c) => {
    await body(c.req.raw, confirmSchema, maxBytes);
    return c.json(await (await deps.sync()).completion.reopen());
  });

  app.onError((error) => {
    if (error instanceof HttpError) return error.toResponse();
    if (error instanceof AppError) return appErrorResponse(error);
    // Never the error's own text: it can quote SQL or data.
    return new HttpError(500, "internal_error", "Internal server error").toResponse();
  });
  return app;
}
