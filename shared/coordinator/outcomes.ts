/**
 * The coordinator's database functions report expected outcomes as data (a row with `outcome`),
 * not as SQL errors: error-to-status mapping differs between PostgREST and the SQL drivers, and
 * an outcome row reads the same everywhere. This module turns outcomes into Results with one
 * set of messages, used by both implementations so their error bodies are identical.
 */
import { AppError, err, ok, type Result } from "../result.ts";
import type { Row } from "../db/database-service.ts";
import { toAssignedAgent } from "./rows.ts";
import type { CoordinationResult, Strategy } from "./types.ts";
import { validationError } from "./validation.ts";

export type AssignmentOutcome =
  | "assigned"
  | "planned"
  | "task_not_found"
  | "task_not_pending"
  | "no_capacity"
  | "stale_selection"
  | "invalid_strategy"
  | "invalid_max_agents"
  | "invalid_agents";

/** One row of coordinator_assign_task / coordinator_commit_assignment. */
export interface AssignmentRow {
  readonly outcome: AssignmentOutcome;
  readonly task_id: string;
  readonly strategy: string | null;
  readonly task_status: string | null;
  readonly agents: unknown;
}

export function agentNotFound(id: string): AppError {
  return new AppError("not_found", `agent ${id} not found`, { field: "id" });
}

/**
 * Database constraint failures that are the caller's doing, reported alike on every provider
 * (the providers surface the constraint name or SQLSTATE in the error's message or details).
 */
export function agentWriteError(error: AppError, id?: string): AppError {
  const details = (error.details ?? {}) as { sqlstate?: unknown; constraint?: unknown };
  if (
    details.constraint === "agents_load_within_capacity" ||
    error.message.includes("agents_load_within_capacity")
  ) {
    return new AppError(
      "conflict",
      "max_load cannot be lower than the agent's current_load",
      { field: "max_load", reason: "load_exceeds_capacity" },
    );
  }
  // agents references nothing, so on an agent write any foreign-key failure (23503, or 23001
  // for ON DELETE RESTRICT) means task_assignments still points at the agent.
  if (details.sqlstate === "23503" || details.sqlstate === "23001") {
    return new AppError(
      "conflict",
      `agent ${id ? `${id} ` : ""}has assignment history; set its status to inactive instead`,
      { reason: "agent_has_assignments" },
    );
  }
  return error;
}

export function taskNotFound(taskId: string): AppError {
  return new AppError("not_found", `task ${taskId} not found`, { field: "task_id" });
}

export function taskNotPending(taskId: string, status: string | null): AppError {
  return new AppError("conflict", `task ${taskId} is already ${status ?? "assigned"}`, {
    reason: "task_not_pending",
    task_status: status,
  });
}

export function noCapacity(taskId: string): AppError {
  return new AppError(
    "conflict",
    `no active agent with the required capabilities has spare capacity for task ${taskId}`,
    { reason: "no_capacity" },
  );
}

export function concurrentChange(taskId: string): AppError {
  return new AppError(
    "conflict",
    `the agents chosen for task ${taskId} changed concurrently; retry the request`,
    { reason: "concurrent_change" },
  );
}

export function coordinationResult(
  taskId: string,
  strategy: Strategy,
  agents: readonly unknown[],
): CoordinationResult {
  const assigned = agents.map(toAssignedAgent);
  return { task_id: taskId, strategy, assigned_agents: assigned, agents_used: assigned.length };
}

/** Reads the single outcome row a coordinator function returns (rpc gives an array of rows). */
export function assignmentRow(value: unknown): Result<AssignmentRow, AppError> {
  const row = (Array.isArray(value) ? value[0] : value) as Row | undefined;
  if (!row || typeof row.outcome !== "string") {
    return err(new AppError("database_error", "coordinator function returned no outcome"));
  }
  return ok(row as unknown as AssignmentRow);
}

export function outcomeToResult(
  row: AssignmentRow,
  taskId: string,
  strategy: Strategy,
): Result<CoordinationResult, AppError> {
  switch (row.outcome) {
    case "assigned":
    case "planned":
      return ok(
        coordinationResult(taskId, strategy, Array.isArray(row.agents) ? row.agents : []),
      );
    case "task_not_found":
      return err(taskNotFound(taskId));
    case "task_not_pending":
      return err(taskNotPending(taskId, row.task_status));
    case "no_capacity":
      return err(noCapacity(taskId));
    case "stale_selection":
      return err(concurrentChange(taskId));
    case "invalid_strategy":
      return err(validationError([{ field: "strategy", message: "unknown strategy" }]));
    case "invalid_max_agents":
      return err(validationError([{ field: "max_agents", message: "out of range" }]));
    case "invalid_agents":
      return err(validationError([{ field: "agent_ids", message: "invalid agent list" }]));
    default:
      return err(new AppError("database_error", `unexpected coordinator outcome ${row.outcome}`));
  }
}
