/**
 * The per-user migration rules, stated once. The set-based path evaluates them as SQL
 * predicates (statements.ts), the per-user original path in JavaScript (original.ts); both read
 * the patterns and reasons from here, and plan-mode comparison proves they agree.
 */

/** The source of zod's email regex (`z.email()`) that EMAIL_PATTERN was derived from. */
export const ZOD_EMAIL_SOURCE = String
  .raw`^(?:[A-Za-z0-9_'+\-]+\.)*[A-Za-z0-9_'+\-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$`;

/**
 * The addresses `z.email()` accepts, as a PostgreSQL regex for the set-based rules. zod's local
 * part `(?:X+\.)*X*Y@` is ambiguous, and PostgreSQL's engine spends ~10 µs per row on it (≈10 %
 * of a 5,000-user batch); this unambiguous form of the same language (dot-separated non-empty
 * segments, no apostrophe right before `@`) takes ~1.5 µs. The rules tests check that it and
 * z.email() agree, and that zod's pattern is still the one it was derived from.
 */
export const EMAIL_PATTERN = String
  .raw`^[A-Za-z0-9_'+-]+(?:\.[A-Za-z0-9_'+-]+)*(?<!')@(?:[A-Za-z0-9][A-Za-z0-9-]*\.)+[A-Za-z]{2,}$`;

/** A bcrypt hash as GoTrue stores it ($2a$/$2b$/$2y$, cost, 53 characters of salt+hash). */
export const PASSWORD_HASH_PATTERN = "^\\$2[abxy]\\$[0-9]{2}\\$[./A-Za-z0-9]{53}$";

/**
 * PASSWORD_HASH_PATTERN as the set-based batch evaluates it in PostgreSQL: the same strings
 * (4 + 2 + 1 + 53 = 60 ASCII characters), as a length check plus an unbounded class. PostgreSQL's
 * regex engine expands the bounded repeat `{53}` into 53 states and spent ~6 µs per hash on it —
 * a quarter of a batch's classification; this form costs ~1.5 µs. tests/shared/batch/rules.test.ts
 * checks that both accept exactly the same strings.
 */
export const PASSWORD_HASH_SQL_PATTERN = "^\\$2[abxy]\\$[0-9][0-9]\\$[./A-Za-z0-9]+$";
export const PASSWORD_HASH_LENGTH = 60;

/** `expression` is a bcrypt hash in GoTrue's form (SQL; `pattern` = PASSWORD_HASH_SQL_PATTERN). */
export function passwordHashSql(expression: string, pattern: string): string {
  return `(length(${expression}) = ${PASSWORD_HASH_LENGTH} AND ${expression} ~ ${pattern})`;
}

/** Users that are not migrated but are not errors either. Order = evaluation order. */
export const SKIP_REASONS = [
  "migrated_by_this_migration",
  "already_migrated",
  "already_in_target",
  "signup_in_flight",
] as const;

/** Validation failures: recorded in migration_errors and skipped. Order = evaluation order. */
export const REJECT_REASONS = [
  "missing_email",
  "missing_created_at",
  "invalid_email",
  "deleted_user",
  "banned_user",
  "invalid_password_hash",
  "duplicate_email",
  "email_exists_in_target",
  "phone_exists_in_target",
  "duplicate_provider_identity",
  "identity_exists_in_target",
  "totp_not_carried",
] as const;

export type SkipReason = (typeof SKIP_REASONS)[number];
export type RejectReason = (typeof REJECT_REASONS)[number];
export type PlanAction = "migrate" | "skip" | "reject";

/** Error code of a user whose rows could not be written even alone (after bisecting). */
export const WRITE_FAILED = "write_failed";
/** Error code of a batch given up after its transient-error retries. */
export const TRANSIENT_EXHAUSTED = "transient_retries_exhausted";

export const REASON_MESSAGES: Readonly<Record<SkipReason | RejectReason, string>> = {
  migrated_by_this_migration: "already migrated by this migration",
  already_migrated: "already migrated (migrated_users has this user)",
  already_in_target: "a Better Auth user with this id already exists",
  signup_in_flight:
    "a dual-write signup of this user is in progress (it writes Better Auth itself)",
  missing_email: "user has no email, no phone and is not anonymous: nothing to sign in with",
  missing_created_at: "required field created_at is missing",
  invalid_email: "email is not a valid address",
  deleted_user: "user is soft-deleted in the source",
  banned_user: "user is banned at migration time",
  invalid_password_hash: "encrypted_password is not a bcrypt hash",
  duplicate_email: "another source user has the same email (case-insensitive)",
  email_exists_in_target: "a different Better Auth user already has this email",
  phone_exists_in_target: "a different Better Auth user already has this phone number",
  duplicate_provider_identity: "user has two identities of the same provider",
  identity_exists_in_target: "an identity of this user is linked to another Better Auth user",
  totp_not_carried: "user has a verified TOTP factor that cannot be carried (no " +
    "BETTER_AUTH_SECRET, or the secret is encrypted with GoTrue's key): refused rather than " +
    "migrated without its second factor",
};

export function actionOf(reason: string | null): PlanAction {
  if (reason === null) return "migrate";
  return (SKIP_REASONS as readonly string[]).includes(reason) ? "skip" : "reject";
}

/** Counted as migrated: a user this migration already wrote (a batch replayed after a crash). */
export function countsAsMigrated(reason: string | null): boolean {
  return reason === null || reason === "migrated_by_this_migration";
}
