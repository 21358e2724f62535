/** HMAC-SHA-256 over Web Crypto (the same on Deno, the Edge Runtime and browsers). */
const encoder = new TextEncoder();

/** A signing key from raw key material; a string is taken as its UTF-8 bytes. */
export function hmacSha256Key(material: string | BufferSource): Promise<CryptoKey> {
  const raw = typeof material === "string" ? encoder.encode(material) : material;
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/** The MAC of a UTF-8 message under `key` (a key, or raw key material as for hmacSha256Key). */
export async function hmacSha256(
  key: CryptoKey | string,
  message: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const cryptoKey = typeof key === "string" ? await hmacSha256Key(key) : key;
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message)));
}
