/**
 * Request-size limit: bodies above `maxBytes` get 413 in the project's error shape. A declared
 * Content-Length is checked before anything is read; a chunked body is counted while it streams
 * (Hono's bodyLimit), so an oversized upload is refused without being buffered whole.
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { errorResponse } from "./errors.ts";

export function payloadTooLarge(maxBytes: number): Response {
  return errorResponse(
    413,
    "payload_too_large",
    `Request body exceeds the limit of ${maxBytes} bytes`,
    [{ path: "body", message: `must be at most ${maxBytes} bytes` }],
  );
}

export function bodyLimitMiddleware(maxBytes: number): MiddlewareHandler {
  if (!Number.isInteger(maxBytes) || maxBytes < 1) {
    throw new RangeError(`maxBodyBytes must be a positive integer, got ${maxBytes}`);
  }
  return bodyLimit({ maxSize: maxBytes, onError: () => payloadTooLarge(maxBytes) });
}
