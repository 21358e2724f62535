import { AppError } from "../result.ts";

/**
 * Table and column names cannot be bound parameters, so they are checked instead: a name must be
 * a plain identifier (optionally schema-qualified) and is always emitted double-quoted.
 */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function isIdentifier(name: string): boolean {
  return IDENTIFIER.test(name);
}

/** Quotes `name` or `schema.name`; throws a validation error for anything else. */
export function quoteIdentifier(name: string): string {
  const parts = name.split(".");
  if (parts.length > 2 || !parts.every(isIdentifier)) {
    throw new AppError("validation_failed", `invalid SQL identifier: ${JSON.stringify(name)}`);
  }
  return parts.map((part) => `"${part}"`).join(".");
}
