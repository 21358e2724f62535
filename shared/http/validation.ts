/**
 * Input validation with zod: bad input is always a 4xx that names the offending field, never a
 * 500. Two ways in:
 *
 * - Hono routes: `app.post("/", jsonBody(schema), (c) => c.req.valid("json"))`, and likewise
 *   `queryParams(schema)` / `routeParams(schema)`.
 * - Plain `(Request) => Response` handlers (the EdgeFunctionMigrator's original / abstracted
 *   implementations): `const input = await readJsonBody(request, schema)`, a Result.
 *
 * Responses: 415 `unsupported_media_type` (not JSON), 400 `invalid_json` (empty, not UTF-8, or
 * not JSON; the parser's message is never echoed because it quotes the body), 400
 * `validation_failed` with `details: [{ path, message }]`, path dotted ("email",
 * "metadata.age", "items.0.sku"; "body" / "query" for the value as a whole).
 */
import type { Env, MiddlewareHandler, ValidationTargets } from "hono";
import type { z } from "zod";
import { err, ok, type Result } from "../result.ts";
import { HttpError } from "./errors.ts";

export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

type Issue = z.core.$ZodIssue;

/** `["metadata", "age"]` → "metadata.age"; the empty path names the whole value (`root`). */
export function formatIssuePath(path: readonly PropertyKey[], root: string): string {
  return path.length === 0 ? root : path.map((segment) => String(segment)).join(".");
}

/** One detail per offending field; unknown keys (strict objects) are named one by one. */
export function issuesToDetails(issues: readonly Issue[], root = "body"): FieldIssue[] {
  return issues.flatMap((issue): FieldIssue[] =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({
        path: formatIssuePath([...issue.path, key], root),
        message: "is not an accepted field",
      }))
      : [{ path: formatIssuePath(issue.path, root), message: issue.message }]
  );
}

const MAX_NAMED_FIELDS = 10;

/** 400 validation_failed; the message names the fields, the details say what is wrong with each. */
export function validationFailed(
  details: readonly FieldIssue[],
  source = "request body",
): HttpError {
  const names = [...new Set(details.map((detail) => detail.path))];
  const listed = names.slice(0, MAX_NAMED_FIELDS).join(", ") +
    (names.length > MAX_NAMED_FIELDS ? `, and ${names.length - MAX_NAMED_FIELDS} more` : "");
  return new HttpError(400, "validation_failed", `Invalid ${source}: ${listed}`, details);
}

/** Validates any value; `root` names the value as a whole in details ("body", "query"). */
export async function validate<S extends z.ZodType>(
  schema: S,
  value: unknown,
  root = "body",
  source = "request body",
): Promise<Result<z.output<S>, HttpError>> {
  const parsed = await schema.safeParseAsync(value);
  return parsed.success
    ? ok(parsed.data)
    : err(validationFailed(issuesToDetails(parsed.error.issues, root), source));
}

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

export function isJsonContentType(contentType: string | null | undefined): boolean {
  if (!contentType) return false;
  return JSON_MEDIA_TYPE.test(contentType.split(";")[0]!.trim());
}

const bodyIssue = (message: string) => [{ path: "body", message }];

/** Reads and parses a JSON request body (not validated). */
export async function readJson(
  request: Request,
  options: { readonly maxBytes?: number } = {},
): Promise<Result<unknown, HttpError>> {
  const contentType = request.headers.get("content-type");
  if (!isJsonContentType(contentType)) return err(notJson());
  return parseJsonBytes(contentType, new Uint8Array(await request.arrayBuffer()), options);
}

/** The checks of readJson on an already-read body (Hono caches it, see jsonBody). */
export function parseJsonBytes(
  contentType: string | null | undefined,
  bytes: Uint8Array,
  options: { readonly maxBytes?: number } = {},
): Result<unknown, HttpError> {
  if (!isJsonContentType(contentType)) return err(notJson());
  if (options.maxBytes !== undefined && bytes.byteLength > options.maxBytes) {
    return err(
      new HttpError(
        413,
        "payload_too_large",
        `Request body exceeds the limit of ${options.maxBytes} bytes`,
        bodyIssue(`must be at most ${options.maxBytes} bytes`),
      ),
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return err(invalidJson("Request body is not valid UTF-8", "must be UTF-8 encoded JSON"));
  }
  if (text.trim() === "") {
    return err(invalidJson("Request body is empty; expected JSON", "is required"));
  }
  try {
    return ok(JSON.parse(text));
  } catch {
    return err(invalidJson("Request body is not valid JSON", "must be valid JSON"));
  }
}

function notJson(): HttpError {
  return new HttpError(415, "unsupported_media_type", "Content-Type must be application/json", [
    { path: "content-type", message: "must be application/json" },
  ]);
}

function invalidJson(message: string, detail: string): HttpError {
  return new HttpError(400, "invalid_json", message, bodyIssue(detail));
}

/** Reads, parses and validates a JSON request body. */
export async function readJsonBody<S extends z.ZodType>(
  request: Request,
  schema: S,
  options: { readonly maxBytes?: number } = {},
): Promise<Result<z.output<S>, HttpError>> {
  const body = await readJson(request, options);
  return body.ok ? await validate(schema, body.value) : body;
}

/** The input/output typing Hono's `c.req.valid(target)` reads. */
type Validated<T extends keyof ValidationTargets, S extends z.ZodType> = {
  in: { [K in T]: z.input<S> };
  out: { [K in T]: z.output<S> };
};

/** Hono middleware: validated JSON body as `c.req.valid("json")`. */
export function jsonBody<S extends z.ZodType, E extends Env = Env, P extends string = string>(
  schema: S,
): MiddlewareHandler<E, P, Validated<"json", S>> {
  return async (c, next) => {
    const contentType = c.req.header("content-type");
    // Checked before reading, so a non-JSON upload is refused without being buffered.
    if (!isJsonContentType(contentType)) return notJson().toResponse();
    // Through HonoRequest's body cache: the route can still call c.req.json() or text().
    const parsed = parseJsonBytes(contentType, new Uint8Array(await c.req.arrayBuffer()));
    const body = parsed.ok ? await validate(schema, parsed.value) : parsed;
    if (!body.ok) return body.error.toResponse();
    c.req.addValidatedData("json", body.value as object);
    await next();
  };
}

/** Hono middleware: validated query string as `c.req.valid("query")`. Repeated keys are arrays. */
export function queryParams<S extends z.ZodType, E extends Env = Env, P extends string = string>(
  schema: S,
): MiddlewareHandler<E, P, Validated<"query", S>> {
  return async (c, next) => {
    const raw = Object.fromEntries(
      Object.entries(c.req.queries()).map(([key, values]) => [
        key,
        values.length === 1 ? values[0] : values,
      ]),
    );
    const query = await validate(schema, raw, "query", "query parameters");
    if (!query.ok) return query.error.toResponse();
    c.req.addValidatedData("query", query.value as object);
    await next();
  };
}

/** Hono middleware: validated path parameters as `c.req.valid("param")`. */
export function routeParams<S extends z.ZodType, E extends Env = Env, P extends string = string>(
  schema: S,
): MiddlewareHandler<E, P, Validated<"param", S>> {
  return async (c, next) => {
    const params = await validate(schema, c.req.param(), "path", "path parameters");
    if (!params.ok) return params.error.toResponse();
    c.req.addValidatedData("param", params.value as object);
    await next();
  };
}
