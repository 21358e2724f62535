/**
 * Canary selection for auth: canary users get Better Auth as the primary in dual write.
 *
 * Every selection is sticky per user. The guide's 'random' seeded its hash with today's date, so
 * users moved between systems every midnight; here 'random' and 'user_id_hash' both hash the
 * user's stable identity (its lower-cased email: the one identity known at signup AND at login
 * before authenticating), with different salts so the two modes pick different samples.
 * Raising the percentage only adds users (buckets below the old threshold stay selected).
 *
 * The migrator's routing (HandlerContext.canary) takes precedence when the function passes it;
 * this selector decides only when the caller does not.
 */
import type { CanaryConfig } from "../flags/types.ts";

export type { CanaryConfig };

const SALT: Record<"random" | "user_id_hash", string> = {
  random: "edge-migrator/canary/random/v1",
  user_id_hash: "edge-migrator/canary/user-id-hash/v1",
};

/** A stable bucket in [0, 10000) for a salted key. */
export async function canaryBucket(salt: string, key: string): Promise<number> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${salt}:${key}`));
  return new DataView(digest).getUint32(0) % 10_000;
}

export interface CanaryIdentity {
  readonly email: string;
  readonly userId?: string;
}

export async function isCanaryUser(
  config: CanaryConfig,
  identity: CanaryIdentity,
): Promise<boolean> {
  if (!config.enabled) return false;
  const email = identity.email.trim().toLowerCase();
  switch (config.selection) {
    case "whitelist":
      return config.whitelist.includes(email) ||
        (identity.userId !== undefined && config.whitelist.includes(identity.userId.toLowerCase()));
    case "email_domain": {
      const domain = email.slice(email.lastIndexOf("@") + 1);
      return domain.length > 0 && config.emailDomains.includes(domain);
    }
    case "random":
    case "user_id_hash": {
      if (config.percentage <= 0) return false;
      if (config.percentage >= 100) return true;
      const bucket = await canaryBucket(SALT[config.selection], email);
      return bucket < Math.round(config.percentage * 100);
    }
  }
}
