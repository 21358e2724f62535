/**
 * The coordinator's domain (TrustStream agent task coordination): agents, tasks, assignments and
 * the API shapes both implementations (original supabase-js, abstracted repositories) return.
 * Field names are the database's snake_case columns, which are also the API's.
 */
export const STRATEGIES = [
  "round_robin",
  "least_loaded",
  "highest_trust",
  "capability_match",
] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const AGENT_STATUSES = ["active", "inactive"] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

export const TASK_STATUSES = ["pending", "assigned", "completed", "failed"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Upper bound on agents per task, enforced by the API and by the database functions alike. */
export const MAX_AGENTS_PER_TASK = 50;

export interface Agent {
  readonly id: string;
  readonly name: string;
  readonly type: string;
  readonly status: AgentStatus;
  /** Distinct, trimmed and sorted by the database (C collation). */
  readonly capabilities: string[];
  readonly trust_score: number;
  readonly current_load: number;
  readonly max_load: number;
  /** Round-robin cursor: position of the latest assignment in one global sequence. */
  readonly last_assigned_seq: number | null;
  readonly last_assigned_at: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

export interface Task {
  readonly id: string;
  readonly name: string;
  readonly type: string;
  readonly status: TaskStatus;
  readonly required_capabilities: string[];
  readonly strategy: Strategy | null;
  readonly assigned_at: string | null;
  readonly completed_at: string | null;
  readonly duration_ms: number | null;
  readonly created_at: string;
  readonly updated_at: string;
}

export interface TaskAssignment {
  readonly id: number;
  readonly task_id: string;
  readonly agent_id: string;
  readonly status: "assigned" | "completed" | "failed";
  readonly assigned_at: string;
  readonly completed_at: string | null;
  readonly success: boolean | null;
  readonly duration_ms: number | null;
}

/** TrustStream's getAgentMetrics, on task_assignments (see coordinator_agent_metrics()). */
export interface AgentMetrics {
  readonly agent_id: string;
  readonly name: string;
  readonly type: string;
  readonly status: AgentStatus;
  /** Every assignment the agent ever received. */
  readonly task_count: number;
  readonly active_count: number;
  readonly completed_count: number;
  readonly failed_count: number;
  /** Successes / finished assignments, 4 decimals; null until one finishes. */
  readonly success_rate: number | null;
  /** Mean duration of finished assignments in whole ms; null until one finishes. */
  readonly avg_duration_ms: number | null;
}

export interface AssignedAgent {
  readonly id: string;
  readonly name: string;
  readonly trust_score: number;
}

/** The `data` of a successful `POST /coordinator`. */
export interface CoordinationResult {
  readonly task_id: string;
  readonly strategy: Strategy;
  /** In rank order. */
  readonly assigned_agents: AssignedAgent[];
  readonly agents_used: number;
}

export interface CoordinateOptions {
  readonly strategy: Strategy;
  /** 1..MAX_AGENTS_PER_TASK; default 1. Fewer are assigned when fewer are eligible. */
  readonly maxAgents?: number;
  /** Compute the assignment without writing it (shadow comparison). */
  readonly planOnly?: boolean;
  /**
   * The EdgeFunctionMigrator's commit gate (HandlerContext.claimCommit), asked right before the
   * write. false (a plan run, or the migrator gave up on this attempt): nothing is written and
   * the plan is returned instead.
   */
  readonly claimCommit?: () => boolean;
  /**
   * The migrator's request id. A live assignment records it with the candidates it ranked; a
   * plan carrying the same id for a task that request already assigned replays that choice
   * (the migrator runs shadow plans after the primary has answered).
   */
  readonly requestId?: string;
}

export interface AgentFilters {
  readonly status?: AgentStatus;
  /** Agents having every listed capability. */
  readonly capabilities?: readonly string[];
  readonly limit?: number;
  readonly offset?: number;
}

export interface AgentCreateInput {
  readonly name: string;
  readonly type: string;
  readonly capabilities: readonly string[];
  readonly status?: AgentStatus;
  readonly trust_score?: number;
  readonly max_load?: number;
}

export type AgentUpdateInput = Partial<AgentCreateInput>;

export interface TaskCreateInput {
  readonly name: string;
  readonly type: string;
  readonly required_capabilities?: readonly string[];
}

export interface DeletedAgent {
  readonly id: string;
  readonly deleted: true;
}
