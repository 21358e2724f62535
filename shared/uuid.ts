/**
 * The UUID text form every id in both auth systems uses (auth.users.id, Better Auth's ids in our
 * schema, session ids): checked before a value reaches a `$n::uuid` cast, which would otherwise
 * fail the query with a 500-shaped error instead of a "not found" or a 4xx.
 */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID_PATTERN.test(value);
}
