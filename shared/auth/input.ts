/**
 * Request-body validation for signup and login, shared by both paths so bad input gets the same
 * 400 `validation_failed` (naming each field) whichever backend would have served it.
 */
import { z } from "zod";
import { err, ok, type Result } from "../result.ts";
import { type AuthError, type FieldIssue, validationFailed } from "./errors.ts";
import type { JsonObject, SignInInput, SignUpInput } from "./types.ts";

export const MAX_EMAIL_LENGTH = 254;
/** Serialised size limit of user metadata (GoTrue stores it in a jsonb column; keep it small). */
export const MAX_METADATA_BYTES = 8 * 1024;
export const MAX_METADATA_DEPTH = 5;
/** Upper bound on what we even look at; the password policy sets the real limit (72 bytes). */
const MAX_PASSWORD_CHARS = 1024;

const email = z.string({ error: "Email must be a string" })
  .trim()
  .min(1, "Email is required")
  .max(MAX_EMAIL_LENGTH, `Email must be at most ${MAX_EMAIL_LENGTH} characters`)
  .transform((value) => value.normalize("NFC").toLowerCase())
  .pipe(z.email("Email address is invalid"));

const password = z.string({ error: "Password must be a string" })
  .min(1, "Password is required")
  .max(MAX_PASSWORD_CHARS, "Password is too long");

/**
 * PostgreSQL's jsonb (auth.users.raw_user_meta_data, Better Auth's "userMetadata") cannot store
 * U+0000 or a lone UTF-16 surrogate: such metadata would fail inside both backends and look like
 * an outage (503). Returns the dotted path of the first offending key or string, else null.
 */
function unstorableTextPath(value: unknown, path: string[] = []): string[] | null {
  const unstorable = (text: string) => text.includes("\u0000") || !text.isWellFormed();
  if (typeof value === "string") return unstorable(value) ? path : null;
  if (value === null || typeof value !== "object") return null;
  for (const [key, child] of Object.entries(value)) {
    if (unstorable(key)) return [...path, key];
    const found = unstorableTextPath(child, [...path, key]);
    if (found) return found;
  }
  return null;
}

function depthOf(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + children.reduce<number>((max, child) => Math.max(max, depthOf(child)), 0);
}

const metadata = z.record(z.string(), z.unknown(), { error: "Metadata must be a JSON object" })
  .superRefine((value, ctx) => {
    if (new TextEncoder().encode(JSON.stringify(value)).length > MAX_METADATA_BYTES) {
      ctx.addIssue({
        code: "custom",
        message: `Metadata must be at most ${MAX_METADATA_BYTES} bytes`,
      });
    } else if (depthOf(value) > MAX_METADATA_DEPTH) {
      ctx.addIssue({
        code: "custom",
        message: `Metadata must nest at most ${MAX_METADATA_DEPTH} levels`,
      });
    } else {
      const unstorable = unstorableTextPath(value);
      if (unstorable) {
        ctx.addIssue({
          code: "custom",
          path: unstorable,
          message: "Metadata must not contain NUL characters or unpaired surrogates",
        });
      }
    }
  });

const signUpBody = z.object({
  email,
  password,
  metadata: metadata.optional(),
  /** GoTrue's name for the same thing (supabase-js `options.data` is sent as `data`). */
  data: metadata.optional(),
});

const signInBody = z.object({ email, password });

/**
 * One issue per field (zod can report a wrong type and a failed check on the same value). zod v4
 * does not put the input on issues, so "required" is decided by whether the body has the key: a
 * field sent with the wrong type keeps its own message ("Email must be a string").
 */
function issuesOf(error: z.ZodError, body: object): FieldIssue[] {
  const seen = new Set<string>();
  const issues: FieldIssue[] = [];
  for (const issue of error.issues) {
    const path = issue.path.length > 0 ? issue.path.join(".") : "body";
    if (seen.has(path)) continue;
    seen.add(path);
    const field = issue.path[0];
    const missing = issue.code === "invalid_type" && field !== undefined &&
      (!Object.hasOwn(body, field) || (body as Record<PropertyKey, unknown>)[field] === undefined);
    issues.push({ path, message: missing ? `${String(field)} is required` : issue.message });
  }
  return issues;
}

function requireObject(body: unknown): AuthError | null {
  return body !== null && typeof body === "object" && !Array.isArray(body)
    ? null
    : validationFailed([{ path: "body", message: "Body must be a JSON object" }]);
}

export function parseSignUpInput(body: unknown): Result<SignUpInput, AuthError> {
  const notObject = requireObject(body);
  if (notObject) return err(notObject);
  const parsed = signUpBody.safeParse(body);
  if (!parsed.success) return err(validationFailed(issuesOf(parsed.error, body as object)));
  const { metadata: given, data } = parsed.data;
  if (given && data) {
    return err(validationFailed([{ path: "data", message: "Send either metadata or data" }]));
  }
  return ok({
    email: parsed.data.email,
    password: parsed.data.password,
    metadata: (given ?? data ?? {}) as JsonObject,
  });
}

export function parseSignInInput(body: unknown): Result<SignInInput, AuthError> {
  const notObject = requireObject(body);
  if (notObject) return err(notObject);
  const parsed = signInBody.safeParse(body);
  if (!parsed.success) return err(validationFailed(issuesOf(parsed.error, body as object)));
  return ok(parsed.data);
}
