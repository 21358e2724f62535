/**
 * Request parsing with GoTrue's rules and messages. GoTrue decodes bodies into Go structs, so a
 * field of the wrong type is a 400 `bad_json` naming the field ("json: cannot unmarshal number
 * into Go struct field SignupParams.email of type string"); we reproduce that wording.
 */
import { badRequest, GoTrueError } from "./errors.ts";

/** Larger bodies are refused before parsing (GoTrue's default limit is far above any auth call). */
export const MAX_BODY_BYTES = 1024 * 1024;

export type JsonObject = Record<string, unknown>;

function jsonTypeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value === "object" ? "object" : typeof value;
}

function unmarshalError(struct: string, field: string, value: unknown, goType: string) {
  return badRequest(
    "bad_json",
    `Could not parse request body as JSON: json: cannot unmarshal ${
      jsonTypeName(value)
    } into Go struct field ${struct}.${field} of type ${goType}`,
  );
}

/** Reads a JSON object body. An empty body is `{}` only when `allowEmpty` (DELETE, logout). */
export async function readJsonObject(
  request: Request,
  options: { allowEmpty?: boolean } = {},
): Promise<JsonObject> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) {
    throw new GoTrueError(
      413,
      "request_entity_too_large",
      `Request body too large (max ${MAX_BODY_BYTES} bytes)`,
    );
  }
  const text = await request.text();
  if (new TextEncoder().encode(text).length > MAX_BODY_BYTES) {
    throw new GoTrueError(
      413,
      "request_entity_too_large",
      `Request body too large (max ${MAX_BODY_BYTES} bytes)`,
    );
  }
  if (text.trim() === "") {
    if (options.allowEmpty) return {};
    throw badRequest(
      "bad_json",
      "Could not parse request body as JSON: unexpected end of JSON input",
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw badRequest(
      "bad_json",
      `Could not parse request body as JSON: ${
        error instanceof Error ? error.message : "invalid JSON"
      }`,
    );
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw badRequest(
      "bad_json",
      `Could not parse request body as JSON: json: cannot unmarshal ${
        jsonTypeName(parsed)
      } into Go value`,
    );
  }
  return parsed as JsonObject;
}

/** A typed view of one Go params struct: every getter validates the JSON type of its field. */
export class Params {
  constructor(private readonly body: JsonObject, private readonly struct: string) {}

  /** Go decodes a missing or null string field as "". */
  string(field: string): string {
    const value = this.body[field];
    if (value === undefined || value === null) return "";
    if (typeof value !== "string") throw unmarshalError(this.struct, field, value, "string");
    return value;
  }

  /** A `*string`: undefined when absent or null. */
  optionalString(field: string): string | undefined {
    const value = this.body[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string") throw unmarshalError(this.struct, field, value, "string");
    return value;
  }

  boolean(field: string): boolean {
    const value = this.body[field];
    if (value === undefined || value === null) return false;
    if (typeof value !== "boolean") throw unmarshalError(this.struct, field, value, "bool");
    return value;
  }

  /** A `map[string]interface{}`: undefined when absent or null. */
  object(field: string): JsonObject | undefined {
    const value = this.body[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "object" || Array.isArray(value)) {
      throw unmarshalError(this.struct, field, value, "map[string]interface {}");
    }
    return value as JsonObject;
  }
}

/** The format check of github.com/badoux/checkmail, which GoTrue's validateEmail uses. */
const EMAIL_FORMAT =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** GoTrue's validateEmail: required, at most 255 characters, checkmail format; lower-cased. */
export function validateEmail(email: string): string {
  if (email === "") throw badRequest("validation_failed", "An email address is required");
  if (email.length > 255) throw badRequest("validation_failed", "An email address is too long");
  if (!EMAIL_FORMAT.test(email)) {
    throw badRequest("validation_failed", "Unable to validate email address: invalid format");
  }
  return email.toLowerCase();
}

export function isValidEmailFormat(email: string): boolean {
  return email.length <= 255 && EMAIL_FORMAT.test(email);
}

export { isUuid } from "../../../shared/uuid.ts";

const GO_DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Go's time.ParseDuration ("24h", "1h30m", "876000h", "-1.5h"), in milliseconds: the format of
 * GoTrue's `ban_duration`. Returns null for anything Go would reject.
 */
export function parseGoDuration(text: string): number | null {
  const match = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.exec(text);
  if (!match) return text === "0" ? 0 : null;
  const sign = match[1] === "-" ? -1 : 1;
  let total = 0;
  for (
    const part of text.slice(match[1]!.length).matchAll(
      /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g,
    )
  ) {
    total += Number(part[1]) * GO_DURATION_UNITS[part[2]!]!;
  }
  return sign * total;
}

export const DEFAULT_PER_PAGE = 50;
export const MAX_PER_PAGE = 1000;

/** GoTrue's shared.Paginate: page ≥ 1 (default 1), 1 ≤ per_page ≤ 1000 (default 50). */
export function parsePagination(
  url: URL,
  options: { maxPerPage?: number | null } = {},
): { page: number; perPage: number } {
  const maxPerPage = options.maxPerPage === undefined ? MAX_PER_PAGE : options.maxPerPage;
  const parse = (name: string, fallback: number, max: number | null): number => {
    const raw = url.searchParams.get(name) ?? "";
    if (raw === "") return fallback;
    if (!/^\d+$/.test(raw)) {
      throw badRequest(
        "validation_failed",
        `Bad Pagination Parameters: strconv.ParseUint: parsing "${raw}": invalid syntax`,
      );
    }
    const value = Number(raw);
    if (value === 0) {
      throw badRequest(
        "validation_failed",
        `Bad Pagination Parameters: ${name} must be greater than 0`,
      );
    }
    if (max !== null && value > max) {
      throw badRequest(
        "validation_failed",
        name === "page"
          ? "Bad Pagination Parameters: page exceeds maximum allowed value"
          : `Bad Pagination Parameters: per_page must not exceed ${MAX_PER_PAGE}`,
      );
    }
    return value;
  };
  return {
    page: parse("page", 1, 2_147_483_647),
    perPage: parse("per_page", DEFAULT_PER_PAGE, maxPerPage),
  };
}
