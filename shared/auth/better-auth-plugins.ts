/**
 * The Better Auth plugins the migration needs, configured in one place with their schema
 * migration (migrations/20261206000100_better_auth_plugins.sql):
 *
 * - admin: `role`, `banned`, `banReason`, `banExpires` on the user (Supabase's `banned_until`
 *   and admin role carry over; the plugin refuses a banned user's new session at sign-in).
 * - anonymous: `isAnonymous` (Supabase's anonymous sign-ins).
 * - phoneNumber: `phoneNumber`, `phoneNumberVerified` (Supabase's `phone`, `phone_confirmed_at`).
 * - twoFactor: `twoFactorEnabled` and the `twoFactor` table (Supabase's verified TOTP factors).
 *
 * Text the plugins send (SMS codes) goes through `PhoneOtpSender`; none is configured by
 * default, so a phone OTP request is refused rather than silently dropped.
 */
import { admin, anonymous, phoneNumber, twoFactor } from "better-auth/plugins";

export interface PhoneOtpSender {
  send(message: { phoneNumber: string; code: string }): Promise<void>;
}

export interface BetterAuthPluginSetup {
  /** Shown by authenticator apps for newly enrolled TOTP factors. */
  readonly totpIssuer?: string;
  readonly phoneOtpSender?: PhoneOtpSender;
}

export const DEFAULT_TOTP_ISSUER = "edge-migrator";

const noPhoneOtpSender: PhoneOtpSender = {
  send: () => Promise.reject(new Error("no SMS sender is configured for phone one-time codes")),
};

export function betterAuthPlugins(setup: BetterAuthPluginSetup = {}) {
  const sender = setup.phoneOtpSender ?? noPhoneOtpSender;
  return [
    admin(),
    anonymous(),
    phoneNumber({ sendOTP: ({ phoneNumber, code }) => sender.send({ phoneNumber, code }) }),
    twoFactor({ issuer: setup.totpIssuer ?? DEFAULT_TOTP_ISSUER }),
  ];
}
