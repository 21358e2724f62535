/**
 * Request ids: a valid incoming `x-request-id` is honoured (so a caller's id, or the dev
 * gateway's, follows the request through logs, metrics and Sentry), anything else is replaced by
 * a fresh UUID. The same rule as the EdgeFunctionMigrator (shared/migrator/http.ts), so both
 * agree on the id of every request.
 */
export const REQUEST_ID_HEADER = "x-request-id";

/** A plain token only: no header or log injection through a hostile id. */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$/;

export function isAcceptableRequestId(value: string | null | undefined): value is string {
  return typeof value === "string" && ACCEPTABLE_REQUEST_ID.test(value);
}

/** The request's own id when acceptable, else a new UUID. */
export function requestIdFor(request: Request): string {
  const incoming = request.headers.get(REQUEST_ID_HEADER);
  return isAcceptableRequestId(incoming) ? incoming : crypto.randomUUID();
}

/**
 * `request` carrying `requestId` in its x-request-id header: the request itself when it already
 * does, else a copy (the body stream moves to the copy; nothing is read).
 */
export function withRequestIdHeader(request: Request, requestId: string): Request {
  if (request.headers.get(REQUEST_ID_HEADER) === requestId) return request;
  const headers = new Headers(request.headers);
  headers.set(REQUEST_ID_HEADER, requestId);
  return new Request(request, { headers });
}
