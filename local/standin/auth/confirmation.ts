/**
 * GoTrue's signup confirmation ("Confirm email"), as the stand-in's hosted profile needs it:
 * the token a confirmation mail carries, where it is stored, the mail itself (a local mailbox
 * instead of SMTP), and what /verify does with it.
 *
 * Followed, file by file (supabase/auth):
 * - internal/api/mail.go sendConfirmation: at most one mail per SMTP MaxFrequency (default 60 s,
 *   internal/conf/configuration.go) → 429 over_email_send_rate_limit "For security purposes, you
 *   can only request this after N seconds." (errors.go generateFrequencyLimitErrorMessage);
 *   otp = crypto.GenerateOtp(Mailer.OtpLength, default 6); token = GenerateTokenHash(email, otp)
 *   = hex(sha224(email + otp)); stored in users.confirmation_token with confirmation_sent_at =
 *   now (GoTrue also writes one_time_tokens, a table the stand-in's schema does not have).
 * - The mail's link is `{API_EXTERNAL_URL}/verify?token={token hash}&type=signup&redirect_to=…`;
 *   the OTP itself is what `verifyOtp({ email, token, type: "email" })` takes.
 * - internal/api/verify.go verifyTokenHash: an unknown token (or an expired one: sent more than
 *   Mailer.OtpExp, default 86400 s, ago) is 403 otp_expired "Email link is invalid or has
 *   expired"; a banned user 403 user_banned. signupVerify → models/user.go Confirm: clears
 *   confirmation_token, sets email_confirmed_at, user_metadata.email_verified = true, and the
 *   matching identity's identity_data.email_verified = true.
 */
import { createHash } from "node:crypto";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { GoTrueError } from "./errors.ts";
import type { AuthUser } from "./users.ts";

/** SMTP MaxFrequency's default (internal/conf/configuration.go). */
export const MAIL_MAX_FREQUENCY_SECONDS = 60;
/** Mailer.OtpExp's default (internal/conf/configuration.go). */
export const OTP_EXPIRY_SECONDS = 86_400;
/** Mailer.OtpLength's default. */
export const OTP_LENGTH = 6;

/** One mail GoTrue would have sent through SMTP. */
export interface SentMail {
  readonly to: string;
  /** mail.SignupVerification ("signup") is the only kind the stand-in sends. */
  readonly type: "signup";
  /** The code shown in the mail ({{ .Token }}). */
  readonly otp: string;
  /** {{ .TokenHash }}: what the link carries and auth.users.confirmation_token holds. */
  readonly tokenHash: string;
  /** {{ .ConfirmationURL }}. */
  readonly link: string;
  readonly sentAt: Date;
}

/**
 * The stand-in's outgoing mail: kept in memory (what Inbucket/Mailpit shows for `supabase
 * start`), so a test or a developer can "click" the link.
 */
export class Mailbox {
  readonly #mails: SentMail[] = [];

  deliver(mail: SentMail): void {
    this.#mails.push(mail);
  }

  /** Every mail sent to `email`, oldest first. */
  to(email: string): SentMail[] {
    const address = email.toLowerCase();
    return this.#mails.filter((mail) => mail.to === address);
  }

  /** The newest mail sent to `email`, if any. */
  latest(email: string): SentMail | undefined {
    return this.to(email).at(-1);
  }
}

/** crypto.GenerateOtp: `digits` random decimal digits. */
function generateOtp(digits: number): string {
  const values = crypto.getRandomValues(new Uint32Array(digits));
  return Array.from(values, (value) => String(value % 10)).join("");
}

/** crypto.GenerateTokenHash: hex(sha224(emailOrPhone + otp)). */
export function generateTokenHash(emailOrPhone: string, otp: string): string {
  return createHash("sha224").update(emailOrPhone + otp).digest("hex");
}

export interface ConfirmationContext {
  readonly mailbox: Mailbox;
  /** The Auth API's public URL (…/auth/v1): the link's base. */
  readonly externalUrl: string;
  /** Where the link sends the browser afterwards (GoTrue's SITE_URL). */
  readonly siteUrl: string;
}

