/**
 * Failed-login limits kept in the database (auth_rate_limits), so they hold across every function
 * instance. Two kinds of bucket:
 *
 * - per (email, client IP): the first `freeFailures` failures cost nothing; each further failure
 *   blocks that pair for a delay that doubles (`baseDelaySeconds`, 2×, 4×, … up to
 *   `maxDelaySeconds`). The key includes the IP, so an attacker guessing from elsewhere slows only
 *   themself down: the owner, from their own address, is never locked out by someone else's
 *   failures. A successful login clears the pair.
 * - per client IP (`ip`): a fixed window across every email, against credential stuffing (one
 *   source trying many accounts). A success does not clear it: one good password must not unlock
 *   a stuffing source.
 *
 * The IP is the trusted-hop client address (shared/http/client-ip.ts), never a client-chosen
 * header value. Buckets are keyed by SHA-256 of the email / IP, never in clear.
 */
import { sha256Hex } from "../crypto/sha256.ts";
import type { SqlClient } from "../db/sql-client.ts";
import { AuthError } from "./errors.ts";

export interface RateLimitRule {
  readonly maxFailures: number;
  readonly windowSeconds: number;
}

/** Growing delays for one (email, IP) pair. */
export interface DelayRule {
  /** Failures allowed before any delay. */
  readonly freeFailures: number;
  /** The first delay; each further failure doubles it. */
  readonly baseDelaySeconds: number;
  readonly maxDelaySeconds: number;
  /** A pair idle this long starts over. */
  readonly windowSeconds: number;
}

export interface RateLimitSettings {
  readonly pair: DelayRule;
  readonly ip: RateLimitRule;
}

export const DEFAULT_RATE_LIMITS: RateLimitSettings = {
  // 5 free failures, then 1 s, 2 s, 4 s … capped at 15 min: ~15 guesses per quarter hour.
  pair: { freeFailures: 5, baseDelaySeconds: 1, maxDelaySeconds: 15 * 60, windowSeconds: 15 * 60 },
  ip: { maxFailures: 100, windowSeconds: 15 * 60 },
};

/** Stands for "no client IP known" in the pair key (calls that did not come through a proxy). */
const NO_IP = "-";

export class LoginRateLimiter {
  constructor(
    private readonly db: SqlClient,
    private readonly settings: RateLimitSettings = DEFAULT_RATE_LIMITS,
  ) {}

  async #pairKey(email: string, ip: string | undefined): Promise<string> {
    const emailHash = await sha256Hex(email.toLowerCase());
    return `login:pair:${emailHash}:${ip ? await sha256Hex(ip) : NO_IP}`;
  }

  async #ipKey(ip: string): Promise<string> {
    return `login:ip:${await sha256Hex(ip)}`;
  }

  /** Throws 429 rate_limited while the (email, IP) pair or the IP is blocked. */
  async assertAllowed(email: string, ip?: string): Promise<void> {
    const keys = [await this.#pairKey(email, ip)];
    if (ip) keys.push(await this.#ipKey(ip));
    const { rows } = await this.db.query<{ retry_after: number }>(
      `SELECT ceil(extract(epoch FROM (blocked_until - now())))::int AS retry_after
         FROM auth_rate_limits
        WHERE bucket = ANY($1::text[]) AND blocked_until > now()
        ORDER BY blocked_until DESC LIMIT 1`,
      [keys],
    );
    const blocked = rows[0];
    if (blocked) {
      throw new AuthError("rate_limited", "Too many failed login attempts; try again later", {
        retryAfterSeconds: Math.max(1, Number(blocked.retry_after)),
      });
    }
  }

  /** Counts one failed login against the (email, IP) pair and the IP (atomic per bucket). */
  async recordFailure(email: string, ip?: string): Promise<void> {
    const pair = this.settings.pair;
    // n = failures after this one (1 when the pair was idle for a window); when n > free, the
    // pair is blocked for base · 2^(n − free − 1) seconds, capped.
    const n = `(CASE WHEN r.updated_at + make_interval(secs => $5::float8) <= now() THEN 1
                     ELSE r.failures + 1 END)`;
    await this.db.query(
      `INSERT INTO auth_rate_limits AS r (bucket, failures, window_start, blocked_until)
       VALUES ($1, 1, now(), CASE WHEN 1 > $2::int
         THEN now() + make_interval(secs => least($4::float8, $3::float8)) END)
       ON CONFLICT (bucket) DO UPDATE SET
         failures = ${n},
         window_start = CASE WHEN ${n} = 1 THEN now() ELSE r.window_start END,
         blocked_until = CASE WHEN ${n} > $2::int
           THEN now() + make_interval(secs => least($4::float8,
                  $3::float8 * power(2, ${n} - $2::int - 1)))
           END,
         updated_at = now()`,
      [
        await this.#pairKey(email, ip),
        pair.freeFailures,
        pair.baseDelaySeconds,
        pair.maxDelaySeconds,
        pair.windowSeconds,
      ],
    );
    if (!ip) return;
    const rule = this.settings.ip;
    const window = `${rule.windowSeconds} seconds`;
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
      [await this.#ipKey(ip), rule.maxFailures, window],
    );
  }

  /** A successful login clears that (email, IP) pair; without an IP, every pair of the email. */
  async recordSuccess(email: string, ip?: string): Promise<void> {
    if (ip) {
      await this.db.query(`DELETE FROM auth_rate_limits WHERE bucket = $1`, [
        await this.#pairKey(email, ip),
      ]);
      return;
    }
    const prefix = `login:pair:${await sha256Hex(email.toLowerCase())}:`;
    await this.db.query(`DELETE FROM auth_rate_limits WHERE left(bucket, $2) = $1`, [
      prefix,
      prefix.length,
    ]);
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
