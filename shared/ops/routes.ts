/**
 * The operations admin API as a Hono sub-app. Mount it under the migrate-batch function, e.g.
 * `app.route("/migrate-batch/admin", createOpsRoutes(deps))`; every route needs an admin
 * credential (admin-auth.ts) and answers `{ data }` or `{ error: { code, message, details? } }`.
 *
 *   GET  /rollouts                      overview: kill switch, every rollout, every flags row
 *   POST /rollouts/evaluate             the scheduled evaluation (pg_cron / local cron)
 *   GET  /rollouts/:fn                  one function: rollout, flags, effective percentage
 *   GET  /rollouts/:fn/health           health now (?windowSeconds=), no changes
 *   POST /rollouts/:fn/start            { steps?, holdSeconds?, analysis?, reason? }
 *   POST /rollouts/:fn/retry            { fromStep?, reason? }            (aborted only)
 *   POST /rollouts/:fn/pause            { reason? }
 *   POST /rollouts/:fn/resume           { reason? }
 *   POST /rollouts/:fn/rollback         { steps?, holdSeconds?, reason? } planned rollback
 *   PUT  /rollouts/:fn/percentage       { percentage, reason? }           pauses a running rollout
 *   PUT  /rollouts/:fn/canary           { enabled?, percentage?, selection?, whitelist?,
 *                                         emailDomains?, reason? }   null clears a lever
 *   GET  /emergency-rollback            kill switch state
 *   POST /emergency-rollback            { confirm: "ROLLBACK", reason }   every function → original
 *   POST /emergency-rollback/undo       { confirm: "RESTORE", reason? }
 *   GET  /batch                         batch levers and whether the batch may write now
 *   PUT  /batch                         { paused?, maxUsersPerSecond?, window?, reason? }
 *   POST /batch/pause | /batch/resume   { reason? }
 *   GET  /divergences                   ?kind=&status=&user=&since=&limit=&cursor= (+ counts)
 *   POST /divergences/:id/retry         { reason? }   back to reconciliation (attempts reset)
 *   POST /divergences/:id/resolve       { note }      closed by hand, audited
 *
 * The acting operator recorded in migration_log and runtime_flags.updated_by is the principal
 * ("service_role", "admin"), refined by an optional `x-ops-actor` header (e.g. an e-mail).
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { routeError } from "../http/errors.ts";
import { reportFault } from "../observability/faults.ts";
import { AppError, type ErrorCode, type Result } from "../result.ts";
import { type AdminPrincipal, authenticate, type OpsAuth } from "./admin-auth.ts";
import type { RolloutController } from "./controller.ts";
import type { DivergenceAdmin } from "./divergences.ts";
import type { EmergencySwitch } from "./emergency.ts";
import type { Actor } from "./types.ts";

export interface OpsRoutesDeps {
  readonly controller: RolloutController;
  readonly emergency: EmergencySwitch;
  /** The batch levers (GET/PUT /batch, POST /batch/pause, /batch/resume). */
  readonly batch?: {
    state(): Promise<unknown>;
    set(input: unknown, actor: Actor): Promise<Result<unknown, AppError>>;
  };
  /** auth_divergences for operators (GET /divergences, retry, resolve). */
  readonly divergences?: DivergenceAdmin;
  readonly auth: OpsAuth;
  /** Request bodies above this are refused with 413 (default 16 KiB). */
  readonly maxBodyBytes?: number;
  /** Clock of the evaluate route (tests). */
  readonly now?: () => Date;
}

export interface OpsEnv {
  Variables: { principal: AdminPrincipal };
}

/** `{ error: { code, message, details? } }`; server-side failures never expose internals. */
export function opsErrorResponse(c: Context, error: AppError): Response {
  const { status, body } = routeError(error);
  return c.json({ error: body }, status);
}

function respond<T>(c: Context, result: Result<T, AppError>): Response {
  return result.ok ? c.json({ data: result.value }) : opsErrorResponse(c, result.error);
}

/** The operator name for audits: the principal, refined by x-ops-actor when given. */
function actorOf(c: Context<OpsEnv>): Actor {
  const principal = c.get("principal");
  const named = c.req.header("x-ops-actor")?.trim();
  const clean = named && /^[\w.@+ -]{1,100}$/.test(named) ? named : null;
  return { by: clean ? `${clean} (${principal.id})` : principal.id };
}

/** A JSON object body within the size limit; an empty body is `{}`. */
async function readBody(c: Context, maxBytes: number): Promise<Result<unknown, AppError>> {
  const declared = Number(c.req.header("content-length") ?? "0");
  const tooLarge = () => ({
    ok: false as const,
    error: new AppError("validation_failed", `request body exceeds ${maxBytes} bytes`, {
      field: "body",
      reason: "too_large",
    }),
  });
  if (declared > maxBytes) return tooLarge();
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.byteLength > maxBytes) return tooLarge();
  const text = new TextDecoder().decode(bytes).trim();
  if (text === "") return { ok: true, value: {} };
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return {
        ok: false,
        error: new AppError("validation_failed", "body: must be a JSON object", { field: "body" }),
      };
    }
    return { ok: true, value };
  } catch {
    return {
      ok: false,
      error: new AppError("validation_failed", "body: must be valid JSON", { field: "body" }),
    };
  }
}

