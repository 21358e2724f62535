/**
 * How every function of the suite authenticates a user: the bearer token from either auth system
 * (Supabase's, or ours for a Better Auth login), verified by verifyAccessToken.
 *
 *   app.use("/coordinator/*", requireUser(await container.get(AccessTokenVerifierToken)));
 *   app.get("/coordinator/me", (c) => c.json({ id: c.get("authUser").userId }));
 */
import type { MiddlewareHandler } from "hono";
import {
  type AccessTokenVerifierConfig,
  type VerifiedAccessToken,
  verifyAccessToken,
} from "./access-tokens.ts";
import { AuthError, invalidToken } from "./errors.ts";

export interface AuthUserVariables {
  readonly authUser: VerifiedAccessToken;
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(request: Request): string | null {
  const header = request.headers.get("authorization");
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match ? match[1]! : null;
}

/** Verifies the request's bearer token; the AuthError (401 invalid_token, 503) when it fails. */
export async function authenticate(
  request: Request,
  config: AccessTokenVerifierConfig,
): Promise<VerifiedAccessToken> {
  const token = bearerToken(request);
  if (!token) throw invalidToken("Missing bearer token");
  return await verifyAccessToken(token, config);
}

/** Hono middleware: 401 without a valid user token; sets `authUser` otherwise. */
export function requireUser(
  config: AccessTokenVerifierConfig,
): MiddlewareHandler<{ Variables: AuthUserVariables }> {
  return async (c, next) => {
    let user: VerifiedAccessToken;
    try {
      user = await authenticate(c.req.raw, config);
    } catch (error) {
      const authError = error instanceof AuthError ? error : invalidToken();
      const response = authError.toResponse();
      if (authError.code === "invalid_token") {
        response.headers.set("WWW-Authenticate", 'Bearer error="invalid_token"');
      }
      return response;
    }
    c.set("authUser", user);
    await next();
  };
}
