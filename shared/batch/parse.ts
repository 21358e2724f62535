/** zod parsing that fails as the project's AppError, naming every offending field. */
import type { z } from "zod";
import { AppError } from "../result.ts";

export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.join(".") : "body",
    message: issue.message,
  }));
  throw new AppError(
    "validation_failed",
    issues.map((issue) => `${issue.field}: ${issue.message}`).join("; "),
    { issues },
  );
}
