/**
 * Demo agents and tasks for the dev server (and for benchmarks). Fixed ids, so READMEs, curl
 * examples and end-to-end tests can name them; idempotent (ON CONFLICT DO NOTHING), so running
 * it twice changes nothing.
 */
import type { SqlClient } from "../../shared/db/sql-client.ts";
import type { Seeder } from "./seed.ts";

/** Deterministic demo ids: agents ...-a000-<n>, tasks ...-b000-<n>. */
export function demoAgentId(index: number): string {
  return `00000000-0000-4000-a000-${index.toString(16).padStart(12, "0")}`;
}

export function demoTaskId(index: number): string {
  return `00000000-0000-4000-b000-${index.toString(16).padStart(12, "0")}`;
}

interface DemoAgent {
  readonly name: string;
  readonly type: string;
  readonly capabilities: readonly string[];
  readonly trust_score: number;
  readonly max_load: number;
  readonly status?: "active" | "inactive";
}

export const DEMO_AGENTS: readonly DemoAgent[] = [
  { name: "Atlas", type: "llm", capabilities: ["nlp", "summarize"], trust_score: 4.8, max_load: 3 },
  {
    name: "Beacon",
    type: "llm",
    capabilities: ["nlp", "translate"],
    trust_score: 4.2,
    max_load: 5,
  },
  {
    name: "Cipher",
    type: "llm",
    capabilities: ["nlp", "summarize", "translate"],
    trust_score: 3.9,
    max_load: 4,
  },
  { name: "Delta", type: "vision", capabilities: ["vision", "ocr"], trust_score: 4.5, max_load: 2 },
  { name: "Echo", type: "vision", capabilities: ["vision"], trust_score: 3.1, max_load: 6 },
  { name: "Forge", type: "code", capabilities: ["code", "review"], trust_score: 4.9, max_load: 2 },
  { name: "Gauge", type: "code", capabilities: ["code", "test"], trust_score: 3.6, max_load: 4 },
  {
    name: "Helix",
    type: "code",
    capabilities: ["code", "review", "test"],
    trust_score: 4.1,
    max_load: 3,
  },
  { name: "Iris", type: "data", capabilities: ["sql", "analytics"], trust_score: 4.4, max_load: 3 },
  {
    name: "Juno",
    type: "data",
    capabilities: ["sql", "analytics", "nlp"],
    trust_score: 2.7,
    max_load: 8,
  },
  {
    name: "Kestrel",
    type: "llm",
    capabilities: ["nlp", "summarize"],
    trust_score: 4.8,
    max_load: 3,
    status: "inactive",
  },
  {
    name: "Lumen",
    type: "generalist",
    capabilities: ["analytics", "code", "nlp", "summarize", "translate", "vision"],
    trust_score: 3.3,
    max_load: 10,
  },
];

interface DemoTask {
  readonly name: string;
  readonly type: string;
  readonly required_capabilities: readonly string[];
}

const TASK_TEMPLATES: readonly DemoTask[] = [
  { name: "Summarise support tickets", type: "summarize", required_capabilities: ["summarize"] },
  { name: "Translate release notes", type: "translate", required_capabilities: ["translate"] },
  { name: "Read scanned invoices", type: "ocr", required_capabilities: ["vision", "ocr"] },
  { name: "Review pull request", type: "review", required_capabilities: ["code", "review"] },
  { name: "Write regression tests", type: "test", required_capabilities: ["code", "test"] },
  { name: "Weekly revenue report", type: "analytics", required_capabilities: ["sql"] },
  { name: "Classify images", type: "vision", required_capabilities: ["vision"] },
  { name: "Triage inbox", type: "nlp", required_capabilities: ["nlp"] },
];

export interface CoordinatorDemoSummary {
  readonly agents: number;
  readonly tasks: number;
}

/**
 * Inserts the demo agents and `taskCount` pending tasks (default 40) that do not exist yet.
 * Returns how many rows were inserted.
 */
export async function seedCoordinatorDemo(
  sql: SqlClient,
  options: { taskCount?: number } = {},
): Promise<CoordinatorDemoSummary> {
  const taskCount = options.taskCount ?? 40;
  return await sql.transaction(async (tx) => {
    let agents = 0;
    for (const [index, agent] of DEMO_AGENTS.entries()) {
      const inserted = await tx.query(
        `INSERT INTO agents (id, name, type, status, capabilities, trust_score, max_load)
         VALUES ($1, $2, $3, $4, $5::text[], $6, $7)
         ON CONFLICT (id) DO NOTHING`,
        [
          demoAgentId(index + 1),
          agent.name,
          agent.type,
          agent.status ?? "active",
          agent.capabilities,
          agent.trust_score,
          agent.max_load,
        ],
      );
      agents += inserted.rowCount;
    }
    let tasks = 0;
    for (let index = 1; index <= taskCount; index++) {
      const template = TASK_TEMPLATES[(index - 1) % TASK_TEMPLATES.length]!;
      const inserted = await tx.query(
        `INSERT INTO tasks (id, name, type, required_capabilities)
         VALUES ($1, $2, $3, $4::text[])
         ON CONFLICT (id) DO NOTHING`,
        [
          demoTaskId(index),
          `${template.name} #${index}`,
          template.type,
          template.required_capabilities,
        ],
      );
      tasks += inserted.rowCount;
    }
    return { agents, tasks };
  });
}

/** For the dev server's DEFAULT_SEEDERS (shared/standin/seeders.ts). */
export const coordinatorDemoSeeder: Seeder = {
  name: "coordinator-demo",
  async seed(tx) {
    return { ...(await seedCoordinatorDemo(tx)) };
  },
};
