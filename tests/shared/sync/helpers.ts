/**
 * A sync stack on one real database (PGlite or PostgreSQL 15): Supabase's auth schema with the
 * capture triggers installed (the stand-in creates auth.users after the migrations in tests, as
 * a fresh project would before them), the Auth stand-in over HTTP, supabase-js clients (service
 * role and anon, as an operator and an app hold them), Better Auth, and IdentitySync.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { IdentitySync, type IdentitySyncSettings } from "../../../shared/sync/service.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { openStack, type Provider, type Stack } from "../auth/harness.ts";

export interface SyncStack extends Omit<Stack, "sync"> {
  readonly admin: SupabaseClient;
  readonly anon: SupabaseClient;
  readonly identitySync: IdentitySync;
  syncWith(settings?: Partial<IdentitySyncSettings>): IdentitySync;
}

const clientOptions = {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
};

export async function openSyncStack(provider: Provider): Promise<SyncStack> {
  const stack = await openStack(provider);
  await stack.db.query(`SELECT public.identity_sync_install_auth_triggers()`);
  const admin = createClient(stack.standin.url, stack.keys.serviceRoleKey, clientOptions);
  const anon = createClient(stack.standin.url, stack.keys.anonKey, clientOptions);
  const syncWith = (settings: Partial<IdentitySyncSettings> = {}) =>
    new IdentitySync({
      db: stack.db,
      supabaseAdmin: admin,
      // Tests skip a missing user's rows on the second run (no batch copy is in flight).
      toBetterAuth: { absentHorizonMs: 0 },
      ...settings,
    });
  return { ...stack, admin, anon, identitySync: syncWith(), syncWith };
}

export interface OutboxView {
  id: number;
  direction: string;
  entity: string;
  op: string;
  applied: boolean;
  outcome: string | null;
  attempts: number;
  last_error: string | null;
}

export async function outboxOf(db: SqlClient, userId: string): Promise<OutboxView[]> {
  const { rows } = await db.query<OutboxView>(
    `SELECT id::int AS id, direction, entity, op, applied_at IS NOT NULL AS applied, outcome,
            attempts, last_error
       FROM identity_change_outbox WHERE user_id = $1::uuid ORDER BY id`,
    [userId],
  );
  return rows;
}

/** Creates a confirmed Supabase user through GoTrue's admin API; returns its id. */
export async function createSupabaseUser(
  admin: SupabaseClient,
  email: string,
  password: string,
): Promise<string> {
  const { data, error } = await admin.auth.admin.createUser({
    email,
    password,
    email_confirm: true,
    user_metadata: { full_name: "Ada" },
  });
  if (error) throw error;
  return data.user.id;
}

/** Copies a Supabase user into Better Auth the way lazy migration does (same id and hash). */
export async function copyToBetterAuth(
  stack: Pick<Stack, "supabase" | "betterAuth">,
  id: string,
): Promise<void> {
  const user = await stack.supabase.findUserById(id);
  if (!user) throw new Error(`no Supabase user ${id}`);
  const result = await stack.betterAuth.importUser(user);
  if (result === "conflict") throw new Error("copy conflict");
}

export async function betterAuthRow(db: SqlClient, id: string) {
  const { rows } = await db.query<{
    email: string;
    emailVerified: boolean;
    phoneNumber: string | null;
    phoneNumberVerified: boolean | null;
    banned: boolean | null;
    banExpires: Date | null;
    userMetadata: Record<string, unknown>;
    appMetadata: Record<string, unknown>;
    password: string | null;
    sessions: number;
  }>(
    `SELECT u.email, u."emailVerified", u."phoneNumber", u."phoneNumberVerified", u.banned,
            u."banExpires", u."userMetadata", u."appMetadata", a.password,
            (SELECT count(*)::int FROM "session" s WHERE s."userId" = u.id) AS sessions
       FROM "user" u
       LEFT JOIN account a ON a."userId" = u.id AND a."providerId" = 'credential'
      WHERE u.id = $1::uuid`,
    [id],
  );
  return rows[0] ?? null;
}

export async function supabaseHash(db: SqlClient, id: string): Promise<string | null> {
  const { rows } = await db.query<{ encrypted_password: string | null }>(
    `SELECT encrypted_password FROM auth.users WHERE id = $1::uuid`,
    [id],
  );
  return rows[0]?.encrypted_password ?? null;
}
