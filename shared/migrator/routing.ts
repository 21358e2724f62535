/**
 * Sticky routing. Each user's routing key is hashed (with a salt) into one of 10,000 buckets;
 * a request goes to the abstracted implementation when its bucket is below the percentage × 100.
 * So a user always lands in the same bucket (sticky), and raising the percentage only adds
 * buckets: users move from original to abstracted, never back (monotonic).
 *
 * Hash choice: 32-bit FNV-1a over the UTF-16 code units of `salt \u0000 key`, followed by
 * MurmurHash3's fmix32 finaliser. FNV-1a alone mixes the last characters poorly (keys like
 * "user-1", "user-2" cluster); fmix32 gives full avalanche, so realised shares track the target
 * closely (see the property test). It is synchronous, allocation-free and identical on every
 * runtime, which a per-request path wants; it is not cryptographic and need not be: routing
 * only needs a stable, well-spread split, and the salt keeps cohorts independent.
 *
 * Never the URL, never per-request randomness, never the date.
 */
import type { RoutingConfig } from "../flags/types.ts";
import type { ImplementationPath, RoutingIdentity } from "./types.ts";

export const BUCKETS = 10_000;

/**
 * Shared by all functions on purpose: a user in the first N% for signup is in the first N% for
 * login too, so one user sees one implementation across the auth flow.
 */
export const DEFAULT_ROLLOUT_SALT = "edge-migrator:rollout:v1";
/** Canary 'user_id_hash' cohort (independent of the rollout cohort). */
export const CANARY_USER_ID_SALT = "edge-migrator:canary:user-id:v1";
/** Canary 'random' cohort: a different salt, still sticky per user (not Math.random). */
export const CANARY_RANDOM_SALT = "edge-migrator:canary:random:v1";

export function hash32(salt: string, key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < salt.length; i++) {
    h = Math.imul(h ^ salt.charCodeAt(i), 0x01000193);
  }
  h = Math.imul(h, 0x01000193); // the \u0000 separator: "ab"+"c" differs from "a"+"bc"
  for (let i = 0; i < key.length; i++) {
    h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  }
  // MurmurHash3 fmix32.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 0 … 9,999. */
export function bucketOf(key: string, salt: string): number {
  return hash32(salt, key) % BUCKETS;
}

/** Buckets below this go abstracted; 12.34% → 1234. */
export function thresholdOf(percentage: number): number {
  if (!(percentage > 0)) return 0;
  if (percentage >= 100) return BUCKETS;
  return Math.round(percentage * 100);
}

export type RouteReason =
  | "force_original"
  | "canary_whitelist"
  | "canary_email_domain"
  | "canary_percentage"
  | "rollout"
  | "no_routing_key"
  /** The policy pinned the operation to one implementation (MigratorPolicy.pinnedPath). */
  | "pinned"
  /** The function's migration stage pinned it (shared/cutover/stages.ts). */
  | "stage";

export interface RouteDecision {
  readonly path: ImplementationPath;
  readonly reason: RouteReason;
  readonly canary: boolean;
  /** The rollout bucket, when one was computed. */
  readonly bucket?: number;
  /**
   * The shadow stage: the user is routed to the new path, which runs as a shadow of the
   * original that serves them (whatever enable_comparison says).
   */
  readonly shadow?: boolean;
}

export interface RouteOptions {
  readonly rolloutSalt?: string;
  /** The policy's pin for this request: beats canary and percentage, not the kill switch. */
  readonly pinned?: ImplementationPath;
}

/**
 * Order: kill switch → stage pin → policy pin → canary → sticky percentage. A request without a
 * routing key goes to the original unless the rollout is 100% (then abstracted): with no user to
 * keep sticky, the only deterministic choices are "all" or "none", and the original is the safe
 * one until the end.
 *
 * The stage (config.stage) pins what it governs whatever the rollout: a pinned request still
 * carries its canary flag (a canary user is Better Auth primary in dual write). In the shadow
 * stage a request the rollout would send to the new path is served by the original and
 * shadowed instead.
 */
export function decideRoute(
  config: RoutingConfig,
  identity: RoutingIdentity,
  options: RouteOptions = {},
): RouteDecision {
  if (config.forceOriginal) return { path: "original", reason: "force_original", canary: false };
  const stage = config.stage;
  if (stage?.pin) {
    const routed = routeByCohort(config, identity, options);
    if (stage.shadowRouted) {
      return {
        path: "original",
        reason: "stage",
        canary: routed.canary,
        shadow: routed.path === "abstracted",
      };
    }
    return { path: stage.pin, reason: "stage", canary: routed.canary };
  }
  return routeByCohort(config, identity, options);
}

/** Policy pin → canary → sticky percentage. */
function routeByCohort(
  config: RoutingConfig,
  identity: RoutingIdentity,
  options: RouteOptions,
): RouteDecision {
  if (options.pinned) return { path: options.pinned, reason: "pinned", canary: false };
  const canary = canaryReason(config, identity);
  if (canary) return { path: "abstracted", reason: canary, canary: true };
  const key = identity.key;
  if (key === undefined) {
    return {
      path: config.rolloutPercentage >= 100 ? "abstracted" : "original",
      reason: "no_routing_key",
      canary: false,
    };
  }
  const bucket = bucketOf(key, options.rolloutSalt ?? DEFAULT_ROLLOUT_SALT);
  return {
    path: bucket < thresholdOf(config.rolloutPercentage) ? "abstracted" : "original",
    reason: "rollout",
    canary: false,
    bucket,
  };
}

function canaryReason(config: RoutingConfig, identity: RoutingIdentity): RouteReason | null {
  const canary = config.canary;
  if (!canary.enabled) return null;
  switch (canary.selection) {
    case "whitelist": {
      const whitelist = setOf(canary.whitelist);
      const listed = (value: string | undefined) => value !== undefined && whitelist.has(value);
      return listed(identity.email) || listed(identity.userId) || listed(identity.key)
        ? "canary_whitelist"
        : null;
    }
    case "email_domain": {
      const email = identity.email;
      if (!email) return null;
      const domain = email.slice(email.lastIndexOf("@") + 1);
      return setOf(canary.emailDomains).has(domain) ? "canary_email_domain" : null;
    }
    case "user_id_hash": {
      // Prefer the stable user id; an email-only request (signup, login) uses its email.
      const key = identity.userId ?? identity.key;
      if (key === undefined) return null;
      return bucketOf(key, CANARY_USER_ID_SALT) < thresholdOf(canary.percentage)
        ? "canary_percentage"
        : null;
    }
    case "random": {
      // "Random" means an arbitrary but sticky sample, independent of the other cohorts.
      const key = identity.key;
      if (key === undefined) return null;
      return bucketOf(key, CANARY_RANDOM_SALT) < thresholdOf(canary.percentage)
        ? "canary_percentage"
        : null;
    }
  }
}

/** Lists can hold thousands of entries; each distinct list is turned into a Set once. */
const listSets = new WeakMap<readonly string[], Set<string>>();

function setOf(list: readonly string[]): Set<string> {
  let set = listSets.get(list);
  if (!set) {
    set = new Set(list);
    listSets.set(list, set);
  }
  return set;
}
