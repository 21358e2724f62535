/**
 * GET /login/.well-known/jwks.json: the public key that verifies Better Auth-path access tokens,
 * for anyone who verifies them without calling us (another service, a third-party-auth setup, an
 * operator checking that the key imported into Supabase is this one). Same body and caching as
 * GoTrue's own endpoint (supabase/auth internal/api/jwks.go WellKnownJwks: `{"keys":[...]}`,
 * public keys only — an HS256 deployment answers `{"keys":[]}` — and
 * `Cache-Control: public, max-age=600`).
 */
import { type AccessTokenSigning, jwksOf } from "./access-tokens.ts";

export function jwksResponse(signing: Pick<AccessTokenSigning, "es256">): Response {
  return new Response(JSON.stringify(jwksOf(signing)), {
    status: 200,
    headers: {
      "Content-Type": "application/json",
      "Cache-Control": "public, max-age=600",
    },
  });
}
