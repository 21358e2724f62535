/**
 * What the coordinator API needs from an implementation. Two implement it: CoordinationService
 * (abstracted: repositories on IDatabaseService, resolved through DI) and OriginalCoordinator
 * (supabase-js directly, as TrustStream v4.1 did). The HTTP routes are written once against this
 * interface, so both answer with identical status codes and bodies.
 */
import type { AppError, Result } from "../result.ts";
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

export interface CoordinatorOperations {
  /**
   * Assigns up to `maxAgents` eligible agents to a pending task. `not_found` for an unknown task;
   * `conflict` when the task is not pending or no agent has capacity. With `planOnly`, returns
   * the same answer without writing anything.
   */
  coordinateTask(
    taskId: string,
    options: CoordinateOptions,
  ): Promise<Result<CoordinationResult, AppError>>;
  listAgents(filters: AgentFilters): Promise<Result<Agent[], AppError>>;
  getAgent(id: string): Promise<Result<Agent, AppError>>;
  createAgent(input: AgentCreateInput): Promise<Result<Agent, AppError>>;
  updateAgent(id: string, input: AgentUpdateInput): Promise<Result<Agent, AppError>>;
  deleteAgent(id: string): Promise<Result<DeletedAgent, AppError>>;
  getAgentMetrics(id: string): Promise<Result<AgentMetrics, AppError>>;
}
