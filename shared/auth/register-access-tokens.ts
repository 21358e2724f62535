/**
 * The access-token services alone: signing Better Auth logins' access tokens and verifying tokens
 * from either auth path. Split from register.ts so a function that only verifies tokens (the
 * coordinator) registers these without importing Better Auth into its deployed module graph.
 */
import { createClient } from "@supabase/supabase-js";
import type { Container } from "../di/container.ts";
import { ConfigToken } from "../di/tokens.ts";
import {
  type AccessTokenSigning,
  type AccessTokenVerifierConfig,
  DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
  DEFAULT_BETTER_AUTH_ISSUER,
  deriveAccessTokenSecret,
  remoteJwks,
} from "./access-tokens.ts";
import type { PublicJwk } from "./jwt.ts";
import { AccessTokenSigningToken, AccessTokenVerifierToken } from "./tokens.ts";

export interface AccessTokenOptions {
  /** The Supabase project's legacy JWT secret (the stand-in's keys.jwtSecret locally). */
  readonly supabaseJwtSecret?: string;
  /** The project's signing keys; default: fetched from SUPABASE_URL/auth/v1/.well-known/jwks.json. */
  readonly supabaseJwks?: readonly PublicJwk[];
  /** HS256 secret for Better Auth access tokens (default: derived from BETTER_AUTH_SECRET). */
  readonly accessTokenSecret?: string;
  readonly accessTokenIssuer?: string;
  readonly accessTokenTtlSeconds?: number;
}

export function registerAccessTokens(
  container: Container,
  options: AccessTokenOptions = {},
): Container {
  container.register(AccessTokenSigningToken, async (c): Promise<AccessTokenSigning> => {
    const { env } = await c.get(ConfigToken);
    const secret = options.accessTokenSecret ??
      (env.BETTER_AUTH_SECRET ? await deriveAccessTokenSecret(env.BETTER_AUTH_SECRET) : undefined);
    if (!secret) throw new Error("BETTER_AUTH_SECRET (or an access token secret) is required");
    return {
      secret,
      issuer: options.accessTokenIssuer ?? DEFAULT_BETTER_AUTH_ISSUER,
      ttlSeconds: options.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
    };
  });

  container.register(AccessTokenVerifierToken, async (c): Promise<AccessTokenVerifierConfig> => {
    const config = await c.get(ConfigToken);
    const { url, anonKey } = config.supabase;
    const signing = config.env.BETTER_AUTH_SECRET || options.accessTokenSecret
      ? await c.get(AccessTokenSigningToken)
      : null;
    const probe = url && anonKey
      ? createClient(url, anonKey, { auth: { persistSession: false, autoRefreshToken: false } })
      : null;
    const jwks = options.supabaseJwks;
    return {
      // Without Better Auth configured no token can carry its issuer; an unguessable secret
      // makes sure none is ever accepted.
      betterAuth: signing ?? { secret: crypto.randomUUID(), issuer: DEFAULT_BETTER_AUTH_ISSUER },
      supabase: {
        jwtSecret: options.supabaseJwtSecret,
        jwks: jwks
          ? () => Promise.resolve(jwks)
          : url
          ? remoteJwks(`${url}/auth/v1/.well-known/jwks.json`)
          : undefined,
        getUser: probe
          ? async (token) => {
            const { data, error } = await probe.auth.getUser(token);
            if (error) {
              if ((error.status ?? 500) >= 500 || error.status === 0) throw error;
              return null;
            }
            return { id: data.user.id, email: data.user.email };
          }
          : undefined,
      },
    };
  });
  return container;
}
