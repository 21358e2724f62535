/**
 * `GET /functions/v1/migrate-batch/admin/dependencies`: the Supabase Auth dependency report
 * (dependencies.ts) for operators. Registered by the migrate-batch function beside the ops admin
 * API (same credentials: service-role key, OPS_ADMIN_SECRET or a dashboard session) but as its
 * own route, so the ops routes stay untouched. Answers `{ data: DependencyReport }` or
 * `{ error: { code, message } }`.
 */
import type { SqlClient } from "../db/sql-client.ts";
import { redactString } from "../observability/redact.ts";
import { authenticate, type OpsAuth } from "../ops/admin-auth.ts";
import { findAuthDependencies } from "./dependencies.ts";

export interface DependenciesRouteDeps {
  readonly sql: SqlClient;
  readonly auth: OpsAuth;
}

const CODES: Record<number, string> = { 401: "unauthorized", 403: "forbidden", 503: "unavailable" };

export function dependenciesHandler(
  deps: DependenciesRouteDeps,
): (req: Request) => Promise<Response> {
  return async (req) => {
    const headers = { "cache-control": "no-store" };
    const outcome = await authenticate(deps.auth, req);
    if (!outcome.ok) {
      return Response.json(
        { error: { code: CODES[outcome.status] ?? "unauthorized", message: outcome.message } },
        { status: outcome.status, headers },
      );
    }
    try {
      return Response.json({ data: await findAuthDependencies(deps.sql) }, { headers });
    } catch (error) {
      console.error(JSON.stringify({
        level: "error",
        msg: "dependency report failed",
        error: redactString(error instanceof Error ? error.message : String(error)),
      }));
      return Response.json(
        { error: { code: "internal_error", message: "internal error" } },
        { status: 500, headers },
      );
    }
  };
}
