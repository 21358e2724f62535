/**
 * Failed-login limits kept in the database (auth_rate_limits), so they hold across every function
 * instance. Fixed windows per bucket (one per email, one per client IP): when a bucket's failures
 * in the current window reach its limit, the bucket is blocked until the window ends. A
 * successful login clears the email's bucket (not the IP's: one success must not unlock a
 * credential-stuffing source). Buckets are keyed by a SHA-256 of the email / IP, never in clear.
 */
import { sha256Hex } from "../crypto/sha256.ts";
import type { SqlClient } from "../db/sql-client.ts";
import { AuthError } from "./errors.ts";

export interface RateLimitRule {
  readonly maxFailures: number;
  readonly windowSeconds: number;
}

export interface RateLimitSettings {
  readonly email: RateLimitRule;
  readonly ip: RateLimitRule;
}

export const DEFAULT_RATE_LIMITS: RateLimitSettings = {
  email: { maxFailures: 10, windowSeconds: 15 * 60 },
  ip: { maxFailures: 100, windowSeconds: 15 * 60 },
};

interface Bucket {
  readonly key: string;
  readonly rule: RateLimitRule;
}

export class LoginRateLimiter {
  constructor(
    private readonly db: SqlClient,
    private readonly settings: RateLimitSettings = DEFAULT_RATE_LIMITS,
  ) {}

  async #buckets(email: string, ip: string | undefined): Promise<Bucket[]> {
    const buckets: Bucket[] = [{
      key: `login:email:${await sha256Hex(email.toLowerCase())}`,
      rule: this.settings.email,
    }];
    if (ip) buckets.push({ key: `login:ip:${await sha256Hex(ip)}`, rule: this.settings.ip });
    return buckets;
  }

  /** Throws 429 rate_limited when the email or the IP is blocked; otherwise returns. */
  async assertAllowed(email: string, ip?: string): Promise<void> {
    const buckets = await this.#buckets(email, ip);
    const { rows } = await this.db.query<{ retry_after: number }>(
      `SELECT ceil(extract(epoch FROM (blocked_until - now())))::int AS retry_after
         FROM auth_rate_limits
        WHERE bucket = ANY($1::text[]) AND blocked_until > now()
        ORDER BY blocked_until DESC LIMIT 1`,
      [buckets.map((bucket) => bucket.key)],
    );
    const blocked = rows[0];
    if (blocked) {
      throw new AuthError("rate_limited", "Too many failed login attempts; try again later", {
        retryAfterSeconds: Math.max(1, Number(blocked.retry_after)),
      });
    }
  }

  /** Counts one failed login against the email and the IP (atomic per bucket). */
  async recordFailure(email: string, ip?: string): Promise<void> {
    for (const bucket of await this.#buckets(email, ip)) {
      const window = `${bucket.rule.windowSeconds} seconds`;
      await this.db.query(
        `INSERT INTO auth_rate_limits AS r (bucket, failures, window_start, blocked_until)
         VALUES ($1, 1, now(), CASE WHEN 1 >= $2 THEN now() + $3::interval END)
         ON CONFLICT (bucket) DO UPDATE SET
           failures = CASE WHEN r.window_start + $3::interval <= now() THEN 1
                           ELSE r.failures + 1 END,
           window_start = CASE WHEN r.window_start + $3::interval <= now() THEN now()
                               ELSE r.window_start END,
           blocked_until = CASE
             WHEN r.window_start + $3::interval <= now()
               THEN CASE WHEN 1 >= $2 THEN now() + $3::interval END
             WHEN r.failures + 1 >= $2 THEN r.window_start + $3::interval
             ELSE r.blocked_until END,
           updated_at = now()`,
        [bucket.key, bucket.rule.maxFailures, window],
      );
    }
  }

  /** A successful login clears the email's failures. */
  async recordSuccess(email: string): Promise<void> {
    const [emailBucket] = await this.#buckets(email, undefined);
    await this.db.query(`DELETE FROM auth_rate_limits WHERE bucket = $1`, [emailBucket!.key]);
  }

  /** Deletes buckets idle for longer than a day (run by the reconciliation job). */
  async purgeStale(): Promise<number> {
    const { rowCount } = await this.db.query(
      `DELETE FROM auth_rate_limits
        WHERE updated_at < now() - interval '1 day'
          AND (blocked_until IS NULL OR blocked_until < now())`,
    );
    return rowCount;
  }
}
