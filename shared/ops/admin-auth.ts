/**
 * Who may operate rollouts: callers presenting the service-role key (what pg_cron and the CLI
 * use) or the operations admin secret, as `Authorization: Bearer <key>` or `apikey: <key>`;
 * and dashboard users holding a session cookie obtained by presenting one of those once.
 *
 * - Keys are compared in constant time (over SHA-256 digests, so lengths do not leak either).
 * - The session cookie is HMAC-signed (key derived from the configured secret), HttpOnly,
 *   SameSite=Strict, Secure on https, and expires. It carries a random CSRF token that every
 *   state-changing call made with the cookie must echo in `x-ops-csrf`.
 * - The verifier is injectable: the lead can swap in JWT verification of service_role tokens.
 */

export interface AdminPrincipal {
  /** Stable, secret-free name for audits: "service_role", "admin", or a configured label. */
  readonly id: string;
  readonly via: "key" | "session";
}

/** Resolves a presented key to a principal, or null when it is not an admin key. */
export type AdminKeyVerifier = (key: string) => Promise<AdminPrincipal | null>;

const encoder = new TextEncoder();

async function digest(value: string): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(value)));
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export interface AdminKeys {
  /** Service-role keys (legacy JWT and/or sb_secret_… keys): accepted as "service_role". */
  readonly serviceRoleKeys?: readonly (string | undefined)[];
  /** The operations admin secret (e.g. OPS_ADMIN_SECRET): accepted as "admin". */
  readonly adminSecret?: string;
}

/** The default verifier: constant-time comparison against the configured keys. */
export function adminKeyVerifier(keys: AdminKeys): AdminKeyVerifier {
  const candidates = Promise.all([
    ...(keys.serviceRoleKeys ?? []).filter((k): k is string => !!k).map(async (key) => ({
      id: "service_role",
      digest: await digest(key),
    })),
    ...(keys.adminSecret
      ? [digest(keys.adminSecret).then((d) => ({ id: "admin", digest: d }))]
      : []),
  ]);
  return async (key) => {
    const presented = await digest(key);
    let match: string | null = null;
    // Compare against every candidate (no early exit) so timing does not tell which one matched.
    for (const candidate of await candidates) {
      if (equalBytes(presented, candidate.digest) && match === null) match = candidate.id;
    }
    return match === null ? null : { id: match, via: "key" };
  };
}

/** The key a request presents: `Authorization: Bearer <key>`, else the `apikey` header. */
export function presentedKey(headers: Headers): string | null {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.get("authorization") ?? "");
  if (bearer) return bearer[1]!;
  const apikey = headers.get("apikey")?.trim();
  return apikey ? apikey : null;
}

export const SESSION_COOKIE = "ops_session";

export interface Session {
  readonly principal: AdminPrincipal;
  readonly csrf: string;
  readonly expiresAt: number;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") +
    "=".repeat((4 - (text.length % 4)) % 4);
  try {
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** Signs and checks dashboard session cookies. */
export class DashboardSessions {
  readonly #key: Promise<CryptoKey>;
  readonly #ttlMs: number;
  readonly #now: () => number;

  /** `secret`: the admin secret or service-role key; the signing key is derived from it. */
  constructor(secret: string, options: { ttlSeconds?: number; now?: () => number } = {}) {
    if (secret.length < 16) throw new RangeError("the dashboard session secret is too short");
    this.#key = digest(`edge-migrator ops dashboard session v1\u0000${secret}`).then((material) =>
      crypto.subtle.importKey("raw", material, { name: "HMAC", hash: "SHA-256" }, false, [
        "sign",
        "verify",
      ])
    );
    this.#ttlMs = (options.ttlSeconds ?? 8 * 3600) * 1000;
    this.#now = options.now ?? Date.now;
  }

  get ttlSeconds(): number {
    return Math.floor(this.#ttlMs / 1000);
  }

  async issue(principal: AdminPrincipal): Promise<{ token: string; session: Session }> {
    const session: Session = {
      principal: { id: principal.id, via: "session" },
      csrf: base64url(crypto.getRandomValues(new Uint8Array(18))),
      expiresAt: this.#now() + this.#ttlMs,
    };
    const payload = base64url(encoder.encode(JSON.stringify({
      sub: session.principal.id,
      csrf: session.csrf,
      exp: session.expiresAt,
    })));
    const signature = new Uint8Array(
      await crypto.subtle.sign("HMAC", await this.#key, encoder.encode(payload)),
    );
    return { token: `${payload}.${base64url(signature)}`, session };
  }

  async verify(token: string | undefined | null): Promise<Session | null> {
    if (!token || token.length > 2048) return null;
    const [payload, signature, extra] = token.split(".");
    if (!payload || !signature || extra !== undefined) return null;
    const sig = fromBase64url(signature);
    if (!sig) return null;
    const valid = await crypto.subtle.verify("HMAC", await this.#key, sig, encoder.encode(payload));
    if (!valid) return null;
    try {
      const bytes = fromBase64url(payload);
      if (!bytes) return null;
      const claims = JSON.parse(new TextDecoder().decode(bytes)) as {
        sub?: unknown;
        csrf?: unknown;
        exp?: unknown;
      };
      if (
        typeof claims.sub !== "string" || typeof claims.csrf !== "string" ||
        typeof claims.exp !== "number" || claims.exp <= this.#now()
      ) return null;
      return {
        principal: { id: claims.sub, via: "session" },
        csrf: claims.csrf,
        expiresAt: claims.exp,
      };
    } catch {
      return null;
    }
  }
}

/** Constant-time string equality (CSRF tokens). */
export async function sameSecret(a: string, b: string): Promise<boolean> {
  return equalBytes(await digest(a), await digest(b));
}

/** Everything the HTTP layer needs to authenticate an operator. */
export interface OpsAuth {
  readonly verifyKey: AdminKeyVerifier;
  /** Enables the dashboard's cookie sessions; without it only keys are accepted. */
  readonly sessions?: DashboardSessions;
}

export type AuthOutcome =
  | { readonly ok: true; readonly principal: AdminPrincipal; readonly session: Session | null }
  | { readonly ok: false; readonly status: 401 | 403 | 503; readonly message: string };

/** Reads a cookie value from a Cookie header. */
export function cookieValue(header: string | null, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=");
  }
  return null;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Authenticates a request: a presented key first, else the session cookie (which, for a
 * state-changing method, also needs the matching `x-ops-csrf` header).
 */
export async function authenticate(auth: OpsAuth, request: Request): Promise<AuthOutcome> {
  const key = presentedKey(request.headers);
  if (key) {
    let principal: AdminPrincipal | null;
    try {
      principal = await auth.verifyKey(key);
    } catch {
      return { ok: false, status: 503, message: "admin key verification is unavailable" };
    }
    return principal
      ? { ok: true, principal, session: null }
      : { ok: false, status: 401, message: "the key is not an admin key" };
  }
  const session = auth.sessions
    ? await auth.sessions.verify(cookieValue(request.headers.get("cookie"), SESSION_COOKIE))
    : null;
  if (!session) {
    return {
      ok: false,
      status: 401,
      message:
        "admin credentials required (Authorization: Bearer <service-role key or admin secret>)",
    };
  }
  if (!SAFE_METHODS.has(request.method)) {
    const csrf = request.headers.get("x-ops-csrf");
    if (!csrf || !(await sameSecret(csrf, session.csrf))) {
      return { ok: false, status: 403, message: "missing or wrong x-ops-csrf header" };
    }
  }
  return { ok: true, principal: session.principal, session };
}
