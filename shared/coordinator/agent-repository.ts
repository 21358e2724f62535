/**
 * Agents on IDatabaseService (TrustStream's AgentRepository): runs unchanged on the pglite,
 * postgres and supabase providers. Result-typed; expected failures are AppErrors, never throws.
 */
import type { IDatabaseService, Row, Where } from "../db/database-service.ts";
import { type AppError, err, ok, type Result } from "../result.ts";
import { agentNotFound, agentWriteError } from "./outcomes.ts";
import { AGENT_COLUMNS, toAgent, toAgentMetrics } from "./rows.ts";
import type {
  Agent,
  AgentCreateInput,
  AgentFilters,
  AgentMetrics,
  AgentUpdateInput,
} from "./types.ts";

export interface IAgentRepository {
  create(data: AgentCreateInput): Promise<Result<Agent, AppError>>;
  /** `not_found` when absent. */
  findById(id: string): Promise<Result<Agent, AppError>>;
  /** Ordered by created_at, then id. */
  findMany(filters?: AgentFilters): Promise<Result<Agent[], AppError>>;
  update(id: string, data: AgentUpdateInput): Promise<Result<Agent, AppError>>;
  /** `not_found` when absent; `conflict` when the agent has assignment history. */
  delete(id: string): Promise<Result<true, AppError>>;
  findByCapability(capability: string): Promise<Result<Agent[], AppError>>;
  findActiveAgents(): Promise<Result<Agent[], AppError>>;
  /** `not_found` for an unknown agent. */
  getAgentMetrics(id: string): Promise<Result<AgentMetrics, AppError>>;
}

const LIST_ORDER = { created_at: "asc", id: "asc" } as const;

function mapRows<T>(result: Result<Row[], AppError>, map: (row: Row) => T): Result<T[], AppError> {
  return result.ok ? ok(result.value.map(map)) : result;
}

export class AgentRepository implements IAgentRepository {
  constructor(private readonly db: IDatabaseService) {}

  async create(data: AgentCreateInput): Promise<Result<Agent, AppError>> {
    const row: Row = { name: data.name, type: data.type, capabilities: [...data.capabilities] };
    if (data.status !== undefined) row.status = data.status;
    if (data.trust_score !== undefined) row.trust_score = data.trust_score;
    if (data.max_load !== undefined) row.max_load = data.max_load;
    const created = await this.db.create("agents", row);
    return created.ok ? ok(toAgent(created.value)) : err(agentWriteError(created.error));
  }

  async findById(id: string): Promise<Result<Agent, AppError>> {
    const found = await this.db.read("agents", {
      select: AGENT_COLUMNS,
      where: { id },
      limit: 1,
    });
    if (!found.ok) return found;
    const row = found.value[0];
    return row ? ok(toAgent(row)) : err(agentNotFound(id));
  }

  async findMany(filters: AgentFilters = {}): Promise<Result<Agent[], AppError>> {
    const where: Record<string, Where[string]> = {};
    if (filters.status) where.status = filters.status;
    if (filters.capabilities && filters.capabilities.length > 0) {
      where.capabilities = { contains: [...filters.capabilities] };
    }
    return mapRows(
      await this.db.read("agents", {
        select: AGENT_COLUMNS,
        where,
        orderBy: LIST_ORDER,
        limit: filters.limit,
        offset: filters.offset,
      }),
      toAgent,
    );
  }

  async update(id: string, data: AgentUpdateInput): Promise<Result<Agent, AppError>> {
    const patch: Row = {};
    for (const [key, value] of Object.entries(data)) {
      if (value !== undefined) patch[key] = Array.isArray(value) ? [...value] : value;
    }
    if (Object.keys(patch).length === 0) return this.findById(id);
    const updated = await this.db.update("agents", id, patch);
    if (updated.ok) return ok(toAgent(updated.value));
    return err(
      updated.error.code === "not_found" ? agentNotFound(id) : agentWriteError(updated.error, id),
    );
  }

  async delete(id: string): Promise<Result<true, AppError>> {
    const deleted = await this.db.delete("agents", id);
    if (!deleted.ok) return err(agentWriteError(deleted.error, id));
    return deleted.value ? ok(true) : err(agentNotFound(id));
  }

  findByCapability(capability: string): Promise<Result<Agent[], AppError>> {
    return this.findMany({ status: "active", capabilities: [capability] });
  }

  findActiveAgents(): Promise<Result<Agent[], AppError>> {
    return this.findMany({ status: "active" });
  }

  async getAgentMetrics(id: string): Promise<Result<AgentMetrics, AppError>> {
    const result = await this.db.rpc<Row[]>("coordinator_agent_metrics", { p_agent_id: id });
    if (!result.ok) return result;
    const row = Array.isArray(result.value) ? result.value[0] : undefined;
    return row ? ok(toAgentMetrics(row)) : err(agentNotFound(id));
  }
}
