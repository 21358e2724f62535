/**
 * Password hashes that survive the move: Supabase Auth stores bcrypt (`$2a$` from Go; `$2b$` /
 * `$2y$` from imports), Better Auth stores its native scrypt (`<32 hex salt>:<128 hex key>`).
 * Verification accepts both. A NEW hash is bcrypt until the migration is declared complete
 * (shared/sync/completion.ts): GoTrue's admin API imports bcrypt (`password_hash`) but not
 * scrypt, so a password set on the Better Auth side survives a rollback to Supabase. After
 * completion new hashes are Better Auth's native scrypt, made by its own exported functions so
 * Better Auth can verify them without us.
 */
import bcrypt from "bcryptjs";
import {
  hashPassword as betterAuthHash,
  verifyPassword as betterAuthVerify,
} from "better-auth/crypto";

const BCRYPT_HASH = /^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;
const SCRYPT_HASH = /^[0-9a-f]{32}:[0-9a-f]{128}$/;

export type PasswordHashKind = "bcrypt" | "scrypt";

export function hashKind(hash: string): PasswordHashKind | null {
  if (BCRYPT_HASH.test(hash)) return "bcrypt";
  if (SCRYPT_HASH.test(hash)) return "scrypt";
  return null;
}

export const isLegacyHash = (hash: string): boolean => hashKind(hash) === "bcrypt";

/** What a new password is hashed with: bcrypt until the migration is declared complete. */
export type NewPasswordFormat = "bcrypt" | "scrypt";

/** A new hash; bcrypt (Supabase's label and cost) unless `format` is "scrypt". */
export function hashPassword(
  password: string,
  format: NewPasswordFormat = "bcrypt",
): Promise<string> {
  return format === "scrypt" ? betterAuthHash(password) : hashBcrypt(password);
}

/**
 * Verifies against either kind. False (never a throw) for a wrong password, an unknown hash format
 * or a corrupt hash, so a bad row reads as "invalid credentials", not as an outage.
 */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    switch (hashKind(hash)) {
      case "bcrypt":
        return await bcrypt.compare(password, hash);
      case "scrypt":
        return await betterAuthVerify({ hash, password });
      default:
        return false;
    }
  } catch {
    return false;
  }
}

/** A bcrypt hash in Supabase's label (`$2a$`, cost 10), e.g. to hand to GoTrue's admin API. */
export async function hashBcrypt(password: string, cost = 10): Promise<string> {
  const hash = await bcrypt.hash(password, cost);
  return hash.startsWith("$2b$") ? `$2a$${hash.slice(4)}` : hash;
}

let dummyHashes: Promise<Record<PasswordHashKind, string>> | undefined;

/**
 * Spends the time of a real verification without any account, so "unknown email" costs what
 * "wrong password" costs. `kind` picks which verification to imitate.
 */
export async function verifyDummy(password: string, kind: PasswordHashKind): Promise<void> {
  dummyHashes ??= (async () => ({
    bcrypt: await hashBcrypt("dummy-password-for-timing"),
    scrypt: await hashPassword("dummy-password-for-timing", "scrypt"),
  }))();
  await verifyPassword((await dummyHashes)[kind], password);
}
