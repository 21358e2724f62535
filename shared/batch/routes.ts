/**
 * The migrate-batch API as a Hono sub-app, mounted under the function's base path
 * (`/migrate-batch`; Supabase routes `/functions/v1/migrate-batch/...` there):
 *
 *   POST /          { migration_id?, engine?, batch_size?, dry_run?, max_batches?, budget_ms? }
 *                   run/continue (engine: set_based, the default, or per_user)
 *   POST /plan      { migration_id?, batch_size?, after_id? } the next batch's plan (no write)
 *   POST /rollback  { migration_id, confirm: true }
 *   POST /verify    { migration_id, max_ids? }
 *   POST /validate  { after_id?, max_failures?, budget_ms? }
 *   GET  /status
 *
 * Every route requires `Authorization: Bearer <service-role key>` or the cron secret (Bearer, or
 * `x-cron-secret`); anything else is 401 before any work starts. Written once against
 * BatchOperations: over BatchMigrationEngine it is the abstracted function, over
 * OriginalBatchMigration the original one. Under the EdgeFunctionMigrator the HandlerContext
 * arrives as `env.handler`; in plan mode POST / answers with the plan of the next batch and
 * writes nothing, so both implementations can be compared on the same batch.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { z } from "zod";
import { HttpError, notFoundResponse, routeError } from "../http/errors.ts";
import { reportFault } from "../observability/faults.ts";
import { parseJsonBytes, validate } from "../http/validation.ts";
import type {
  Handler,
  HandlerContext,
  MigratorPolicy,
  OperationPolicy,
} from "../migrator/types.ts";
import { AppError } from "../result.ts";
import {
  type BatchEngineName,
  type PlanInput,
  planInputSchema,
  rollbackInputSchema,
  type RunInput,
  runInputSchema,
  validateInputSchema,
  verifyInputSchema,
} from "./config.ts";
import type { BatchMigrationEngine, NextBatchPlan, RunResult } from "./engine.ts";

/** What differs between the two implementations. */
export interface BatchOperations {
  run(input: RunInput, control?: { signal?: AbortSignal }): Promise<RunResult>;
  planNextBatch(input: PlanInput): Promise<NextBatchPlan>;
}

export interface BatchAuth {
  /** SUPABASE_SERVICE_ROLE_KEY and/or the SUPABASE_SECRET_KEYS values. */
  readonly serviceRoleKeys: readonly string[];
  /** CRON_SECRET, for schedulers that should not hold the service-role key. */
  readonly cronSecret?: string;
}

export interface BatchRoutesDeps {
  readonly operations: BatchOperations;
  /** Rollback, verify, validate and status: one implementation serves both paths. */
  readonly engine: BatchMigrationEngine;
  readonly auth: BatchAuth;
  /** Larger bodies are refused with 413 (default 64 KiB). */
  readonly maxBodyBytes?: number;
  /** Which engine `operations` is: a run asking for the other one is refused (409). */
  readonly engineName?: BatchEngineName;
  /** DRY_RUN: every run is a dry run (nothing migrated) and rollback is refused. */
  readonly dryRunOnly?: boolean;
}

export type MigratorBinding =
  & Pick<HandlerContext, "mode" | "claimCommit" | "requestId">
  & Partial<Pick<HandlerContext, "signal">>;

export interface BatchEnv {
  Bindings: { handler?: MigratorBinding };
}

const encoder = new TextEncoder();

async function digest(value: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(value)));
}

/** Equal secrets, compared in constant time over their digests (no length or prefix leak). */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

export async function isAuthorized(headers: Headers, auth: BatchAuth): Promise<boolean> {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.get("authorization") ?? "")?.[1];
  const cronHeader = headers.get("x-cron-secret") ?? undefined;
  const accepted = [...auth.serviceRoleKeys, ...(auth.cronSecret ? [auth.cronSecret] : [])]
    .filter((secret) => secret.length > 0);
  let ok = false;
  // Every candidate is compared (no early exit), so timing does not reveal which one matched.
  for (const secret of accepted) {
    if (bearer !== undefined && await sameSecret(bearer, secret)) ok = true;
  }
  if (
    auth.cronSecret && cronHeader !== undefined && await sameSecret(cronHeader, auth.cronSecret)
  ) {
    ok = true;
  }
  return ok;
}

