/**
 * The coordinator's auth seam. Routes take a `VerifyToken`: a user access token (from either auth
 * system) -> its user id, or null when the token is not acceptable. This adapts the suite's one
 * verifier (shared/auth verifyAccessToken) to it: an invalid token is null (401); any other
 * failure, e.g. the JWKS being unreachable, propagates (503), because "cannot check" is not
 * "invalid".
 */
import { type AccessTokenVerifierConfig, verifyAccessToken } from "../auth/access-tokens.ts";
import { AuthError } from "../auth/errors.ts";

export type VerifyToken = (accessToken: string) => Promise<{ userId: string } | null>;

export function verifyTokenWith(config: AccessTokenVerifierConfig): VerifyToken {
  return async (accessToken) => {
    try {
      const verified = await verifyAccessToken(accessToken, config);
      return { userId: verified.userId };
    } catch (error) {
      if (error instanceof AuthError && error.code === "invalid_token") return null;
      throw error;
    }
  };
}
