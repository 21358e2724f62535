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

function issuesOf(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.join(".") : "body",
    message: issue.code === "invalid_type" && issue.input === undefined
      ? `${String(issue.path[0] ?? "body")} is required`
      : issue.message,
  }));
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
  if (!parsed.success) return err(validationFailed(issuesOf(parsed.error)));
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
  if (!parsed.success) return err(validationFailed(issuesOf(parsed.error)));
  return ok(parsed.data);
}