function unauthorized(): Response {
  return new HttpError(
    401,
    "unauthorized",
    "a service-role key or the cron secret is required (Authorization: Bearer ...)",
  ).toResponse();
}

/** The body as `schema` says; an empty body counts as `{}` where `emptyAsObject`. */
async function input<S extends z.ZodType>(
  c: Context<BatchEnv>,
  schema: S,
  maxBytes: number,
  emptyAsObject: boolean,
): Promise<z.output<S>> {
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.byteLength > maxBytes) {
    throw new HttpError(413, "payload_too_large", `Request body exceeds ${maxBytes} bytes`);
  }
  let value: unknown = {};
  if (bytes.byteLength > 0 || !emptyAsObject) {
    const parsed = parseJsonBytes(c.req.header("content-type"), bytes);
    if (!parsed.ok) throw parsed.error;
    value = parsed.value;
  }
  const valid = await validate(schema, value);
  if (!valid.ok) throw valid.error;
  return valid.value;
}

const NOT_COMMITTED = new AppError(
  "unavailable",
  "the write was not committed (plan run, or the attempt was abandoned)",
  { reason: "not_committed" },
);

const DRY_RUN_REFUSES = (what: string) =>
  new HttpError(409, "conflict", `DRY_RUN is set: this deployment only plans, and ${what}`, {
    variable: "DRY_RUN",
  });

/** Under DRY_RUN every run is a dry run; asking for a real one is refused, not downgraded. */
function dryRunOf(body: RunInput, dryRunOnly: boolean | undefined): RunInput {
  if (!dryRunOnly) return body;
  if (body.dry_run === false) throw DRY_RUN_REFUSES("dry_run: false would migrate users");
  return { ...body, dry_run: true };
}

export function createBatchRoutes(deps: BatchRoutesDeps): Hono<BatchEnv> {
  const maxBytes = deps.maxBodyBytes ?? 64 * 1024;
  const app = new Hono<BatchEnv>({ strict: false });

  app.use("*", async (c, next) => {
    if (!await isAuthorized(c.req.raw.headers, deps.auth)) return unauthorized();
    await next();
  });

  app.post("/", async (c) => {
    const body = dryRunOf(await input(c, runInputSchema, maxBytes, true), deps.dryRunOnly);
    if (body.engine !== undefined && deps.engineName && body.engine !== deps.engineName) {
      // Never a silent substitute: the caller asked for one engine and would get the other.
      throw new HttpError(
        409,
        "conflict",
        `engine ${body.engine} cannot serve this run (it reached the ${deps.engineName} engine): ` +
          "the per-user engine needs SUPABASE_URL and a service key, and the kill switch " +
          "(force_original) sends every run to it",
        { field: "engine" },
      );
    }
    const handler = c.env?.handler;
    if (handler?.mode === "plan") {
      // A shadow of a run: describe the next batch, write nothing.
      return c.json(
        await deps.operations.planNextBatch({
          ...(body.migration_id !== undefined && { migration_id: body.migration_id }),
          ...(body.batch_size !== undefined && { batch_size: body.batch_size }),
        }),
      );
    }
    if (handler && !handler.claimCommit()) throw NOT_COMMITTED;
    // The client (or the migrator) giving up stops the run before its next batch.
    return c.json(await deps.operations.run(body, { signal: handler?.signal ?? c.req.raw.signal }));
  });

  app.post("/plan", async (c) => {
    const body = await input(c, planInputSchema, maxBytes, true);
    return c.json(await deps.operations.planNextBatch(body));
  });

  app.post("/rollback", async (c) => {
    const body = await input(c, rollbackInputSchema, maxBytes, false);
    if (deps.dryRunOnly) throw DRY_RUN_REFUSES("a rollback deletes migrated users");
    const handler = c.env?.handler;
    if (handler && !handler.claimCommit()) throw NOT_COMMITTED;
    return c.json(await deps.engine.rollback(body));
  });

  app.post("/verify", async (c) => {
    const body = await input(c, verifyInputSchema, maxBytes, false);
    return c.json(await deps.engine.verify(body));
  });

  app.post("/validate", async (c) => {
    const body = await input(c, validateInputSchema, maxBytes, true);
    return c.json(await deps.engine.validate(body));
  });

  app.get("/status", async (c) => c.json(await deps.engine.status()));

  app.onError((error) => {
    if (error instanceof HttpError) {
      if (error.status >= 500) reportFault(error, { code: error.code, where: "migrate-batch" });
      return error.toResponse();
    }
    if (error instanceof AppError) {
      const { status, body } = routeError(error);
      return Response.json({ error: body }, { status });
    }
    // Never the error's own text: it can quote SQL or data (the log and Sentry get it, redacted).
    reportFault(error, { code: "internal_error", where: "migrate-batch" });
    return new HttpError(500, "internal_error", "Internal server error").toResponse();
  });
  return app;
}

