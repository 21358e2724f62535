/**
 * The abstracted coordinator: CoordinationService over AgentRepository and TaskRepository on
 * IDatabaseService. The assignment itself is one call of the database function
 * coordinator_assign_task, which locks, ranks, writes and reports in a single transaction on
 * every provider; this service validates, delegates and turns outcomes into Results.
 */
import { type AppError, err, ok, type Result } from "../result.ts";
import type { IAgentRepository } from "./agent-repository.ts";
import type { CoordinatorOperations } from "./operations.ts";
import { outcomeToResult } from "./outcomes.ts";
import type { ITaskRepository } from "./task-repository.ts";
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

export class CoordinationService implements CoordinatorOperations {
  constructor(
    private readonly agents: IAgentRepository,
    private readonly tasks: ITaskRepository,
  ) {}

  async coordinateTask(
    taskId: string,
    options: CoordinateOptions,
  ): Promise<Result<CoordinationResult, AppError>> {
    const id = parseId(taskId, "task_id");
    if (!id.ok) return id;
    const invalid = checkCoordinateOptions(options);
    if (invalid) return err(invalid);
    // One rpc both selects and writes, so the commit gate is asked before it.
    const planOnly = options.planOnly === true || options.claimCommit?.() === false;
    const outcome = await this.tasks.assign(
      id.value,
      options.strategy,
      options.maxAgents ?? 1,
      planOnly,
      options.requestId,
    );
    return outcome.ok ? outcomeToResult(outcome.value, id.value, options.strategy) : outcome;
  }

  listAgents(filters: AgentFilters): Promise<Result<Agent[], AppError>> {
    return this.agents.findMany(filters);
  }

  async getAgent(id: string): Promise<Result<Agent, AppError>> {
    const valid = parseId(id, "id");
    return valid.ok ? await this.agents.findById(valid.value) : valid;
  }

  createAgent(input: AgentCreateInput): Promise<Result<Agent, AppError>> {
    return this.agents.create(input);
  }

  async updateAgent(id: string, input: AgentUpdateInput): Promise<Result<Agent, AppError>> {
    const valid = parseId(id, "id");
    return valid.ok ? await this.agents.update(valid.value, input) : valid;
  }

  async deleteAgent(id: string): Promise<Result<DeletedAgent, AppError>> {
    const valid = parseId(id, "id");
    if (!valid.ok) return valid;
    const deleted = await this.agents.delete(valid.value);
    return deleted.ok ? ok({ id: valid.value, deleted: true }) : deleted;
  }

  async getAgentMetrics(id: string): Promise<Result<AgentMetrics, AppError>> {
    const valid = parseId(id, "id");
    return valid.ok ? await this.agents.getAgentMetrics(valid.value) : valid;
  }
}
