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

/**
 * An ES256 signing key from a private JWK (EC P-256 with `d` and a `kid`), the format Supabase's
 * signing-keys page imports and `supabase gen signing-key --algorithm ES256` prints. The public
 * half is published the way GoTrue publishes its keys (supabase/auth internal/conf/jwk.go
 * decodePublicKey: `use: "sig"`, `key_ops: ["verify"]`, private members removed).
 */
export interface Es256SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: PublicJwk;
}

/** Parses and imports a private EC P-256 JWK; throws a message naming the problem (never the key). */
export async function importEs256SigningJwk(json: string | JsonWebKey): Promise<Es256SigningKey> {
  let jwk: JsonWebKey & { kid?: unknown };
  try {
    jwk = typeof json === "string" ? JSON.parse(json) : json;
  } catch {
    throw new Error("the signing key is not valid JSON (expected a private JWK)");
  }
  if (!jwk || typeof jwk !== "object" || Array.isArray(jwk)) {
    throw new Error("the signing key must be a JSON object (a private JWK)");
  }
  if (jwk.kty !== "EC" || jwk.crv !== "P-256") {
    throw new Error('the signing key must be an EC P-256 JWK ("kty":"EC","crv":"P-256") for ES256');
  }
  if (jwk.alg !== undefined && jwk.alg !== "ES256") {
    throw new Error(`the signing key's "alg" must be ES256, not ${String(jwk.alg)}`);
  }
  if (typeof jwk.d !== "string" || typeof jwk.x !== "string" || typeof jwk.y !== "string") {
    throw new Error('the signing key must be a private JWK with "x", "y" and "d"');
  }
  if (typeof jwk.kid !== "string" || jwk.kid.trim() === "") {
    throw new Error('the signing key needs a "kid" (Supabase matches tokens to keys by kid)');
  }
  const kid = jwk.kid;
  let privateKey: CryptoKey;
  let matches = false;
  try {
    privateKey = await crypto.subtle.importKey(
      "jwk",
      { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, d: jwk.d },
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["sign"],
    );
    // The public half must verify what the private half signs: a JWK whose x/y do not belong
    // to its d would mint tokens that no JWKS (ours, or Supabase's after the import) accepts.
    const publicKey = await crypto.subtle.importKey(
      "jwk",
      { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y },
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    const probe = encoder.encode("edge-migrator signing-key probe");
    const algorithm = { name: "ECDSA", hash: "SHA-256" };
    const signature = await crypto.subtle.sign(algorithm, privateKey, probe);
    matches = await crypto.subtle.verify(algorithm, publicKey, signature, probe);
  } catch {
    throw new Error("the signing key is not a usable EC P-256 private key");
  }
  if (!matches) {
    throw new Error("the signing key is not a usable EC P-256 private key (x, y do not match d)");
  }
  return {
    kid,
    privateKey,
    publicJwk: {
      kty: "EC",
      crv: "P-256",
      x: jwk.x,
      y: jwk.y,
      kid,
      alg: "ES256",
      use: "sig",
      key_ops: ["verify"],
    },
  };
}

/** A fresh ES256 key pair as a private JWK (tests, `deno task keys`-style generation). */
export async function generateEs256PrivateJwk(kid: string = crypto.randomUUID()): Promise<
  JsonWebKey & { kid: string }
> {
  const pair = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  return {
    kty: "EC",
    crv: "P-256",
    x: jwk.x,
    y: jwk.y,
    d: jwk.d,
    kid,
    alg: "ES256",
    use: "sig",
    key_ops: ["sign", "verify"],
  };
}

/**
 * Signs claims ES256 with the key's `kid` in the header, as GoTrue's SignJWT does
 * (supabase/auth internal/tokens/service.go: golang-jwt's {"alg","typ"} header plus `kid`).
 * WebCrypto's ECDSA signature is already the JWS form (r‖s, 64 bytes).
 */
export async function signEs256(claims: JwtClaims, key: Es256SigningKey): Promise<string> {
  const header = base64UrlEncode(
    encoder.encode(JSON.stringify({ alg: "ES256", kid: key.kid, typ: "JWT" })),
  );
  const body = base64UrlEncode(encoder.encode(JSON.stringify(claims)));
  const input = `${header}.${body}`;
  const signature = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    key.privateKey,
    encoder.encode(input),
  );
  return `${input}.${base64UrlEncode(new Uint8Array(signature))}`;
}
