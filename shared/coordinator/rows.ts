/**
 * Database rows -> domain values. Providers differ in representation (PGlite and postgres.js give
 * Date objects; PostgREST gives ISO strings with microseconds and an offset; numeric may be text),
 * so both implementations pass every row through here and answer byte-identical JSON.
 */
import type { Row } from "../db/database-service.ts";
import type { RankableAgent } from "./strategies.ts";
import type {
  Agent,
  AgentMetrics,
  AgentStatus,
  AssignedAgent,
  Strategy,
  Task,
  TaskAssignment,
  TaskStatus,
} from "./types.ts";

/** ISO 8601 in UTC with millisecond precision, whatever the provider returned. */
export function toIsoTimestamp(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "string" || typeof value === "number") {
    const date = new Date(value);
    if (!Number.isNaN(date.getTime())) return date.toISOString();
  }
  throw new TypeError(`not a timestamp: ${String(value)}`);
}

function toIsoTimestampOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : toIsoTimestamp(value);
}

function toNumber(value: unknown): number {
  const number = typeof value === "number" ? value : Number(value);
  if (!Number.isFinite(number)) throw new TypeError(`not a number: ${String(value)}`);
  return number;
}

function toNumberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : toNumber(value);
}

function toStringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

export function toAgent(row: Row): Agent {
  return {
    id: String(row.id),
    name: String(row.name),
    type: String(row.type),
    status: row.status as AgentStatus,
    capabilities: toStringArray(row.capabilities),
    trust_score: toNumber(row.trust_score),
    current_load: toNumber(row.current_load),
    max_load: toNumber(row.max_load),
    last_assigned_seq: toNumberOrNull(row.last_assigned_seq),
    last_assigned_at: toIsoTimestampOrNull(row.last_assigned_at),
    created_at: toIsoTimestamp(row.created_at),
    updated_at: toIsoTimestamp(row.updated_at),
  };
}

export function toTask(row: Row): Task {
  return {
    id: String(row.id),
    name: String(row.name),
    type: String(row.type),
    status: row.status as TaskStatus,
    required_capabilities: toStringArray(row.required_capabilities),
    strategy: (row.strategy ?? null) as Strategy | null,
    assigned_at: toIsoTimestampOrNull(row.assigned_at),
    completed_at: toIsoTimestampOrNull(row.completed_at),
    duration_ms: toNumberOrNull(row.duration_ms),
    created_at: toIsoTimestamp(row.created_at),
    updated_at: toIsoTimestamp(row.updated_at),
  };
}

export function toTaskAssignment(row: Row): TaskAssignment {
  return {
    id: toNumber(row.id),
    task_id: String(row.task_id),
    agent_id: String(row.agent_id),
    status: row.status as TaskAssignment["status"],
    assigned_at: toIsoTimestamp(row.assigned_at),
    completed_at: toIsoTimestampOrNull(row.completed_at),
    success: row.success === null || row.success === undefined ? null : Boolean(row.success),
    duration_ms: toNumberOrNull(row.duration_ms),
  };
}

export function toAgentMetrics(row: Row): AgentMetrics {
  return {
    agent_id: String(row.agent_id),
    name: String(row.name),
    type: String(row.type),
    status: row.status as AgentStatus,
    task_count: toNumber(row.task_count),
    active_count: toNumber(row.active_count),
    completed_count: toNumber(row.completed_count),
    failed_count: toNumber(row.failed_count),
    success_rate: toNumberOrNull(row.success_rate),
    avg_duration_ms: toNumberOrNull(row.avg_duration_ms),
  };
}

/** One entry of tasks.assignment_snapshot (see coordinator_candidate_snapshot()). */
export function toSnapshotAgent(value: unknown): RankableAgent & { name: string } {
  const row = (value ?? {}) as Row;
  return {
    id: String(row.id),
    name: String(row.name),
    status: "active",
    capabilities: toStringArray(row.capabilities),
    trust_score: toNumber(row.trust_score),
    current_load: toNumber(row.current_load),
    max_load: toNumber(row.max_load),
    last_assigned_seq: toNumberOrNull(row.last_assigned_seq),
  };
}

export function toAssignedAgent(value: unknown): AssignedAgent {
  const row = (value ?? {}) as Row;
  return { id: String(row.id), name: String(row.name), trust_score: toNumber(row.trust_score) };
}

/** The columns the API exposes for agents, selected explicitly on every path. */
export const AGENT_COLUMNS = [
  "id",
  "name",
  "type",
  "status",
  "capabilities",
  "trust_score",
  "current_load",
  "max_load",
  "last_assigned_seq",
  "last_assigned_at",
  "created_at",
  "updated_at",
] as const;
