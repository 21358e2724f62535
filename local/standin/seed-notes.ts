/**
 * The demo table `public.notes` (demo-notes.sql) with a few rows for the demo user and for other
 * seeded users, so a newcomer can see RLS on auth.uid() work with curl (README, "Local stack").
 * Runs after the legacy users exist; idempotent per database like every seeder (./seed.ts).
 */
import type { SqlClient } from "../../shared/db/sql-client.ts";
import type { Seeder } from "./seed.ts";
import { DEMO_ACCOUNT } from "./seed-legacy-users.ts";

export const DEMO_NOTES_SQL = new URL("./demo-notes.sql", import.meta.url);

/** Rows per user: the demo user's are the ones its token reads back. */
export const DEMO_USER_NOTES = ["Buy milk", "Call the bank", "Ship the migration"] as const;
const OTHER_USERS = 5;

/** Creates the table (idempotent) and adds notes for `userIds` (each gets `bodies`). */
export async function createNotesTable(sql: SqlClient): Promise<void> {
  await sql.exec(await Deno.readTextFile(DEMO_NOTES_SQL));
}

export async function addNotes(
  sql: SqlClient,
  userId: string,
  bodies: readonly string[],
): Promise<void> {
  for (const body of bodies) {
    await sql.query("INSERT INTO public.notes (user_id, body) VALUES ($1::uuid, $2)", [
      userId,
      body,
    ]);
  }
}

export const notesDemoSeeder: Seeder = {
  name: "demo-notes",
  async seed(tx) {
    await createNotesTable(tx);
    const demo = await tx.query<{ id: string }>(
      "SELECT id::text AS id FROM auth.users WHERE email = $1",
      [DEMO_ACCOUNT.email],
    );
    const others = await tx.query<{ id: string; email: string }>(
      `SELECT id::text AS id, email FROM auth.users
        WHERE email IS NOT NULL AND email <> $1 ORDER BY email LIMIT ${OTHER_USERS}`,
      [DEMO_ACCOUNT.email],
    );
    let rows = 0;
    if (demo.rows[0]) {
      await addNotes(tx, demo.rows[0].id, DEMO_USER_NOTES);
      rows += DEMO_USER_NOTES.length;
    }
    for (const user of others.rows) {
      await addNotes(tx, user.id, [`A note of ${user.email}`, `Another note of ${user.email}`]);
      rows += 2;
    }
    return { rows, users: others.rows.length + (demo.rows[0] ? 1 : 0) };
  },
};
