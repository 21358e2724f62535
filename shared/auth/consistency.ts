/**
 * MIGRATION_VALIDATION: compares the two copies of a user (email, metadata). The id is equal by
 * construction and created_at legitimately differs by milliseconds, so neither is compared.
 */
import type { AuthUserView, JsonObject } from "./types.ts";

export interface Discrepancy {
  readonly field: "id" | "email" | "user_metadata";
  readonly message: string;
}

/** JSON with object keys sorted, so key order never counts as a difference. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as JsonObject)
      .filter(([, child]) => child !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${
      entries.map(([key, child]) => `${JSON.stringify(key)}:${canonicalJson(child)}`).join(",")
    }}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * Supabase adds `email_verified` (and GoTrue's own keys) to user_metadata when it confirms an
 * email; they are Supabase bookkeeping, not the app's data, so they are not compared.
 */
const SUPABASE_MANAGED_METADATA = new Set(["email_verified", "phone_verified", "sub", "email"]);

function appMetadataOnly(metadata: JsonObject): JsonObject {
  return Object.fromEntries(
    Object.entries(metadata).filter(([key]) => !SUPABASE_MANAGED_METADATA.has(key)),
  );
}

export function compareUsers(supabase: AuthUserView, betterAuth: AuthUserView): Discrepancy[] {
  const discrepancies: Discrepancy[] = [];
  if (supabase.id !== betterAuth.id) {
    discrepancies.push({ field: "id", message: "user ids differ" });
  }
  if (supabase.email.toLowerCase() !== betterAuth.email.toLowerCase()) {
    discrepancies.push({ field: "email", message: "emails differ" });
  }
  if (
    canonicalJson(appMetadataOnly(supabase.user_metadata)) !==
      canonicalJson(appMetadataOnly(betterAuth.user_metadata))
  ) {
    discrepancies.push({ field: "user_metadata", message: "user metadata differs" });
  }
  return discrepancies;
}
