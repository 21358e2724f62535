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
 *   never used for a second plaintext, and it halves the encryption work of a batch.
 * - The cipher: Better Auth's `symmetricEncrypt` with a string key (better-auth
 *   src/crypto/index.ts rawEncrypt) is `bytesToHex(managedNonce(xchacha20poly1305)(SHA-256(key))
 *   .encrypt(utf8(data)))` from @noble/ciphers — the same library and composition are used here,
 *   with the key hashed once per carrier instead of once per record: the batch's only
 *   JavaScript-side work per user was this call (≈70 µs, of which the per-call hashing and
 *   promise ≈45 µs). Better Auth's own `symmetricDecrypt` opens these records
 *   (tests/shared/batch/mfa.test.ts), and the TOTP login test signs in with them.
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { bytesToHex, managedNonce, utf8ToBytes } from "@noble/ciphers/utils.js";

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
  #key: Promise<Uint8Array> | undefined;

  constructor(private readonly betterAuthSecret: string) {}

  async records(
    factors: readonly { user_id: string; secret: string }[],
  ): Promise<TwoFactorRecord[]> {
    if (factors.length === 0) return [];
    // A fresh random 24-byte nonce per encryption (managedNonce), as symmetricEncrypt does.
    const cipher = managedNonce(xchacha20poly1305)(await this.#cipherKey());
    const encrypt = (data: string) => bytesToHex(cipher.encrypt(utf8ToBytes(data)));
    const noBackupCodes = encrypt("[]");
    return factors.map((factor) => ({
      user_id: factor.user_id,
      secret: encrypt(`${BETTER_AUTH_BASE32_PREFIX}${factor.secret.toUpperCase()}`),
      backup_codes: noBackupCodes,
    }));
  }

  /** SHA-256 of the secret's UTF-8 bytes: Better Auth's key for a string secret. */
  #cipherKey(): Promise<Uint8Array> {
    this.#key ??= crypto.subtle.digest("SHA-256", new TextEncoder().encode(this.betterAuthSecret))
      .then((digest) => new Uint8Array(digest));
    return this.#key;
  }
}
