/**
 * Which Supabase the stand-in imitates.
 *
 * - `hosted`: a new project on supabase.com with its defaults, where the originals run in
 *   production — "Confirm email" on, per-IP rate limits on /token and /signup, admin createUser
 *   answering 500 on a duplicate id, listUsers without a tiebreaker or per_page cap, PostgREST
 *   `db-max-rows` 1000, JWT signing keys (GoTrue signs ES256 and publishes its JWKS; PostgREST
 *   verifies by that JWKS) and the `sb_publishable_…` / `sb_secret_…` API keys (keys.ts,
 *   gateway-keys.ts). The end-to-end suite runs on it.
 * - `lenient`: `supabase start`'s local defaults (autoconfirm, no rate-limit header, a stable
 *   listUsers order, the legacy HS256 JWT secret and JWT API keys only): friendlier for the demo
 *   (`npm run dev`, tokens readable with the printed secret), never a proof of production.
 *
 * Each setting is looked up in the real sources; see the comments where they are applied
 * (local/standin/auth/*, local/standin/rest/rest-api.ts).
 */
export type StandinProfile = "hosted" | "lenient";

export const STANDIN_PROFILES: readonly StandinProfile[] = ["hosted", "lenient"];

/**
 * GoTrue's per-IP token buckets (tollbooth): `ratePerSecond` refills, `burst` is the capacity.
 * supabase/auth internal/api/apilimiter/apilimiter.go:
 *   Token:   tollbooth.NewLimiter(RateLimitTokenRefresh/(60*5)).SetBurst(30), default 150 → 0.5/s
 *   Signups: newLimiterPer5mOver1h(RateLimitOtp) = rate/(60*5), burst 30, default 30 → 0.1/s
 * (defaults from internal/conf/configuration.go: RateLimitTokenRefresh 150, RateLimitOtp 30).
 */
export interface BucketSettings {
  readonly ratePerSecond: number;
  readonly burst: number;
}

export interface RateLimitSettings {
  readonly token: BucketSettings;
  readonly signup: BucketSettings;
}

export const GOTRUE_DEFAULT_RATE_LIMITS: RateLimitSettings = {
  token: { ratePerSecond: 150 / (60 * 5), burst: 30 },
  signup: { ratePerSecond: 30 / (60 * 5), burst: 30 },
};

/** PostgREST's db-max-rows as hosted Supabase configures it (Settings → API → Max rows). */
export const HOSTED_DB_MAX_ROWS = 1000;

export function parseStandinProfile(raw: string | undefined): StandinProfile {
  const value = (raw ?? "").trim().toLowerCase();
  if (value === "hosted" || value === "lenient") return value;
  throw new Error(`unknown stand-in profile "${raw}" (expected hosted or lenient)`);
}