/** The routes under a base path (Supabase hands the function `/migrate-batch/...`). */
export function createBatchApp(deps: BatchRoutesDeps, basePath = "/migrate-batch"): Hono<BatchEnv> {
  const app = new Hono<BatchEnv>({ strict: false }).basePath(basePath);
  app.route("/", createBatchRoutes(deps));
  // The project's JSON error shape, not Hono's plain-text "404 Not Found" (authorised callers
  // only: the routes' auth middleware answers 401 first).
  app.notFound((c) => notFoundResponse(c.req.method, c.req.path));
  return app;
}

/** A batch app as an EdgeFunctionMigrator Handler: the HandlerContext becomes `env.handler`. */
export function toMigratorHandler(
  app: { fetch(req: Request, env?: unknown): Response | Promise<Response> },
): Handler {
  return async (req, ctx) => await app.fetch(req, { handler: ctx });
}

const OPERATIONS: Record<string, OperationPolicy> = {
  // A run claims its commit at once and may take the whole wall-clock budget (~50 s), far past
  // the fallback timeout: as a "write" the migrator waits for it instead of starting the other
  // implementation next to it. Two live runs would not be comparable, so no shadow.
  "POST /": { name: "batch.run", safety: "write", shadow: "off" },
  // Both implementations plan the same batch; the migrator records any difference.
  "POST /plan": { name: "batch.plan", safety: "read_only", shadow: "live" },
  "POST /rollback": { name: "batch.rollback", safety: "write", shadow: "off" },
  "POST /verify": { name: "batch.verify", safety: "idempotent", shadow: "off" },
  "POST /validate": { name: "batch.validate", safety: "read_only", shadow: "off" },
  "GET /status": { name: "batch.status", safety: "read_only", shadow: "off" },
};

/** The migrator policy of migrate-batch (classification by method and path only). */
export const MIGRATE_BATCH_POLICY: MigratorPolicy = {
  functionName: "migrate-batch",
  classify(req: Request): OperationPolicy {
    const path = new URL(req.url).pathname.replace(/^\/migrate-batch/, "").replace(/\/$/, "");
    return OPERATIONS[`${req.method} ${path === "" ? "/" : path}`] ??
      { name: "batch.unknown", safety: "write", shadow: "off" };
  },
  // A run names no user, so a rollout percentage means nothing for it: the set-based engine is
  // the production default (the cron's `{}` included) and the per-user original runs only when
  // asked for (`engine: "per_user"`) or forced by the kill switch.
  pinnedPath(req, body) {
    if (MIGRATE_BATCH_POLICY.classify(req).name !== "batch.run") return undefined;
    return requestedEngine(body) === "per_user" ? "original" : "abstracted";
  },
  // Timings differ between any two runs. The field-coverage report is the set-based engine's
  // alone (the per-user original carries fewer fields and reports none).
  volatilePaths: ["elapsed_ms", "coverage"],
};

/** The `engine` field of a run's JSON body, if it names one (validation is the route's job). */
function requestedEngine(body: Uint8Array | null): unknown {
  if (body === null || body.byteLength === 0) return undefined;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(body));
    return parsed && typeof parsed === "object"
      ? (parsed as { engine?: unknown }).engine
      : undefined;
  } catch {
    return undefined;
  }
}