/** mail.go sendConfirmation: a new token, stored, and mailed. */
export async function sendConfirmation(
  context: ConfirmationContext,
  db: SqlClient,
  user: Pick<AuthUser, "id" | "email" | "confirmationSentAt">,
  now: Date = new Date(),
): Promise<void> {
  const email = user.email ?? "";
  if (user.confirmationSentAt) {
    const next = user.confirmationSentAt.getTime() + MAIL_MAX_FREQUENCY_SECONDS * 1000;
    if (next > now.getTime()) {
      const left = Math.floor((next - now.getTime()) / 1000);
      throw new GoTrueError(
        429,
        "over_email_send_rate_limit",
        `For security purposes, you can only request this after ${left} seconds.`,
      );
    }
  }
  const otp = generateOtp(OTP_LENGTH);
  const tokenHash = generateTokenHash(email, otp);
  await db.query(
    `UPDATE auth.users SET confirmation_token = $2, confirmation_sent_at = $3::timestamptz
      WHERE id = $1::uuid`,
    [user.id, tokenHash, now.toISOString()],
  );
  const link = new URL(`${context.externalUrl}/verify`);
  link.searchParams.set("token", tokenHash);
  link.searchParams.set("type", "signup");
  link.searchParams.set("redirect_to", context.siteUrl);
  context.mailbox.deliver({
    to: email,
    type: "signup",
    otp,
    tokenHash,
    link: link.href,
    sentAt: now,
  });
}

/** verifyTokenHash's refusal (a link) and verifyUserAndToken's (a typed code). */
export const LINK_INVALID = "Email link is invalid or has expired";
export const OTP_INVALID = "Token has expired or is invalid";

/**
 * verify.go verifyTokenHash (`email` absent) or verifyUserAndToken (`email` given: the code was
 * typed, its hash is recomputed by the caller) for the types whose token lives in
 * confirmation_token — signup, invite, and "email" when it is a confirmation code: the user's
 * id, or GoTrue's refusal. Recovery, magic-link and email-change tokens are never issued by the
 * stand-in, so their lookups find nothing: the same 403 otp_expired an unknown link gets.
 */
export async function userIdForConfirmationToken(
  db: SqlClient,
  tokenHash: string,
  email?: string,
  now: Date = new Date(),
): Promise<string> {
  const message = email === undefined ? LINK_INVALID : OTP_INVALID;
  const { rows } = await db.query<{ id: string; sent_at: Date | string | null; banned: boolean }>(
    `SELECT id::text AS id, confirmation_sent_at AS sent_at,
            coalesce(banned_until > now(), false) AS banned
       FROM auth.users
      WHERE confirmation_token = $1 AND confirmation_token <> '' AND deleted_at IS NULL
        AND ($2::text IS NULL OR lower(email) = lower($2))`,
    [tokenHash, email ?? null],
  );
  const row = rows[0];
  if (!row) throw new GoTrueError(403, "otp_expired", message);
  if (row.banned) throw new GoTrueError(403, "user_banned", "User is banned");
  const sentAt = row.sent_at === null ? null : new Date(row.sent_at);
  if (!sentAt || sentAt.getTime() + OTP_EXPIRY_SECONDS * 1000 < now.getTime()) {
    throw new GoTrueError(403, "otp_expired", message);
  }
  return row.id;
}

/** models/user.go Confirm, plus signupVerify's identity_data.email_verified. */
export async function confirmUser(db: SqlClient, userId: string): Promise<void> {
  await db.query(
    `UPDATE auth.users
        SET confirmation_token = '', email_confirmed_at = now(), updated_at = now(),
            raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb)
                                 || '{"email_verified": true}'::jsonb
      WHERE id = $1::uuid`,
    [userId],
  );
  await db.query(
    `UPDATE auth.identities i
        SET identity_data = i.identity_data || '{"email_verified": true}'::jsonb,
            updated_at = now()
       FROM auth.users u
      WHERE u.id = $1::uuid AND i.user_id = u.id AND i.email IS NOT NULL
        AND i.email = u.email`,
    [userId],
  );
}
