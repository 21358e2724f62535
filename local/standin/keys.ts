/**
 * API keys and JWTs of the local Supabase stand-in. As on Supabase (legacy keys), the anon and
 * service-role keys are HS256 JWTs signed with the project's JWT secret, and user access tokens
 * are signed with the same secret.
 */
import { sign, verify } from "hono/jwt";

/** The secret `supabase start` uses locally; only ever for the local stand-in. */
export const DEFAULT_LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";

export type StandinRole = "anon" | "authenticated" | "service_role";

export interface StandinKeys {
  readonly jwtSecret: string;
  readonly anonKey: string;
  readonly serviceRoleKey: string;
}

export type JwtClaims = Record<string, unknown> & {
  role?: string;
  sub?: string;
  exp?: number;
  iat?: number;
};

const TEN_YEARS_S = 10 * 365 * 24 * 3600;

/** Derives the anon and service-role keys for a secret (deterministic for a fixed `issuedAt`). */
export async function createStandinKeys(
  jwtSecret: string = DEFAULT_LOCAL_JWT_SECRET,
  issuedAt = 1_700_000_000,
): Promise<StandinKeys> {
  const base = { iss: "supabase-demo", iat: issuedAt, exp: issuedAt + TEN_YEARS_S };
  return {
    jwtSecret,
    anonKey: await sign({ ...base, role: "anon" }, jwtSecret, "HS256"),
    serviceRoleKey: await sign({ ...base, role: "service_role" }, jwtSecret, "HS256"),
  };
}

/** Verifies an HS256 token (signature and exp); null when invalid or expired. */
export async function verifyJwt(token: string, jwtSecret: string): Promise<JwtClaims | null> {
  try {
    return await verify(token, jwtSecret, "HS256") as JwtClaims;
  } catch {
    return null;
  }
}
