/** Rows for coordinator tests, written with plain SQL so every provider sees the same state. */
import type { SqlClient } from "../../../shared/db/sql-client.ts";

export interface AgentRow {
  id: string;
  name?: string;
  type?: string;
  status?: "active" | "inactive";
  capabilities?: string[];
  trust_score?: number;
  current_load?: number;
  max_load?: number;
  last_assigned_seq?: number | null;
}

/** A readable fixed id: uuid(1) = 00000000-0000-4000-8000-000000000001. */
export function uuid(n: number, prefix = "8000"): string {
  return `00000000-0000-4000-${prefix}-${n.toString(16).padStart(12, "0")}`;
}

export async function insertAgents(sql: SqlClient, agents: readonly AgentRow[]): Promise<void> {
  for (const agent of agents) {
    await sql.query(
      `INSERT INTO agents (id, name, type, status, capabilities, trust_score, current_load,
                           max_load, last_assigned_seq)
       VALUES ($1, $2, $3, $4, $5::text[], $6, $7, $8, $9)`,
      [
        agent.id,
        agent.name ?? `agent ${agent.id.slice(-4)}`,
        agent.type ?? "worker",
        agent.status ?? "active",
        agent.capabilities ?? [],
        agent.trust_score ?? 3,
        agent.current_load ?? 0,
        agent.max_load ?? 1,
        agent.last_assigned_seq ?? null,
      ],
    );
  }
}

export async function insertTask(
  sql: SqlClient,
  id: string,
  requiredCapabilities: readonly string[] = [],
  name = `task ${id.slice(-4)}`,
): Promise<void> {
  await sql.query(
    "INSERT INTO tasks (id, name, type, required_capabilities) VALUES ($1, $2, 'job', $3::text[])",
    [id, name, requiredCapabilities],
  );
}

/** Empties the coordinator tables (one database per test file; cheaper than a new one). */
export async function resetCoordinator(sql: SqlClient): Promise<void> {
  await sql.exec("DELETE FROM task_assignments; DELETE FROM tasks; DELETE FROM agents;");
}
