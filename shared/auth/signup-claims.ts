/**
 * One in-flight dual-write signup per email (auth_signup_claims). Two concurrent signups for the
 * same email could otherwise each win a different system and then both be undone; with the claim
 * the second one is answered "user already exists" at once, as a single system would answer it.
 */
import type { SqlClient } from "../db/sql-client.ts";

export class SignupClaims {
  constructor(private readonly db: SqlClient) {}

  /** True when this signup may proceed; the claim lasts `leaseMs` unless released. */
  async claim(email: string, userId: string, leaseMs: number): Promise<boolean> {
    const { rows } = await this.db.query(
      `INSERT INTO auth_signup_claims (email, user_id, expires_at)
       VALUES (lower($1), $2::uuid, now() + $3 * interval '1 millisecond')
       ON CONFLICT (email) DO UPDATE
         SET user_id = EXCLUDED.user_id, expires_at = EXCLUDED.expires_at
         WHERE auth_signup_claims.expires_at < now()
       RETURNING user_id`,
      [email, userId, leaseMs],
    );
    return rows.length > 0;
  }

  async release(email: string, userId: string): Promise<void> {
    await this.db.query(
      `DELETE FROM auth_signup_claims WHERE email = lower($1) AND user_id = $2::uuid`,
      [email, userId],
    );
  }
}
