/**
 * GoTrue's per-IP request limits on POST /token and POST /signup, as on hosted Supabase.
 *
 * Key (supabase/auth internal/api/middleware.go performRateLimiting):
 * 1. `Sb-Forwarded-For` — when GOTRUE_SECURITY_SB_FORWARDED_FOR_ENABLED, its first value if it is
 *    a valid IP (internal/sbff/sbff.go, added in supabase/auth#2295 "Add Sb-Forwarded-For header
 *    and IP-based rate limiting" because X-Forwarded-For is rewritten by proxies);
 * 2. else the first comma-separated value of GOTRUE_RATE_LIMIT_HEADER (performRateLimitingWithHeader),
 *    which Supabase's own example configuration sets to `X-Forwarded-For`
 *    (internal/reloader/testdata/50_example.env: GOTRUE_RATE_LIMIT_HEADER="X-Forwarded-For").
 * With neither header GoTrue does not limit; in front of it Supabase's gateway always sets
 * X-Forwarded-For to the peer, so the stand-in falls back to the peer address, as the gateway
 * would hand it on. A request over the limit is 429 `over_request_rate_limit`,
 * "Request rate limit reached".
 *
 * Buckets are tollbooth's token buckets (full at start, `burst` capacity, refilled at
 * `ratePerSecond`); see local/standin/profile.ts for the figures.
 */
import type { MiddlewareHandler } from "hono";
import type { BucketSettings } from "../profile.ts";
import { GoTrueError } from "./errors.ts";
import { clientIp } from "./guards.ts";

export const SB_FORWARDED_FOR = "sb-forwarded-for";
export const RATE_LIMIT_HEADER = "x-forwarded-for";

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    private readonly settings: BucketSettings,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Takes one token for `key`; false when the bucket is empty. */
  take(key: string): boolean {
    const now = this.now();
    const bucket = this.#buckets.get(key) ?? { tokens: this.settings.burst, updatedMs: now };
    const refill = ((now - bucket.updatedMs) / 1000) * this.settings.ratePerSecond;
    bucket.tokens = Math.min(this.settings.burst, bucket.tokens + refill);
    bucket.updatedMs = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.#buckets.size;
  }
}

function firstValue(header: string | undefined): string {
  return (header ?? "").split(",", 1)[0]!.trim();
}

/** The key GoTrue limits this request by (see the header of this module). */
export function rateLimitKey(
  headers: { get(name: string): string | null | undefined },
  remoteAddress: string | undefined,
): string | null {
  const sbff = clientIp(firstValue(headers.get(SB_FORWARDED_FOR) ?? undefined), undefined);
  if (sbff) return sbff;
  const forwarded = firstValue(headers.get(RATE_LIMIT_HEADER) ?? undefined);
  if (forwarded) return forwarded;
  return remoteAddress ?? null;
}

export function overRequestRateLimit(): GoTrueError {
  return new GoTrueError(429, "over_request_rate_limit", "Request rate limit reached");
}

/** A middleware taking one token per request from `buckets`, keyed as GoTrue keys it. */
export function limitByClient(buckets: TokenBuckets): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method !== "POST") return await next();
    const env = c.env as { remoteAddr?: { hostname?: string } } | undefined;
    const key = rateLimitKey(
      { get: (name) => c.req.header(name) },
      env?.remoteAddr?.hostname,
    );
    if (key !== null && !buckets.take(key)) throw overRequestRateLimit();
    await next();
  };
}
