/**
 * GoTrue's answer to a signup for an address that is already registered and confirmed, when
 * "Confirm email" is on (the hosted default): 200 with a look-alike user that was never stored —
 * a fresh random id, no identities, no session (supabase/auth internal/api/signup.go: on
 * UserExistsError without autoconfirm it answers sanitizeUser(user, params), which sets
 * `u.ID = uuid.Must(uuid.NewV4())` and `u.Identities = make([]models.Identity, 0)`).
 *
 * A genuine new signup awaiting confirmation also has no session, but always one identity
 * (signup.go createNewIdentity), and its id is in auth.users. So: no session and an empty
 * identities list marks the answer as a candidate here, and `isObfuscatedSignup` confirms it by
 * looking the id up. The client gets GoTrue's answer unchanged; our bookkeeping
 * (user_migration_status, Better Auth, divergences) must not record a user that does not exist.
 */
import type { Session, User } from "@supabase/supabase-js";
import type { AuthResult } from "./types.ts";

const candidates = new WeakSet<object>();

/** Marks `result` when supabase-js's signUp answer has the shape of sanitizeUser's. */
export function markIfObfuscated<T extends object>(
  result: T,
  user: Pick<User, "identities">,
  session: Session | null,
): T {
  if (session === null && Array.isArray(user.identities) && user.identities.length === 0) {
    candidates.add(result);
  }
  return result;
}

/** True when `result` was marked and its user id does not exist in Supabase Auth. */
export async function isObfuscatedSignup(
  result: { readonly user: { readonly id: string } },
  directory: { findUserById(id: string): Promise<unknown | null> },
): Promise<boolean> {
  if (!candidates.has(result)) return false;
  return (await directory.findUserById(result.user.id)) === null;
}

/**
 * sanitizeUser's answer made here, for an address GoTrue cannot answer for (held by Better Auth
 * only): the client's email and metadata, a fresh id nobody holds, no session — the same shape
 * as a new signup awaiting confirmation. Marked, so isObfuscatedSignup recognises it.
 */
export function lookAlikeSignUp(
  email: string,
  metadata: Record<string, unknown> | undefined,
): AuthResult {
  const result: AuthResult = {
    user: {
      id: crypto.randomUUID(),
      email,
      user_metadata: metadata ?? {},
      created_at: new Date().toISOString(),
    },
    session: null,
  };
  candidates.add(result);
  return result;
}
