/** Small Request/Response helpers of the migrator (no framework). */
import type { ImplementationPath } from "./types.ts";

export const REQUEST_ID_HEADER = "x-request-id";
export const MIGRATION_PATH_HEADER = "x-migration-path";

/** "none": the migrator itself answered (e.g. body too large) before either implementation ran. */
export type AnsweredBy = ImplementationPath | "none";

/** An incoming id is honoured only when it is a plain token (no header or log injection). */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$/;

export function requestIdOf(req: Request): string {
  const incoming = req.headers.get(REQUEST_ID_HEADER);
  return incoming && ACCEPTABLE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
}

/** Sets the two migration headers; copies the response when its headers are immutable. */
export function stampResponse(
  response: Response,
  requestId: string,
  answeredBy: AnsweredBy,
): Response {
  try {
    response.headers.set(REQUEST_ID_HEADER, requestId);
    response.headers.set(MIGRATION_PATH_HEADER, answeredBy);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set(REQUEST_ID_HEADER, requestId);
    copy.headers.set(MIGRATION_PATH_HEADER, answeredBy);
    return copy;
  }
}

/** The project's one error shape: { "error": { "code", "message", "details"? } }. */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  details?: Record<string, unknown>,
): Response {
  return Response.json({ error: { code, message, ...(details && { details }) } }, { status });
}

export class BodyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`request body exceeds ${maxBytes} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/**
 * Reads the whole request body once (bounded), so every attempt (primary, fallback, shadow) gets
 * its own identical copy and the routing key can be read from it. null when there is no body.
 */
export async function readBody(req: Request, maxBytes: number): Promise<Uint8Array | null> {
  if (req.body === null) return null;
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) throw new BodyTooLargeError(maxBytes);
  if (Number.isFinite(declared)) {
    const bytes = new Uint8Array(await req.arrayBuffer());
    if (bytes.byteLength > maxBytes) throw new BodyTooLargeError(maxBytes);
    return bytes;
  }
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new BodyTooLargeError(maxBytes);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * A fresh copy of `req` carrying the buffered body (a Request body can be read only once).
 * `new Request(req, init)` keeps method, headers, signal and the rest without re-parsing them.
 */
export function copyRequest(req: Request, body: Uint8Array | null): Request {
  return body === null ? new Request(req) : new Request(req, { body: body as BodyInit });
}
