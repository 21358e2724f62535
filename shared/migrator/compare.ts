/**
 * Compares the primary and shadow responses: status plus normalised JSON bodies, ignoring
 * volatile paths (timestamps, ids, tokens, request ids) that legitimately differ between two
 * implementations.
 *
 * Path syntax: dot-separated segments; array items are their index ("items.0.id"). In a
 * pattern, '*' matches exactly one segment and '**' any number of segments (including none):
 * "user.id", "session.*", "*.created_at", "**.access_token".
 */

/** Ignored for every function: values that differ per run by design. */
export const DEFAULT_VOLATILE_PATHS: readonly string[] = [
  "**.request_id",
  "**.requestId",
  "**.timestamp",
  "**.created_at",
  "**.createdAt",
  "**.updated_at",
  "**.updatedAt",
  "**.expires_at",
  "**.expiresAt",
  "**.expires_in",
  "**.expiresIn",
  "**.access_token",
  "**.accessToken",
  "**.refresh_token",
  "**.refreshToken",
  "**.token",
  "**.processing_time",
];

/** Stop collecting after this many differing paths: enough to diagnose, bounded storage. */
export const MAX_DIFFERING_PATHS = 100;

/** Pseudo-paths for differences that are not inside a JSON body. */
export const STATUS_PATH = "$status";
export const BODY_PATH = "$body";

export class PathMatcher {
  readonly #patterns: string[][];

  constructor(patterns: readonly string[]) {
    this.#patterns = patterns.map((pattern) => pattern.split(".").filter((s) => s.length > 0))
      .filter((segments) => segments.length > 0);
  }

  matches(path: readonly string[]): boolean {
    return this.#patterns.some((pattern) => matchSegments(pattern, 0, path, 0));
  }
}

function matchSegments(
  pattern: readonly string[],
  pi: number,
  path: readonly string[],
  si: number,
): boolean {
  if (pi === pattern.length) return si === path.length;
  const segment = pattern[pi];
  if (segment === "**") {
    for (let skip = si; skip <= path.length; skip++) {
      if (matchSegments(pattern, pi + 1, path, skip)) return true;
    }
    return false;
  }
  if (si === path.length) return false;
  return (segment === "*" || segment === path[si]) && matchSegments(pattern, pi + 1, path, si + 1);
}

/**
 * Dot paths at which `a` and `b` differ, skipping volatile subtrees. Objects compare by key (key
 * order is irrelevant); arrays by index; a missing key differs from null.
 */
export function differingPaths(a: unknown, b: unknown, volatile: PathMatcher): string[] {
  const out: string[] = [];
  walk(a, b, [], volatile, out);
  return out;
}

function walk(
  a: unknown,
  b: unknown,
  path: string[],
  volatile: PathMatcher,
  out: string[],
): void {
  if (out.length >= MAX_DIFFERING_PATHS) return;
  if (path.length > 0 && volatile.matches(path)) return;
  if (Object.is(a, b)) return;
  const aIsArray = Array.isArray(a);
  const bIsArray = Array.isArray(b);
  if (aIsArray && bIsArray) {
    const length = Math.max(a.length, b.length);
    for (let i = 0; i < length; i++) {
      if (i >= a.length || i >= b.length) {
        const child = [...path, String(i)];
        if (!volatile.matches(child)) out.push(child.join("."));
        if (out.length >= MAX_DIFFERING_PATHS) return;
      } else {
        walk(a[i], b[i], [...path, String(i)], volatile, out);
      }
    }
    return;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of [...keys].sort()) {
      const child = [...path, key];
      if (!(key in a) || !(key in b)) {
        if (!volatile.matches(child)) out.push(child.join("."));
        if (out.length >= MAX_DIFFERING_PATHS) return;
      } else {
        walk(a[key], b[key], child, volatile, out);
      }
    }
    return;
  }
  // Different types, or different primitives.
  out.push(path.length === 0 ? BODY_PATH : path.join("."));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A response body as compared and stored: parsed JSON when it is JSON, else the text. */
export interface ComparableBody {
  readonly json: boolean;
  readonly value: unknown;
  /** True when the body was longer than the comparison limit and was cut. */
  readonly truncated: boolean;
}

/** Reads at most `maxBytes` of a response body and parses it as JSON when it is JSON. */
export async function readComparableBody(
  response: Response,
  maxBytes: number,
): Promise<ComparableBody> {
  const { text, truncated } = await readTextCapped(response, maxBytes);
  if (!truncated && text.length > 0) {
    try {
      return { json: true, value: JSON.parse(text), truncated };
    } catch {
      // Not JSON: compare as text.
    }
  }
  return { json: false, value: text, truncated };
}

async function readTextCapped(
  response: Response,
  maxBytes: number,
): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: "", truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.byteLength > maxBytes) {
        chunks.push(value.subarray(0, maxBytes - size));
        truncated = true;
        await reader.cancel();
        break;
      }
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
  const decoder = new TextDecoder();
  return {
    text: chunks.map((chunk) => decoder.decode(chunk, { stream: true })).join("") +
      decoder.decode(),
    truncated,
  };
}

export interface ResponseComparison {
  readonly matched: boolean;
  readonly differingPaths: string[];
}

/** Status first, then bodies: JSON structurally, anything else as exact text. */
export function compareResponses(
  primary: { status: number; body: ComparableBody },
  shadow: { status: number; body: ComparableBody },
  volatile: PathMatcher,
): ResponseComparison {
  const paths: string[] = [];
  if (primary.status !== shadow.status) paths.push(STATUS_PATH);
  if (primary.body.json && shadow.body.json) {
    paths.push(...differingPaths(primary.body.value, shadow.body.value, volatile));
  } else if (primary.body.value !== shadow.body.value || primary.body.json !== shadow.body.json) {
    paths.push(BODY_PATH);
  }
  return { matched: paths.length === 0, differingPaths: paths.slice(0, MAX_DIFFERING_PATHS) };
}
