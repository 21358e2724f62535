/**
 * HS256 JWTs for the stand-in's access tokens. Verification reports WHY a token was refused in
 * golang-jwt's words, because GoTrue puts that reason into its 403 `bad_jwt` message
 * ("invalid JWT: unable to parse or verify signature, token has invalid claims: token is expired").
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    keyCache.set(secret, key);
  }
  return key;
}

function base64UrlEncode(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function base64UrlDecode(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  try {
    return Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}

export type JwtPayload = Record<string, unknown>;

export async function signHs256(payload: JwtPayload, secret: string): Promise<string> {
  const header = base64UrlEncode(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const body = base64UrlEncode(encoder.encode(JSON.stringify(payload)));
  const signingInput = `${header}.${body}`;
  const signature = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(secret),
    encoder.encode(signingInput),
  );
  return `${signingInput}.${base64UrlEncode(new Uint8Array(signature))}`;
}

export type JwtVerification =
  | { readonly ok: true; readonly claims: JwtPayload }
  | { readonly ok: false; readonly reason: string };

function parseJsonSegment(segment: string): JwtPayload | null {
  const bytes = base64UrlDecode(segment);
  if (!bytes) return null;
  try {
    const value: unknown = JSON.parse(decoder.decode(bytes));
    return value && typeof value === "object" && !Array.isArray(value) ? value as JwtPayload : null;
  } catch {
    return null;
  }
}

/** Verifies signature (HS256 only) and the time claims exp / nbf / iat against `nowSeconds`. */
export async function verifyHs256(
  token: string,
  secret: string,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): Promise<JwtVerification> {
  const parts = token.split(".");
  if (parts.length !== 3) {
    return {
      ok: false,
      reason: "token is malformed: token contains an invalid number of segments",
    };
  }
  const [headerSegment, payloadSegment, signatureSegment] = parts as [string, string, string];
  const header = parseJsonSegment(headerSegment);
  const claims = parseJsonSegment(payloadSegment);
  const signature = base64UrlDecode(signatureSegment);
  if (!header || !claims || !signature) {
    return { ok: false, reason: "token is malformed: could not base64 decode or JSON parse" };
  }
  if (header.alg !== "HS256") {
    return {
      ok: false,
      reason: `token is unverifiable: signing method ${String(header.alg)} is invalid`,
    };
  }
  const valid = await crypto.subtle.verify(
    "HMAC",
    await hmacKey(secret),
    signature,
    encoder.encode(`${headerSegment}.${payloadSegment}`),
  );
  if (!valid) return { ok: false, reason: "token signature is invalid: signature is invalid" };
  if (typeof claims.exp === "number" && nowSeconds >= claims.exp) {
    return { ok: false, reason: "token has invalid claims: token is expired" };
  }
  if (typeof claims.nbf === "number" && nowSeconds < claims.nbf) {
    return { ok: false, reason: "token has invalid claims: token is not valid yet" };
  }
  if (typeof claims.iat === "number" && nowSeconds < claims.iat - 60) {
    return { ok: false, reason: "token has invalid claims: token used before issued" };
  }
  return { ok: true, claims };
}
