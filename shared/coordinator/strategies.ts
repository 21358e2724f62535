/**
 * Candidate selection and ranking, in TypeScript. The database function coordinator_assign_task
 * (migrations/20261123000600_coordinator.sql) implements the same rules in SQL; the original
 * supabase-js path ranks with this module, and tests prove both choose the same agents for the
 * same state. Change one, change the other.
 *
 * Candidates: active, capabilities contain EVERY required capability, current_load < max_load.
 * Orderings (each ends with id, so the choice is a pure function of the state):
 *   round_robin:      last_assigned_seq ascending, never-assigned first; then id
 *   least_loaded:     current_load asc, max_load desc, trust_score desc, id
 *   highest_trust:    trust_score desc, current_load asc, id
 *   capability_match: capability count asc (most specialised), trust_score desc,
 *                     current_load asc, id
 */
import type { Agent, Strategy } from "./types.ts";

/** The agent fields ranking reads. */
export type RankableAgent = Pick<
  Agent,
  | "id"
  | "status"
  | "capabilities"
  | "trust_score"
  | "current_load"
  | "max_load"
  | "last_assigned_seq"
>;

export function isCandidate(agent: RankableAgent, required: readonly string[]): boolean {
  if (agent.status !== "active" || agent.current_load >= agent.max_load) return false;
  const has = new Set(agent.capabilities);
  return required.every((capability) => has.has(capability));
}

type Comparator = (a: RankableAgent, b: RankableAgent) => number;

const ascending = (a: number, b: number) => a - b;
const descending = (a: number, b: number) => b - a;

/** NULL sorts first, as `ASC NULLS FIRST` does. */
function nullsFirstAscending(a: number | null, b: number | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a - b;
}

/**
 * PostgreSQL orders uuid by its 16 bytes, which is the order of the canonical lower-case hex
 * text; a code-unit comparison of that text reproduces it.
 */
export function compareUuid(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

const byId: Comparator = (a, b) => compareUuid(a.id, b.id);

function chain(...comparators: Comparator[]): Comparator {
  return (a, b) => {
    for (const compare of comparators) {
      const order = compare(a, b);
      if (order !== 0) return order;
    }
    return 0;
  };
}

const ORDERINGS: Record<Strategy, Comparator> = {
  round_robin: chain((a, b) => nullsFirstAscending(a.last_assigned_seq, b.last_assigned_seq), byId),
  least_loaded: chain(
    (a, b) => ascending(a.current_load, b.current_load),
    (a, b) => descending(a.max_load, b.max_load),
    (a, b) => descending(a.trust_score, b.trust_score),
    byId,
  ),
  highest_trust: chain(
    (a, b) => descending(a.trust_score, b.trust_score),
    (a, b) => ascending(a.current_load, b.current_load),
    byId,
  ),
  capability_match: chain(
    (a, b) => ascending(a.capabilities.length, b.capabilities.length),
    (a, b) => descending(a.trust_score, b.trust_score),
    (a, b) => ascending(a.current_load, b.current_load),
    byId,
  ),
};

/** Eligible agents in rank order (best first). */
export function rankCandidates<T extends RankableAgent>(
  agents: readonly T[],
  required: readonly string[],
  strategy: Strategy,
): T[] {
  return agents.filter((agent) => isCandidate(agent, required)).sort(ORDERINGS[strategy]);
}

/** The agents a coordination would choose: the first `maxAgents` in rank order. */
export function selectAgents<T extends RankableAgent>(
  agents: readonly T[],
  required: readonly string[],
  strategy: Strategy,
  maxAgents: number,
): T[] {
  return rankCandidates(agents, required, strategy).slice(0, maxAgents);
}
