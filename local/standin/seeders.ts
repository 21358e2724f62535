/**
 * The demo data the dev server seeds on first start, in order. Each entry runs once per
 * database (see ./seed.ts). To seed more — e.g. agents and tasks for the coordinator, whose
 * tables come from migrations/ and therefore exist before seeding — add a Seeder here:
 *
 *   export const DEFAULT_SEEDERS = [legacyUsersSeeder, agentsAndTasksSeeder];
 */
import type { Seeder } from "./seed.ts";
import { coordinatorDemoSeeder } from "./seed-coordinator.ts";
import { legacyUsersSeeder } from "./seed-legacy-users.ts";
import { notesDemoSeeder } from "./seed-notes.ts";

export const DEFAULT_SEEDERS: readonly Seeder[] = [
  legacyUsersSeeder,
  coordinatorDemoSeeder,
  // After the users: notes for the demo user and a few others (public.notes, RLS demo).
  notesDemoSeeder,
];
