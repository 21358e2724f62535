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
import { importEs256SigningJwk, type PublicJwk } from "./jwt.ts";
import { AccessTokenSigningToken, AccessTokenVerifierToken } from "./tokens.ts";

export interface AccessTokenOptions {
  /** The Supabase project's legacy JWT secret (the stand-in's keys.jwtSecret locally). */
  readonly supabaseJwtSecret?: string;
  /** The project's signing keys; default: fetched from SUPABASE_URL/auth/v1/.well-known/jwks.json. */
  readonly supabaseJwks?: readonly PublicJwk[];
  /** HS256 secret for Better Auth access tokens (default: derived from BETTER_AUTH_SECRET). */
  readonly accessTokenSecret?: string;
  /**
   * A private EC P-256 JWK (object or JSON) to sign Better Auth tokens ES256; default
   * ACCESS_TOKEN_SIGNING_JWK when ACCESS_TOKEN_SIGNING is es256 (or unset with the JWK set).
   */
  readonly accessTokenSigningJwk?: JsonWebKey | string;
  readonly accessTokenIssuer?: string;
  readonly accessTokenTtlSeconds?: number;
}

export function registerAccessTokens(
  container: Container,
  options: AccessTokenOptions = {},
): Container {
  container.register(AccessTokenSigningToken, async (c): Promise<AccessTokenSigning> => {
    const { env } = await c.get(ConfigToken);
    // ACCESS_TOKEN_SIGNING (env.ts): es256 by default when a JWK is configured.
    const jwk = options.accessTokenSigningJwk ?? env.ACCESS_TOKEN_SIGNING_JWK;
    const mode = env.ACCESS_TOKEN_SIGNING ?? (jwk ? "es256" : "hs256");
    const secret = options.accessTokenSecret ??
      (mode === "hs256-project" ? env.PROJECT_JWT_SECRET : undefined) ??
      (env.BETTER_AUTH_SECRET ? await deriveAccessTokenSecret(env.BETTER_AUTH_SECRET) : undefined);
    if (!secret && mode !== "es256") {
      throw new Error("BETTER_AUTH_SECRET (or an access token secret) is required");
    }
    let es256: AccessTokenSigning["es256"];
    if (mode === "es256") {
      if (!jwk) throw new Error("ACCESS_TOKEN_SIGNING_JWK is required for ES256 access tokens");
      try {
        es256 = await importEs256SigningJwk(jwk);
      } catch (error) {
        throw new Error(`ACCESS_TOKEN_SIGNING_JWK: ${(error as Error).message}`);
      }
    }
    return {
      // ES256 without BETTER_AUTH_SECRET (a verify-only function): an unguessable HS256 key, so
      // no HS256 token can claim our issuer.
      secret: secret ?? crypto.randomUUID(),
      issuer: options.accessTokenIssuer ?? DEFAULT_BETTER_AUTH_ISSUER,
      ttlSeconds: options.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
      ...(es256 ? { es256 } : {}),
    };
  });

  container.register(AccessTokenVerifierToken, async (c): Promise<AccessTokenVerifierConfig> => {
    const config = await c.get(ConfigToken);
    const { url, anonKey } = config.supabase;
    const signing = config.env.BETTER_AUTH_SECRET || options.accessTokenSecret ||
        options.accessTokenSigningJwk || config.env.ACCESS_TOKEN_SIGNING_JWK
      ? await c.get(AccessTokenSigningToken)
      : null;
    // Our ES256 tokens are verified by our own public key (the coordinator needs no network call
    // for them); HS256 ones by the secret.
    const betterAuth = signing
      ? {
        secret: signing.secret,
        issuer: signing.issuer,
        publicKeys: signing.es256 ? [signing.es256.publicJwk] : [],
      }
      : null;
    const probe = url && anonKey
      ? createClient(url, anonKey, { auth: { persistSession: false, autoRefreshToken: false } })
      : null;
    const jwks = options.supabaseJwks;
    return {
      // Without Better Auth configured no token can carry its issuer; an unguessable secret
      // makes sure none is ever accepted.
      betterAuth: betterAuth ?? { secret: crypto.randomUUID(), issuer: DEFAULT_BETTER_AUTH_ISSUER },
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
