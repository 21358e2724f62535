/**
 * The one password policy for both auth paths. It is checked before any backend is called, so
 * Supabase Auth and Better Auth can never disagree about a password (Better Auth's own length
 * limits are configured from the same values in better-auth.ts).
 */
import { AuthError, validationFailed } from "./errors.ts";

export interface PasswordPolicy {
  /** Minimum length in UTF-8 bytes, as GoTrue counts (Go's len()). */
  readonly minLength: number;
  /** bcrypt reads at most 72 bytes, so GoTrue refuses longer passwords; so do we on both paths. */
  readonly maxBytes: number;
  /**
   * GoTrue's `password_required_characters`: the password needs at least one character from each
   * set (e.g. ["abc…z", "ABC…Z", "0123456789"]). Empty: no requirement.
   */
  readonly requiredCharacterSets: readonly string[];
}

export const BCRYPT_MAX_BYTES = 72;

export const LOWER = "abcdefghijklmnopqrstuvwxyz";
export const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
export const DIGITS = "0123456789";

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = {
  minLength: 8,
  maxBytes: BCRYPT_MAX_BYTES,
  requiredCharacterSets: [],
};

const encoder = new TextEncoder();

/**
 * Checks a NEW password (signup). Over-long is 400 validation_failed (as GoTrue answers), weak is
 * 422 weak_password with GoTrue's reasons. Returns null when the password is acceptable.
 */
export function checkNewPassword(password: string, policy: PasswordPolicy): AuthError | null {
  const bytes = encoder.encode(password).length;
  if (bytes > policy.maxBytes) {
    return validationFailed([{
      path: "password",
      message: `Password cannot be longer than ${policy.maxBytes} characters`,
    }]);
  }
  const reasons: string[] = [];
  const messages: string[] = [];
  if (bytes < policy.minLength) {
    reasons.push("length");
    messages.push(`Password should be at least ${policy.minLength} characters.`);
  }
  const missing = policy.requiredCharacterSets.filter((set) =>
    ![...password].some((char) => set.includes(char))
  );
  if (missing.length > 0) {
    reasons.push("characters");
    messages.push(
      `Password should contain at least one character of each: ${
        policy.requiredCharacterSets.join(", ")
      }.`,
    );
  }
  if (reasons.length === 0) return null;
  return new AuthError("weak_password", messages.join(" "), { reasons });
}

/**
 * Checks a password presented at LOGIN: only what no stored password can violate. The minimum
 * length and character rules are deliberately not applied, so a user whose password predates the
 * current policy can still log in (no forced resets because of the migration).
 */
export function checkLoginPassword(password: string, policy: PasswordPolicy): AuthError | null {
  if (password.length === 0) {
    return validationFailed([{ path: "password", message: "Password is required" }]);
  }
  if (encoder.encode(password).length > policy.maxBytes) {
    return validationFailed([{
      path: "password",
      message: `Password cannot be longer than ${policy.maxBytes} characters`,
    }]);
  }
  return null;
}
