/**
 * Client identity: the caller's IP address as the trusted proxies in front of the function saw it.
 *
 * Each proxy appends the address it received the request from to `X-Forwarded-For`, so only the
 * last `trustedHops` entries were written by proxies we trust; everything to their left (the
 * first entry in particular) is whatever the client chose to send. The client's address is
 * therefore the entry `trustedHops` from the right, never the first one: a client that sends
 * `X-Forwarded-For: 1.2.3.4` to pose as someone else only adds an entry left of it.
 *
 * Defaults, and why: Supabase puts its API gateway (Kong) in front of Edge Functions; Kong (as
 * nginx's `$proxy_add_x_forwarded_for`) appends the peer address to any `X-Forwarded-For` the
 * client sent, so one trusted hop is the gateway's own entry. Supabase does not publish a
 * stronger contract for hosted Edge Functions (github.com/orgs/supabase/discussions/52040 asks
 * for it and has no maintainer answer), and Supabase Auth itself moved to its own
 * `Sb-Forwarded-For` header because "X-Forwarded-For can be (and frequently is) rewritten by
 * proxies or otherwise spoofed" (supabase/auth#2295, GOTRUE_SECURITY_SB_FORWARDED_FOR_ENABLED).
 * A project behind one more proxy (its own CDN) sets CLIENT_IP_TRUSTED_HOPS=2; a project whose
 * edge sets a single-value header it overwrites (e.g. `cf-connecting-ip`) names it in
 * CLIENT_IP_HEADER. Counting too few hops yields a proxy's address (stricter limits, never a
 * spoofed one); counting too many would trust the client, so the default is the smallest.
 *
 * A header with fewer entries than trusted hops did not pass through every trusted proxy, and a
 * value that is not an IP address is no identity: both give `undefined` (no per-IP bucket).
 */

export interface ClientIpSettings {
  /** Lower-case header name (default `x-forwarded-for`). */
  readonly header: string;
  /** Proxies we trust that each append one entry (default 1). */
  readonly trustedHops: number;
}

export const DEFAULT_CLIENT_IP_SETTINGS: ClientIpSettings = {
  header: "x-forwarded-for",
  trustedHops: 1,
};

let processSettings: ClientIpSettings = DEFAULT_CLIENT_IP_SETTINGS;

/** Sets the process-wide settings from the environment (done once at function start-up). */
export function configureClientIp(
  env: { readonly CLIENT_IP_HEADER?: string; readonly CLIENT_IP_TRUSTED_HOPS?: number },
): ClientIpSettings {
  processSettings = {
    header: (env.CLIENT_IP_HEADER ?? DEFAULT_CLIENT_IP_SETTINGS.header).toLowerCase(),
    trustedHops: env.CLIENT_IP_TRUSTED_HOPS ?? DEFAULT_CLIENT_IP_SETTINGS.trustedHops,
  };
  return processSettings;
}

/** The client's IP address by the trusted-hop rule, or undefined when there is none. */
export function clientIpFrom(
  headers: Headers,
  settings: ClientIpSettings = processSettings,
): string | undefined {
  const raw = headers.get(settings.header);
  if (!raw) return undefined;
  // Repeated headers arrive joined with ", ", in order: the same list.
  const entries = raw.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "");
  const hops = Math.max(1, Math.floor(settings.trustedHops));
  if (entries.length < hops) return undefined;
  return normaliseIp(entries[entries.length - hops]!);
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** The address without a port or brackets when it is a valid IPv4/IPv6 address; else undefined. */
export function normaliseIp(value: string): string | undefined {
  let candidate = value.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(candidate);
  if (bracketed) candidate = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(candidate)) candidate = candidate.slice(0, candidate.indexOf(":"));
  if (IPV4.test(candidate)) return candidate;
  if (!/^[0-9a-fA-F:.]+$/.test(candidate) || !candidate.includes(":")) return undefined;
  try {
    // The WHATWG URL parser validates IPv6 literals exactly (and writes them in canonical form).
    return new URL(`http://[${candidate}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}
