/**
 * Demo-data seeding for the dev server. A seeder runs once per database: its rows and its
 * standin.seed_runs record commit in one transaction, so an interrupted first start leaves
 * nothing half-seeded and the next start simply seeds again; a completed seeder never repeats.
 *
 * To add demo data (e.g. agents and tasks for the coordinator), write a Seeder and add it to
 * DEFAULT_SEEDERS in ./seeders.ts — one line.
 */
import type { SqlClient } from "../../shared/db/sql-client.ts";

export interface SeedContext {
  /** How many legacy Supabase users to create (the dev server's --seed-users, default 1,000). */
  readonly userCount: number;
  /** Deterministic PRNG in [0, 1): the same options give the same dataset on every machine. */
  readonly random: () => number;
  readonly log: (line: string) => void;
}

export interface Seeder {
  /** Unique and stable: it is the key that records the seeder as done. */
  readonly name: string;
  /** Inserts the rows inside the given transaction; returns a JSON summary to record. */
  seed(tx: SqlClient, context: SeedContext): Promise<Record<string, unknown> | void>;
}

export interface SeedReport {
  readonly seeded: ReadonlyArray<{ name: string; summary: Record<string, unknown> }>;
  readonly skipped: readonly string[];
}

/** Mulberry32: a tiny, well-distributed 32-bit PRNG. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fixed so every developer (and every test) gets the same demo dataset. */
export const DEFAULT_SEED = 20_261_123;

/** Runs every seeder not yet recorded in standin.seed_runs (created by database.ts). */
export async function runSeeders(
  db: SqlClient,
  seeders: readonly Seeder[],
  options: { userCount: number; seed?: number; log?: (line: string) => void },
): Promise<SeedReport> {
  const names = new Set<string>();
  for (const seeder of seeders) {
    if (names.has(seeder.name)) throw new Error(`two seeders are named ${seeder.name}`);
    names.add(seeder.name);
  }
  const seeded: Array<{ name: string; summary: Record<string, unknown> }> = [];
  const skipped: string[] = [];
  for (const seeder of seeders) {
    const context: SeedContext = {
      userCount: options.userCount,
      // Each seeder gets its own stream so adding a seeder never changes another's data.
      random: seededRandom((options.seed ?? DEFAULT_SEED) ^ hashName(seeder.name)),
      log: options.log ?? (() => {}),
    };
    const summary = await db.transaction(async (tx) => {
      const claimed = await tx.query(
        "INSERT INTO standin.seed_runs (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
        [seeder.name],
      );
      if (claimed.rowCount === 0) return null;
      const result = (await seeder.seed(tx, context)) ?? {};
      await tx.query("UPDATE standin.seed_runs SET summary = $2::text::jsonb WHERE name = $1", [
        seeder.name,
        JSON.stringify(result),
      ]);
      return result;
    });
    if (summary === null) skipped.push(seeder.name);
    else seeded.push({ name: seeder.name, summary });
  }
  return { seeded, skipped };
}

function hashName(name: string): number {
  let hash = 2166136261;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 16777619);
  return hash >>> 0;
}
