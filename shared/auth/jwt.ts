/**
 * Minimal JWT over WebCrypto: HS256 signing, and verification of HS256 (legacy Supabase secret,
 * our Better Auth tokens) and ES256 / RS256 (Supabase's asymmetric signing keys from its JWKS).
 * The algorithm is never taken on trust from the token: the caller says which key it expects,
 * and the key's own type decides the algorithm, so "alg: none" or HS/RS confusion cannot pass.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export type JwtClaims = Record<string, unknown>;

export interface DecodedJwt {
  readonly header: JwtClaims;
  readonly claims: JwtClaims;
  readonly signingInput: Uint8Array;
  readonly signature: Uint8Array;
}

export function base64UrlEncode(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function base64UrlDecode(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  try {
    return Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}

function jsonSegment(segment: string): JwtClaims | null {
  const bytes = base64UrlDecode(segment);
  if (!bytes) return null;
  try {
    const value: unknown = JSON.parse(decoder.decode(bytes));
    return value && typeof value === "object" && !Array.isArray(value) ? value as JwtClaims : null;
  } catch {
    return null;
  }
}

/** Splits and parses a compact JWT WITHOUT verifying it; null when malformed. */
export function decodeJwt(token: string): DecodedJwt | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  const [headerPart, claimsPart, signaturePart] = parts as [string, string, string];
  const header = jsonSegment(headerPart);
  const claims = jsonSegment(claimsPart);
  const signature = base64UrlDecode(signaturePart);
  if (!header || !claims || !signature) return null;
  return { header, claims, signature, signingInput: encoder.encode(`${headerPart}.${claimsPart}`) };
}

const hmacKeys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    hmacKeys.set(secret, key);
  }
  return key;
}

export async function signHs256(claims: JwtClaims, secret: string): Promise<string> {
  const header = base64UrlEncode(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const body = base64UrlEncode(encoder.encode(JSON.stringify(claims)));
  const input = `${header}.${body}`;
  const signature = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(input));
  return `${input}.${base64UrlEncode(new Uint8Array(signature))}`;
}

/** True when the signature is a valid HS256 MAC under `secret` (and the header says HS256). */
export async function verifyHs256Signature(jwt: DecodedJwt, secret: string): Promise<boolean> {
  if (jwt.header.alg !== "HS256") return false;
  return await crypto.subtle.verify(
    "HMAC",
    await hmacKey(secret),
    jwt.signature as BufferSource,
    jwt.signingInput as BufferSource,
  );
}

export interface PublicJwk extends JsonWebKey {
  readonly kid?: string;
}

/** The algorithm a JWK can verify, from the key itself. */
function algorithmFor(jwk: PublicJwk): "ES256" | "RS256" | null {
  if (jwk.kty === "EC" && jwk.crv === "P-256") return "ES256";
  if (jwk.kty === "RSA") return "RS256";
  return null;
}

const publicKeys = new Map<string, Promise<CryptoKey>>();

function importPublicKey(jwk: PublicJwk, alg: "ES256" | "RS256"): Promise<CryptoKey> {
  const cacheKey = `${alg}:${jwk.kid ?? ""}:${jwk.x ?? jwk.n ?? ""}`;
  let key = publicKeys.get(cacheKey);
  if (!key) {
    const { kty, crv, x, y, n, e } = jwk;
    const params = alg === "ES256"
      ? { name: "ECDSA", namedCurve: "P-256" }
      : { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    key = crypto.subtle.importKey("jwk", { kty, crv, x, y, n, e }, params, false, ["verify"]);
    publicKeys.set(cacheKey, key);
  }
  return key;
}

/** Verifies an ES256 / RS256 signature with the JWKS key named by the token's `kid`. */
export async function verifyWithJwks(
  jwt: DecodedJwt,
  keys: readonly PublicJwk[],
): Promise<boolean> {
  const kid = jwt.header.kid;
  const candidates = typeof kid === "string" ? keys.filter((key) => key.kid === kid) : keys;
  for (const jwk of candidates) {
    const alg = algorithmFor(jwk);
    if (!alg || jwt.header.alg !== alg) continue;
    try {
      const key = await importPublicKey(jwk, alg);
      const params = alg === "ES256"
        ? { name: "ECDSA", hash: "SHA-256" }
        : { name: "RSASSA-PKCS1-v1_5" };
      if (
        await crypto.subtle.verify(
          params,
          key,
          jwt.signature as BufferSource,
          jwt.signingInput as BufferSource,
        )
      ) return true;
    } catch {
      continue;
    }
  }
  return false;
}

/** exp / nbf / iat against now, with a little clock skew. Returns the reason, or null if valid. */
export function checkTimeClaims(
  claims: JwtClaims,
  nowSeconds: number,
  skewSeconds = 30,
): string | null {
  if (typeof claims.exp !== "number") return "token has no expiry";
  if (nowSeconds >= claims.exp + skewSeconds) return "token is expired";
  if (typeof claims.nbf === "number" && nowSeconds + skewSeconds < claims.nbf) {
    return "token is not valid yet";
  }
  if (typeof claims.iat === "number" && nowSeconds + skewSeconds < claims.iat) {
    return "token used before issued";
  }
  return null;
}
