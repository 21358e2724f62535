/**
 * The ORIGINAL coordinator, as TrustStream v4.1 wrote it: supabase-js directly
 * (`.from('agents').select('*').eq('status', 'active')` and friends), no repositories, no DI.
 * It stays the fallback while the abstracted CoordinationService rolls out, so it must answer
 * exactly like it.
 *
 * Design choice (documented for shadow comparison): this path SELECTS client-side — it reads the
 * task and the active capable agents over PostgREST and ranks them with strategies.ts — then
 * WRITES through the database function coordinator_commit_assignment, which locks the task and
 * the chosen agents and re-validates them (pending, active, capable, below max_load) before
 * writing, all or nothing. So the original can never over-assign either; when its read was stale
 * (a concurrent request took the capacity) it re-reads and re-ranks, a bounded number of times,
 * then answers 409. The abstracted path selects inside the database (coordinator_assign_task).
 * Both rank by the same rules, so for the same state they choose the same agents; in plan mode
 * (shadow comparison) this path ranks without writing, which makes the comparison a real check
 * of the TypeScript ranking against the SQL ranking.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { appErrorFromPg } from "../db/database-errors.ts";
import { AppError, err, ok, type Result } from "../result.ts";
import type { CoordinatorOperations } from "./operations.ts";
import {
  agentNotFound,
  agentWriteError,
  assignmentRow,
  coordinationResult,
  noCapacity,
  outcomeToResult,
  taskNotFound,
  taskNotPending,
} from "./outcomes.ts";
import { toAgent, toAgentMetrics, toSnapshotAgent, toTask } from "./rows.ts";
import { selectAgents } from "./strategies.ts";
import type {
  Agent,
  AgentCreateInput,
  AgentFilters,
  AgentMetrics,
  AgentUpdateInput,
  CoordinateOptions,
  CoordinationResult,
  DeletedAgent,
} from "./types.ts";
import { checkCoordinateOptions, parseId } from "./validation.ts";

/** PostgREST caps rows per response (Supabase's default max_rows is 1,000): read in pages. */
const PAGE_SIZE = 1000;

interface PostgrestErrorLike {
  readonly message: string;
  readonly code?: string;
  readonly details?: string | null;
  readonly hint?: string | null;
}

/** PostgREST / network errors -> the AppErrors the SQL providers return for the same failure. */
export function fromPostgrestError(error: PostgrestErrorLike, id?: string): AppError {
  const code = error.code ?? "";
  if (!/^[0-9A-Z]{5}$/.test(code)) {
    if (/fetch|network|connect/i.test(error.message)) {
      return new AppError("unavailable", "database API unreachable", { retryable: true });
    }
    return new AppError("database_error", "database API error", { code: code || null });
  }
  return agentWriteError(appErrorFromPg({ code, message: error.message }), id);
}

export interface OriginalCoordinatorOptions {
  /** Re-reads after a stale selection before answering 409 (default 3 attempts in all). */
  readonly maxAttempts?: number;
}

export class OriginalCoordinator implements CoordinatorOperations {
  readonly #maxAttempts: number;

  constructor(private readonly supabase: SupabaseClient, options: OriginalCoordinatorOptions = {}) {
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  }

  async coordinateTask(
    taskId: string,
    options: CoordinateOptions,
  ): Promise<Result<CoordinationResult, AppError>> {
    const id = parseId(taskId, "task_id");
    if (!id.ok) return id;
    const invalid = checkCoordinateOptions(options);
    if (invalid) return err(invalid);
    const maxAgents = options.maxAgents ?? 1;

    for (let attempt = 1;; attempt++) {
      const { data: taskRow, error: taskError } = await this.supabase
        .from("tasks")
        .select("*")
        .eq("id", id.value)
        .maybeSingle();
      if (taskError) return err(fromPostgrestError(taskError));
      if (!taskRow) return err(taskNotFound(id.value));
      const task = toTask(taskRow);
      const replay = options.planOnly === true && options.requestId !== undefined &&
        task.status !== "pending" && taskRow.assignment_request_id === options.requestId &&
        Array.isArray(taskRow.assignment_snapshot);
      if (task.status !== "pending" && !replay) return err(taskNotPending(id.value, task.status));

      // A shadow plan of the request that assigned the task ranks what that request ranked.
      const agents = replay
        ? ok((taskRow.assignment_snapshot as unknown[]).map(toSnapshotAgent))
        : await this.#activeAgentsWith(task.required_capabilities);
      if (!agents.ok) return agents;
      const chosen = selectAgents(
        agents.value,
        task.required_capabilities,
        options.strategy,
        maxAgents,
      );
      if (chosen.length === 0) return err(noCapacity(id.value));
      if (options.planOnly === true || options.claimCommit?.() === false) {
        return ok(coordinationResult(id.value, options.strategy, chosen));
      }

      const { data, error } = await this.supabase.rpc("coordinator_commit_assignment", {
        p_task_id: id.value,
        p_strategy: options.strategy,
        p_agent_ids: chosen.map((agent) => agent.id),
        p_request_id: options.requestId ?? null,
      });
      if (error) return err(fromPostgrestError(error));
      const row = assignmentRow(data);
      if (!row.ok) return row;
      if (row.value.outcome === "stale_selection" && attempt < this.#maxAttempts) continue;
      return outcomeToResult(row.value, id.value, options.strategy);
    }
  }

  /** Every active agent having all `required` capabilities (capacity is checked client-side). */
  async #activeAgentsWith(required: readonly string[]): Promise<Result<Agent[], AppError>> {
    const agents: Agent[] = [];
    for (let from = 0;; from += PAGE_SIZE) {
      const { data, error } = await this.supabase
        .from("agents")
        .select("*")
        .eq("status", "active")
        .contains("capabilities", [...required])
        .order("id", { ascending: true })
        .range(from, from + PAGE_SIZE - 1);
      if (error) return err(fromPostgrestError(error));
      agents.push(...(data ?? []).map(toAgent));
      if ((data ?? []).length < PAGE_SIZE) return ok(agents);
    }
  }