export function createOpsRoutes(deps: OpsRoutesDeps): Hono<OpsEnv> {
  const { controller, emergency } = deps;
  const maxBodyBytes = deps.maxBodyBytes ?? 16 * 1024;
  const now = deps.now ?? (() => new Date());
  const app = new Hono<OpsEnv>({ strict: false });

  app.use("*", async (c, next) => {
    const outcome = await authenticate(deps.auth, c.req.raw);
    if (!outcome.ok) {
      const code: ErrorCode = outcome.status === 401
        ? "unauthorized"
        : outcome.status === 403
        ? "forbidden"
        : "unavailable";
      return opsErrorResponse(c, new AppError(code, outcome.message));
    }
    c.set("principal", outcome.principal);
    c.header("Cache-Control", "no-store");
    await next();
  });

  /** Routes that take a JSON body and call one controller action. */
  const action = (
    run: (fn: string, body: unknown, actor: Actor) => Promise<Result<unknown, AppError>>,
  ) =>
  async (c: Context<OpsEnv>) => {
    const body = await readBody(c, maxBodyBytes);
    if (!body.ok) return opsErrorResponse(c, body.error);
    return respond(c, await run(c.req.param("fn") ?? "", body.value, actorOf(c)));
  };

  app.get("/rollouts", async (c) => respond(c, await controller.overview()));

  app.post("/rollouts/evaluate", async (c) => {
    const body = await readBody(c, maxBodyBytes);
    if (!body.ok) return opsErrorResponse(c, body.error);
    return c.json({ data: await controller.evaluateRollouts(now()) });
  });

  app.get("/rollouts/:fn", async (c) => respond(c, await controller.get(c.req.param("fn"))));

  app.get("/rollouts/:fn/health", async (c) => {
    const raw = c.req.query("windowSeconds");
    let windowSeconds: number | undefined;
    if (raw !== undefined) {
      windowSeconds = Number(raw);
      if (!Number.isInteger(windowSeconds) || windowSeconds < 10 || windowSeconds > 86_400) {
        return opsErrorResponse(
          c,
          new AppError("validation_failed", "windowSeconds: an integer from 10 to 86400", {
            field: "windowSeconds",
          }),
        );
      }
    }
    return respond(c, await controller.health(c.req.param("fn"), { windowSeconds }));
  });

  app.post("/rollouts/:fn/start", action((fn, body, actor) => controller.start(fn, body, actor)));
  app.post("/rollouts/:fn/retry", action((fn, body, actor) => controller.retry(fn, body, actor)));
  app.post("/rollouts/:fn/pause", action((fn, body, actor) => controller.pause(fn, body, actor)));
  app.post("/rollouts/:fn/resume", action((fn, body, actor) => controller.resume(fn, body, actor)));
  app.post(
    "/rollouts/:fn/rollback",
    action((fn, body, actor) => controller.rollback(fn, body, actor)),
  );
  app.put(
    "/rollouts/:fn/canary",
    action((fn, body, actor) => controller.setCanary(fn, body, actor)),
  );
  app.put(
    "/rollouts/:fn/percentage",
    action((fn, body, actor) => controller.setPercentage(fn, body, actor)),
  );

  app.get("/emergency-rollback", async (c) => respond(c, await emergency.state()));
  app.post("/emergency-rollback", action((_fn, body, actor) => emergency.engage(body, actor)));
  app.post(
    "/emergency-rollback/undo",
    action((_fn, body, actor) => emergency.release(body, actor)),
  );

  const batch = deps.batch;
  if (batch) {
    app.get("/batch", async (c) => c.json({ data: await batch.state() }));
    app.put("/batch", action((_fn, body, actor) => batch.set(body, actor)));
    for (const [verb, paused] of [["pause", true], ["resume", false]] as const) {
      app.post(
        `/batch/${verb}`,
        action((_fn, body, actor) => batch.set({ ...(body as object), paused }, actor)),
      );
    }
  }

  const divergences = deps.divergences;
  if (divergences) {
    app.get("/divergences", async (c) => respond(c, await divergences.list(c.req.query())));
    for (const verb of ["retry", "resolve"] as const) {
      app.post(`/divergences/:id/${verb}`, async (c) => {
        const id = Number(c.req.param("id"));
        if (!Number.isSafeInteger(id) || id < 1) {
          return opsErrorResponse(
            c,
            new AppError("validation_failed", "id: must be a positive integer", { field: "id" }),
          );
        }
        const body = await readBody(c, maxBodyBytes);
        if (!body.ok) return opsErrorResponse(c, body.error);
        return respond(c, await divergences[verb](id, body.value, actorOf(c)));
      });
    }
  }

  // A catch-all rather than notFound(): a mounted sub-app's notFound handler is not used.
  app.all("*", (c) => opsErrorResponse(c, new AppError("not_found", "no such admin route")));
  app.onError((error, c) => {
    if (error instanceof AppError) return opsErrorResponse(c, error);
    reportFault(error, { code: "internal_error", where: "ops routes" });
    return opsErrorResponse(c, new AppError("internal_error", "internal error"));
  });
  return app;
}
