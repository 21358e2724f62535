/**
 * How the EdgeFunctionMigrator treats each coordinator request (for the function entry):
 * - POST /coordinator is a write; its shadow runs the other implementation in plan mode, which
 *   replays the candidates the primary ranked (same request id) and so compares the TypeScript
 *   and SQL rankings on identical state;
 * - agent reads are read-only and shadowed live;
 * - agent writes are writes without a shadow (a plan of a create/update/delete proves nothing
 *   and the routes refuse to write in plan mode anyway).
 * Fallback to the original is safe for a write only when the abstracted attempt committed
 * nothing: both implementations ask the commit gate right before their single atomic write.
 */
import type { MigratorPolicy, OperationPolicy } from "../migrator/types.ts";

export const COORDINATOR_FUNCTION_NAME = "coordinator";

const WRITE_NO_SHADOW = { safety: "write", shadow: "off" } as const;

export function classifyCoordinatorRequest(req: Request): OperationPolicy {
  const path = new URL(req.url).pathname.replace(/\/+$/, "");
  const rest = path.replace(new RegExp(`^/${COORDINATOR_FUNCTION_NAME}`), "");
  const method = req.method.toUpperCase();
  if (rest === "" && method === "POST") {
    return { name: "coordinate", safety: "write", shadow: "plan" };
  }
  if (rest === "/agents") {
    return method === "GET"
      ? { name: "agents.list", safety: "read_only", shadow: "live" }
      : { name: "agents.create", ...WRITE_NO_SHADOW };
  }
  if (/^\/agents\/[^/]+\/metrics$/.test(rest) && method === "GET") {
    return { name: "agents.metrics", safety: "read_only", shadow: "live" };
  }
  if (/^\/agents\/[^/]+$/.test(rest)) {
    if (method === "GET") return { name: "agents.get", safety: "read_only", shadow: "live" };
    if (method === "DELETE") return { name: "agents.delete", ...WRITE_NO_SHADOW };
    return { name: "agents.update", ...WRITE_NO_SHADOW };
  }
  // Unknown routes answer 404 on both paths; nothing to compare or protect.
  return { name: "other", safety: "read_only", shadow: "off" };
}

export const coordinatorMigratorPolicy: MigratorPolicy = {
  functionName: COORDINATOR_FUNCTION_NAME,
  classify: classifyCoordinatorRequest,
};
