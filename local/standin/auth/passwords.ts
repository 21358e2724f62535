/**
 * Password hashing and policy exactly as GoTrue stores and checks them, so the batch migration
 * and the login function meet the same `$2a$10$` hashes here as on Supabase.
 */
import bcrypt from "bcryptjs";
import { badRequest, type GoTrueError, weakPasswordError } from "./errors.ts";

/** GoTrue's bcrypt cost (bcrypt.DefaultCost). */
export const BCRYPT_COST = 10;
/** bcrypt ignores bytes past 72, so GoTrue refuses longer passwords. */
export const MAX_PASSWORD_BYTES = 72;
/** `minimum_password_length` of `supabase init`'s config.toml. */
export const DEFAULT_MIN_PASSWORD_LENGTH = 6;

/**
 * bcryptjs writes the `$2b$` prefix; Go's bcrypt (GoTrue) writes `$2a$`. For passwords of at most
 * 72 bytes the two variants compute the same hash, so only the label differs.
 */
export function toGoBcryptPrefix(hash: string): string {
  return hash.startsWith("$2b$") ? `$2a$${hash.slice(4)}` : hash;
}

export async function hashPassword(password: string, cost: number = BCRYPT_COST): Promise<string> {
  return toGoBcryptPrefix(await bcrypt.hash(password, cost));
}

/** Constant-time bcrypt comparison; false (never a throw) for a missing or malformed hash. */
export async function verifyPassword(password: string, hash: string | null): Promise<boolean> {
  if (!hash || !isBcryptHash(hash)) return false;
  try {
    return await bcrypt.compare(password, hash);
  } catch {
    return false;
  }
}

export function isBcryptHash(value: string): boolean {
  return /^\$2[abxy]\$\d{2}\$[./A-Za-z0-9]{53}$/.test(value);
}

/**
 * GoTrue's checkPasswordStrength: over 72 bytes is a 400, too short a 422 `weak_password` whose
 * `reasons` supabase-js surfaces as AuthWeakPasswordError.reasons.
 */
export function checkPasswordStrength(
  password: string,
  minLength: number = DEFAULT_MIN_PASSWORD_LENGTH,
): GoTrueError | null {
  // Go's len() counts bytes, so both limits are in UTF-8 bytes as on Supabase.
  const bytes = new TextEncoder().encode(password).length;
  if (bytes > MAX_PASSWORD_BYTES) {
    return badRequest(
      "validation_failed",
      `Password cannot be longer than ${MAX_PASSWORD_BYTES} characters`,
    );
  }
  if (bytes < minLength) {
    return weakPasswordError(`Password should be at least ${minLength} characters.`, ["length"]);
  }
  return null;
}
