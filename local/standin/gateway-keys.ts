/**
 * What Supabase's API gateway does with the `apikey` header before Auth or PostgREST see a
 * request, for both generations of API keys.
 *
 * The key must be one the project knows (Kong's key-auth), else 401
 * `{"message":"No API key found in request"}` / `{"message":"Invalid API key"}`. The new opaque
 * keys are then turned into something the services can verify; supabase/supabase
 * docker/volumes/api/kong-entrypoint.sh (LUA_AUTH_EXPR, the self-hosted copy of the platform's
 * gateway) sets `Authorization` to:
 *   1. the caller's own `Authorization`, unless it is absent or starts with `Bearer sb_`
 *      (a user's JWT passes through untouched);
 *   2. for `apikey: sb_secret_…`, `Bearer <service_role JWT signed by the signing key>`;
 *   3. for `apikey: sb_publishable_…`, `Bearer <anon JWT signed by the signing key>`;
 *   4. else the apikey itself (a legacy JWT key).
 * So `Authorization: Bearer sb_…` behaves as the key in `apikey` does — supabase-js sends the key
 * as a bearer when there is no session — while an sb_ key sent ONLY as a bearer has no `apikey`
 * and is refused ("No API key found in request": Supabase KB "Auth error: 401
 * UNAUTHORIZED_MISSING_API_KEY on admin endpoints").
 *
 * Secret keys are refused from browsers (Supabase docs, API keys → security reference: the
 * platform matches on the User-Agent and answers 401); the message is the platform's.
 * The new keys exist only in the `hosted` profile; `lenient` is a legacy-key project.
 */
import { type StandinKeys, verifyJwt } from "./keys.ts";

export type ApiKeyKind = "legacy" | "publishable" | "secret";

export type GatewayOutcome =
  | { readonly ok: true; readonly kind: ApiKeyKind; readonly authorization: string | null }
  | {
    readonly ok: false;
    readonly reason: "missing" | "invalid" | "secret_in_browser";
    readonly message: string;
  };

function timingSafeEqual(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  let difference = left.length ^ right.length;
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    difference |= (left[i] ?? 0) ^ (right[i] ?? 0);
  }
  return difference === 0;
}

/** A browser's User-Agent (every current browser's starts with "Mozilla/"). */
function fromBrowser(userAgent: string | null): boolean {
  return userAgent !== null && /^Mozilla\//.test(userAgent);
}

export interface GatewayOptions {
  /** Accept sb_publishable_/sb_secret_ keys (hosted profile). */
  readonly newApiKeys: boolean;
  /**
   * How a legacy key is recognised: Auth's gateway knows exactly the anon and service_role keys;
   * the REST stand-in has always taken any JWT signed with the legacy secret.
   */
  readonly legacy: "exact" | "signed";
}

/** The gateway's decision for one request: the key's kind and the Authorization to forward. */
export async function gatewayCheck(
  headers: Headers,
  url: URL,
  keys: StandinKeys,
  options: GatewayOptions,
): Promise<GatewayOutcome> {
  const apikey = headers.get("apikey") ?? url.searchParams.get("apikey");
  if (!apikey) return { ok: false, reason: "missing", message: "No API key found in request" };
  let kind: ApiKeyKind | null = null;
  if (options.newApiKeys && timingSafeEqual(apikey, keys.secretKey)) kind = "secret";
  else if (options.newApiKeys && timingSafeEqual(apikey, keys.publishableKey)) {
    kind = "publishable";
  } else if (options.legacy === "exact") {
    if (timingSafeEqual(apikey, keys.anonKey) || timingSafeEqual(apikey, keys.serviceRoleKey)) {
      kind = "legacy";
    }
  } else if (await verifyJwt(apikey, keys.jwtSecret)) {
    kind = "legacy";
  }
  if (!kind) return { ok: false, reason: "invalid", message: "Invalid API key" };
  if (kind === "secret" && fromBrowser(headers.get("user-agent"))) {
    return {
      ok: false,
      reason: "secret_in_browser",
      message: "Forbidden use of secret API key in browser",
    };
  }
  const presented = headers.get("authorization");
  if (presented !== null && !presented.startsWith("Bearer sb_")) {
    return { ok: true, kind, authorization: presented };
  }
  if (kind === "secret") {
    return { ok: true, kind, authorization: `Bearer ${keys.internalServiceRoleJwt}` };
  }
  if (kind === "publishable") {
    return { ok: true, kind, authorization: `Bearer ${keys.internalAnonJwt}` };
  }
  // A legacy key: Kong forwards the key itself; without any Authorization the services fall
  // back to the apikey (REST) or need none (Auth's public endpoints).
  return { ok: true, kind, authorization: presented === null ? null : `Bearer ${apikey}` };
}
