/** Response helpers shared by the REST handlers. */
export const JSON_TYPE = "application/json; charset=utf-8";
const OBJECT_TYPE = "application/vnd.pgrst.object+json; charset=utf-8";

/** A JSON body (or none) with PostgREST's Content-Range. */
export function bodyResponse(
  body: string | null,
  status: number,
  contentRange: string,
  shape: "array" | "object",
): Response {
  if (body === null) {
    return new Response(null, { status, headers: { "Content-Range": contentRange } });
  }
  return new Response(body, {
    status,
    headers: {
      "Content-Type": shape === "object" ? OBJECT_TYPE : JSON_TYPE,
      "Content-Range": contentRange,
    },
  });
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
