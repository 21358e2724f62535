/**
 * Supabase TOTP factors → Better Auth two-factor records, so the codes of a user's existing
 * authenticator app keep working after the move.
 *
 * - Supabase: GoTrue enrols a TOTP factor with pquerna/otp's `totp.Generate` (RFC 6238: HMAC-SHA1,
 *   6 digits, 30 s) and stores `key.Secret()` — the key as unpadded RFC 4648 base32 — in
 *   auth.mfa_factors.secret (supabase/auth internal/api/mfa.go enrollTOTPFactor,
 *   internal/models/factor.go SetSecret). With GOTRUE_SECURITY_DB_ENCRYPTION on, the column
 *   holds a JSON envelope (internal/crypto/crypto.go EncryptedString) that only GoTrue's key
 *   opens: such factors cannot be carried and their users are refused, never migrated without
 *   their second factor.
 * - Better Auth: the two-factor plugin keeps `twoFactor.secret` encrypted with the auth secret
 *   (`symmetricEncrypt`, XChaCha20-Poly1305 under SHA-256(BETTER_AUTH_SECRET); better-auth
 *   src/crypto/index.ts) and verifies with `createOTP(secret).verify` from @better-auth/utils/otp
 *   (HMAC-SHA1, 6 digits, 30 s, ±1 step). A decrypted secret of the form `base32:<secret>` is
 *   base32-decoded first — "secrets imported from other providers" (better-auth
 *   src/plugins/two-factor/totp/index.ts decryptTOTPSecret) — so the HMAC key is the same bytes
 *   GoTrue's authenticator URI gave the app.
 * - Backup codes: Supabase has none; the record gets an encrypted empty list (the plugin parses
 *   it as JSON), so no backup code works until the user generates new ones. The empty list is
 *   encrypted once per call and that ciphertext given to every record of it: it hides nothing
 *   (every carried user has the same empty list, and says so by having no codes), a nonce is
 *   never used for a second plaintext, and it halves the encryption work of a batch (each
 *   symmetricEncrypt hashes the secret and runs XChaCha20-Poly1305 in JavaScript: ~0.1 ms).
 */
import { symmetricEncrypt } from "better-auth/crypto";

/** Prefix Better Auth's TOTP verifier base32-decodes (two-factor/totp/index.ts). */
export const BETTER_AUTH_BASE32_PREFIX = "base32:";

/** RFC 4648 base32 as GoTrue stores it (no padding); an encrypted envelope is JSON. */
export function isPlainTotpSecret(secret: string | null | undefined): secret is string {
  return typeof secret === "string" && /^[A-Z2-7]+=*$/i.test(secret);
}

export interface TwoFactorRecord {
  readonly user_id: string;
  readonly secret: string;
  readonly backup_codes: string;
}

/** Encrypts Supabase TOTP secrets the way Better Auth's two-factor plugin stores them. */
export class TotpCarrier {
  constructor(private readonly betterAuthSecret: string) {}

  async records(
    factors: readonly { user_id: string; secret: string }[],
  ): Promise<TwoFactorRecord[]> {
    if (factors.length === 0) return [];
    const noBackupCodes = await symmetricEncrypt({ key: this.betterAuthSecret, data: "[]" });
    return await Promise.all(factors.map(async (factor) => ({
      user_id: factor.user_id,
      secret: await symmetricEncrypt({
        key: this.betterAuthSecret,
        data: `${BETTER_AUTH_BASE32_PREFIX}${factor.secret.toUpperCase()}`,
      }),
      backup_codes: noBackupCodes,
    })));
  }
}
