/**
 * Server-side calls to Supabase Auth carry the end user's IP, so GoTrue's per-IP limits see one
 * bucket per client instead of one for the function's egress address.
 *
 * Which header: supabase/auth keys its limits (internal/api/middleware.go performRateLimiting)
 * 1. on `Sb-Forwarded-For` when GOTRUE_SECURITY_SB_FORWARDED_FOR_ENABLED (internal/sbff/sbff.go;
 *    supabase/auth#2295 added it for exactly this, because proxies rewrite X-Forwarded-For), its
 *    first value if it is a valid IP;
 * 2. else on the first value of GOTRUE_RATE_LIMIT_HEADER, `X-Forwarded-For` in Supabase's own
 *    configuration (internal/reloader/testdata/50_example.env).
 * We send both with the same single address: whichever the project honours names the client.
 *
 * How: one supabase-js client per instance (creating one per request costs — see README), whose
 * fetch reads the address from an AsyncLocalStorage scope opened per request by `withClientIp`.
 * Only a well-formed IP is forwarded (GoTrue ignores anything else for Sb-Forwarded-For, and a
 * junk value must not become a rate-limit key either).
 */
import { AsyncLocalStorage } from "node:async_hooks";

export const SB_FORWARDED_FOR = "Sb-Forwarded-For";
export const X_FORWARDED_FOR = "X-Forwarded-For";

const scope = new AsyncLocalStorage<string>();

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** A bare IPv4 or IPv6 address (no port, no list); anything else is not forwarded. */
export function isIpAddress(candidate: string): boolean {
  if (IPV4.test(candidate)) return true;
  if (!candidate.includes(":") || !/^[0-9a-fA-F:.]+$/.test(candidate)) return false;
  try {
    new URL(`http://[${candidate}]/`);
    return true;
  } catch {
    return false;
  }
}

/** Runs `fn` so that every Auth request it makes names `ip` as the client. */
export function withClientIp<T>(ip: string | undefined, fn: () => Promise<T>): Promise<T> {
  const address = ip?.trim();
  return address && isIpAddress(address) ? scope.run(address, fn) : fn();
}

/** The client address of the current scope, if any. */
export function currentClientIp(): string | undefined {
  return scope.getStore();
}

/** Wraps a fetch so requests made inside `withClientIp` carry the client's address. */
export function forwardingClientIp(base: typeof fetch): typeof fetch {
  return (input, init) => {
    const ip = scope.getStore();
    if (!ip) return base(input, init);
    const headers = new Headers(
      init?.headers ?? (input instanceof Request ? input.headers : undefined),
    );
    headers.set(SB_FORWARDED_FOR, ip);
    headers.set(X_FORWARDED_FOR, ip);
    return base(input, { ...init, headers });
  };
}
