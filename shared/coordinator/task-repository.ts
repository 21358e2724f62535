/**
 * Tasks and assignments on IDatabaseService. Reads and creates go through the generic API; the
 * writes that must be atomic across rows (assign, commit, complete) are database functions
 * called through rpc, so they are one transaction on every provider, PostgREST included.
 */
import type { IDatabaseService, Row } from "../db/database-service.ts";
import { AppError, err, ok, type Result } from "../result.ts";
import { type AssignmentRow, assignmentRow } from "./outcomes.ts";
import { toTask, toTaskAssignment } from "./rows.ts";
import type { Strategy, Task, TaskAssignment, TaskCreateInput, TaskStatus } from "./types.ts";

export interface CompletionRow {
  readonly outcome: "recorded" | "assignment_not_found" | "already_finished" | "invalid_duration";
  readonly task_id: string;
  readonly agent_id: string;
  readonly task_status: TaskStatus | null;
}

export interface ITaskRepository {
  create(data: TaskCreateInput): Promise<Result<Task, AppError>>;
  /** `not_found` when absent. */
  findById(id: string): Promise<Result<Task, AppError>>;
  findMany(filters?: { status?: TaskStatus; limit?: number }): Promise<Result<Task[], AppError>>;
  /** Selects and assigns (or with planOnly, only selects) in one database transaction. */
  assign(
    taskId: string,
    strategy: Strategy,
    maxAgents: number,
    planOnly: boolean,
    requestId?: string,
  ): Promise<Result<AssignmentRow, AppError>>;
  /** Writes a selection made elsewhere, re-validating it under lock (all or nothing). */
  commitAssignment(
    taskId: string,
    strategy: Strategy,
    agentIds: readonly string[],
    requestId?: string,
  ): Promise<Result<AssignmentRow, AppError>>;
  /** Finishes one agent's assignment and frees its capacity. */
  completeAssignment(
    taskId: string,
    agentId: string,
    success: boolean,
    durationMs?: number,
  ): Promise<Result<CompletionRow, AppError>>;
  listAssignments(taskId: string): Promise<Result<TaskAssignment[], AppError>>;
}

export class TaskRepository implements ITaskRepository {
  constructor(private readonly db: IDatabaseService) {}

  async create(data: TaskCreateInput): Promise<Result<Task, AppError>> {
    const created = await this.db.create("tasks", {
      name: data.name,
      type: data.type,
      required_capabilities: [...(data.required_capabilities ?? [])],
    });
    return created.ok ? ok(toTask(created.value)) : created;
  }

  async findById(id: string): Promise<Result<Task, AppError>> {
    const found = await this.db.read("tasks", { where: { id }, limit: 1 });
    if (!found.ok) return found;
    const row = found.value[0];
    return row
      ? ok(toTask(row))
      : err(new AppError("not_found", `task ${id} not found`, { field: "task_id" }));
  }

  async findMany(
    filters: { status?: TaskStatus; limit?: number } = {},
  ): Promise<Result<Task[], AppError>> {
    const found = await this.db.read("tasks", {
      where: filters.status ? { status: filters.status } : {},
      orderBy: { created_at: "asc", id: "asc" },
      limit: filters.limit,
    });
    return found.ok ? ok(found.value.map(toTask)) : found;
  }

  async assign(
    taskId: string,
    strategy: Strategy,
    maxAgents: number,
    planOnly: boolean,
    requestId?: string,
  ): Promise<Result<AssignmentRow, AppError>> {
    const result = await this.db.rpc("coordinator_assign_task", {
      p_task_id: taskId,
      p_strategy: strategy,
      p_max_agents: maxAgents,
      p_plan_only: planOnly,
      p_request_id: requestId ?? null,
    });
    return result.ok ? assignmentRow(result.value) : result;
  }

  async commitAssignment(
    taskId: string,
    strategy: Strategy,
    agentIds: readonly string[],
    requestId?: string,
  ): Promise<Result<AssignmentRow, AppError>> {
    const result = await this.db.rpc("coordinator_commit_assignment", {
      p_task_id: taskId,
      p_strategy: strategy,
      p_agent_ids: [...agentIds],
      p_request_id: requestId ?? null,
    });
    return result.ok ? assignmentRow(result.value) : result;
  }

  async completeAssignment(
    taskId: string,
    agentId: string,
    success: boolean,
    durationMs?: number,
  ): Promise<Result<CompletionRow, AppError>> {
    const result = await this.db.rpc<Row[]>("coordinator_complete_assignment", {
      p_task_id: taskId,
      p_agent_id: agentId,
      p_success: success,
      p_duration_ms: durationMs ?? null,
    });
    if (!result.ok) return result;
    const row = (Array.isArray(result.value) ? result.value[0] : result.value) as Row | undefined;
    if (!row || typeof row.outcome !== "string") {
      return err(new AppError("database_error", "coordinator_complete_assignment returned no row"));
    }
    const completion = row as unknown as CompletionRow;
    switch (completion.outcome) {
      case "recorded":
        return ok(completion);
      case "assignment_not_found":
        return err(
          new AppError("not_found", `agent ${agentId} holds no assignment of task ${taskId}`),
        );
      case "already_finished":
        return err(
          new AppError("conflict", `agent ${agentId}'s assignment of task ${taskId} is finished`),
        );
      default:
        return err(
          new AppError("validation_failed", "duration_ms must be >= 0 and success a boolean", {
            field: "duration_ms",
          }),
        );
    }
  }

  async listAssignments(taskId: string): Promise<Result<TaskAssignment[], AppError>> {
    const found = await this.db.read("task_assignments", {
      where: { task_id: taskId },
      orderBy: { id: "asc" },
    });
    return found.ok ? ok(found.value.map(toTaskAssignment)) : found;
  }
}