  async listAgents(filters: AgentFilters): Promise<Result<Agent[], AppError>> {
    const agents: Agent[] = [];
    const wanted = filters.limit ?? Number.POSITIVE_INFINITY;
    // Page, so PostgREST's max rows never truncates a list the SQL providers return whole.
    for (let from = filters.offset ?? 0; agents.length < wanted; from += PAGE_SIZE) {
      const size = Math.min(PAGE_SIZE, wanted - agents.length);
      let query = this.supabase.from("agents").select("*");
      if (filters.status) query = query.eq("status", filters.status);
      if (filters.capabilities && filters.capabilities.length > 0) {
        query = query.contains("capabilities", [...filters.capabilities]);
      }
      const { data, error } = await query
        .order("created_at", { ascending: true })
        .order("id", { ascending: true })
        .range(from, from + size - 1);
      if (error) return err(fromPostgrestError(error));
      agents.push(...(data ?? []).map(toAgent));
      if ((data ?? []).length < size) break;
    }
    return ok(agents);
  }

  async getAgent(id: string): Promise<Result<Agent, AppError>> {
    const valid = parseId(id, "id");
    if (!valid.ok) return valid;
    const { data, error } = await this.supabase
      .from("agents")
      .select("*")
      .eq("id", valid.value)
      .maybeSingle();
    if (error) return err(fromPostgrestError(error));
    return data ? ok(toAgent(data)) : err(agentNotFound(valid.value));
  }

  async createAgent(input: AgentCreateInput): Promise<Result<Agent, AppError>> {
    const { data, error } = await this.supabase
      .from("agents")
      .insert({ ...input, capabilities: [...input.capabilities] })
      .select()
      .single();
    if (error) return err(fromPostgrestError(error));
    return ok(toAgent(data));
  }

  async updateAgent(id: string, input: AgentUpdateInput): Promise<Result<Agent, AppError>> {
    const valid = parseId(id, "id");
    if (!valid.ok) return valid;
    const patch = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
    if (Object.keys(patch).length === 0) return this.getAgent(valid.value);
    const { data, error } = await this.supabase
      .from("agents")
      .update(patch)
      .eq("id", valid.value)
      .select()
      .maybeSingle();
    if (error) return err(fromPostgrestError(error, valid.value));
    return data ? ok(toAgent(data)) : err(agentNotFound(valid.value));
  }

  async deleteAgent(id: string): Promise<Result<DeletedAgent, AppError>> {
    const valid = parseId(id, "id");
    if (!valid.ok) return valid;
    const { data, error } = await this.supabase
      .from("agents")
      .delete()
      .eq("id", valid.value)
      .select("id");
    if (error) return err(fromPostgrestError(error, valid.value));
    return (data ?? []).length > 0
      ? ok({ id: valid.value, deleted: true })
      : err(agentNotFound(valid.value));
  }

  async getAgentMetrics(id: string): Promise<Result<AgentMetrics, AppError>> {
    const valid = parseId(id, "id");
    if (!valid.ok) return valid;
    // PostgREST does not aggregate by default, so v4.1 already used a database function here.
    const { data, error } = await this.supabase.rpc("coordinator_agent_metrics", {
      p_agent_id: valid.value,
    });
    if (error) return err(fromPostgrestError(error));
    const row = Array.isArray(data) ? data[0] : undefined;
    return row ? ok(toAgentMetrics(row)) : err(agentNotFound(valid.value));
  }
}
