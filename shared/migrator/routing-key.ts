/**
 * Finds who a request is for, to route it stickily. Nothing here is verified: a forged key only
 * changes which implementation serves the forger, and both implementations do their own auth.
 *
 * Key priority: the configured header (an explicit operator choice, e.g. set by a gateway), then
 * the lower-cased email (the JSON body's `email`, else the JWT's `email` claim), then the JWT
 * `sub`. Email comes before `sub` so one user keeps one key across signup and login (which carry
 * an email in the body) and later calls (whose Supabase access token carries the email claim).
 */
import type { RoutingIdentity } from "./types.ts";

export interface RoutingKeyOptions {
  /** ROUTING_KEY_HEADER: a header whose value identifies the user. */
  readonly header?: string;
}

const MAX_KEY_LENGTH = 320;
const decoder = new TextDecoder();
const EMAIL = /^[^\s@]+@[^\s@]+$/;

export function extractRoutingIdentity(
  req: Request,
  body: Uint8Array | null,
  options: RoutingKeyOptions = {},
): RoutingIdentity {
  const fromHeader = options.header ? cleanKey(req.headers.get(options.header)) : undefined;
  const claims = bearerClaims(req.headers.get("authorization"));
  const sub = cleanKey(typeof claims?.sub === "string" ? claims.sub : undefined);
  const email = cleanEmail(bodyEmail(req, body)) ??
    cleanEmail(typeof claims?.email === "string" ? claims.email : undefined);
  const userId = fromHeader ?? sub;
  const key = fromHeader ?? email ?? sub;
  return {
    ...(key !== undefined && { key }),
    ...(email !== undefined && { email }),
    ...(userId !== undefined && { userId }),
  };
}

function cleanKey(value: string | null | undefined): string | undefined {
  const trimmed = value?.trim().toLowerCase();
  return trimmed && trimmed.length <= MAX_KEY_LENGTH ? trimmed : undefined;
}

function cleanEmail(value: string | undefined): string | undefined {
  const key = cleanKey(value);
  return key && EMAIL.test(key) ? key : undefined;
}

function bodyEmail(req: Request, body: Uint8Array | null): string | undefined {
  if (!body || body.byteLength === 0) return undefined;
  const type = req.headers.get("content-type") ?? "";
  if (!type.includes("json")) return undefined;
  try {
    const parsed: unknown = JSON.parse(decoder.decode(body));
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
      const email = (parsed as Record<string, unknown>).email;
      return typeof email === "string" ? email : undefined;
    }
  } catch {
    // Not JSON after all: the handler will answer 400; routing just has no email.
  }
  return undefined;
}

/** Decodes (does not verify) the payload of `Authorization: Bearer <jwt>`. */
export function bearerClaims(header: string | null): Record<string, unknown> | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/i.exec(
    header.trim(),
  );
  const payload = match?.[2];
  if (!payload || payload.length > 16_384) return undefined;
  try {
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(decoder.decode(bytes));
    return claims && typeof claims === "object" && !Array.isArray(claims)
      ? claims as Record<string, unknown>
      : undefined;
  } catch {
    return undefined;
  }
}
