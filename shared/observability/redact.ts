/**
 * Secret redaction shared by logs, shadow comparisons and Sentry: passwords, tokens, keys and
 * secrets never leave the process in clear. Keys are matched by name (case-insensitive) at any
 * depth; string values that look like JWTs, bearer tokens, bcrypt/scrypt hashes or Supabase keys
 * are replaced wherever they appear.
 */
export const REDACTED = "[redacted]";

const SECRET_KEY =
  /pass(word|wd)?|secret|token|api[-_]?key|apikey|authorization|cookie|credential|private[-_]?key|service[-_]?role|encrypted_password|^hash$|signature|^session$/i;

const SECRET_VALUE = [
  /^eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*$/, // JWT
  /^Bearer\s+\S+$/i,
  /^\$2[abxy]\$\d{2}\$[./A-Za-z0-9]{53}$/, // bcrypt
  /^[0-9a-f]{32}:[0-9a-f]{128}$/i, // Better Auth scrypt salt:key
  /^sb_(secret|publishable)_[A-Za-z0-9_-]+$/, // Supabase API keys
];

/** Inline occurrences inside longer strings (e.g. an error message quoting a header). */
const INLINE_SECRETS = [
  /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+/g,
  /Bearer\s+[A-Za-z0-9._~+/=-]+/gi,
  /\$2[abxy]\$\d{2}\$[./A-Za-z0-9]{53}/g,
  /sb_secret_[A-Za-z0-9_-]+/g,
  /(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/g,
];

/**
 * `name=value` pairs (query strings, form bodies, env dumps, "password=…" in an error message)
 * and `"name": "value"` JSON members inside longer strings; the value is redacted when the name is
 * a secret key. A bare `name: value` is deliberately left alone: it is how validation and config
 * messages name a field ("BETTER_AUTH_SECRET: must be at least 32 characters").
 */
const QUERY_PAIR = /(^|[^A-Za-z0-9_.-])([A-Za-z_][A-Za-z0-9_.-]*)=([^\s&#;,"'<>]*)/g;
const JSON_MEMBER = /"([A-Za-z_][A-Za-z0-9_.-]*)"(\s*:\s*)"((?:[^"\\]|\\.)*)"/g;

/** E-mail addresses, scrubbed only when a caller asks for it (they are PII, not secrets). */
const EMAIL_INLINE = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
const EMAIL_KEY = /^(e-?mail|e-?mails|email_?address(es)?|user_?email)$/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

export function redactString(value: string): string {
  if (SECRET_VALUE.some((pattern) => pattern.test(value))) return REDACTED;
  let out = value;
  for (const pattern of INLINE_SECRETS) {
    out = out.replace(
      pattern,
      (match, prefix?: string) =>
        typeof prefix === "string" && match.startsWith("postgres")
          ? `${prefix}${REDACTED}@`
          : REDACTED,
    );
  }
  if (out.includes("=")) {
    out = out.replace(
      QUERY_PAIR,
      (match, before: string, name: string, secret: string) =>
        secret !== "" && !secret.startsWith(REDACTED) && isSecretKey(name)
          ? `${before}${name}=${REDACTED}`
          : match,
    );
  }
  if (out.includes('"')) {
    out = out.replace(
      JSON_MEMBER,
      (match, name: string, separator: string, secret: string) =>
        secret !== "" && secret !== REDACTED && isSecretKey(name)
          ? `"${name}"${separator}"${REDACTED}"`
          : match,
    );
  }
  return out;
}

/** Replaces every e-mail address inside `value` (for PII scrubbing, e.g. in Sentry events). */
export function redactEmails(value: string): string {
  return value.includes("@") ? value.replace(EMAIL_INLINE, REDACTED) : value;
}

export interface RedactOptions {
  /** Extra key names to redact (e.g. "email" when configured to scrub PII). */
  readonly extraKeys?: readonly string[];
  /** Also scrub e-mail addresses: values of e-mail keys, and addresses inside any string. */
  readonly emails?: boolean;
}

/** Returns a deep copy of `value` with secrets replaced. Handles cycles and Errors. */
export function redactSecrets<T>(value: T, options: RedactOptions = {}): T {
  const extra = new Set((options.extraKeys ?? []).map((key) => key.toLowerCase()));
  const emails = options.emails === true;
  const text = emails ? (input: string) => redactEmails(redactString(input)) : redactString;
  const secretKey = (key: string) =>
    isSecretKey(key) || extra.has(key.toLowerCase()) || (emails && EMAIL_KEY.test(key));
  const seen = new WeakMap<object, unknown>();
  const walk = (input: unknown, key: string | undefined): unknown => {
    if (key !== undefined && secretKey(key)) {
      return input === null || input === undefined || input === "" ? input : REDACTED;
    }
    if (typeof input === "string") return text(input);
    if (input === null || typeof input !== "object") return input;
    if (seen.has(input)) return seen.get(input);
    if (input instanceof Date) return input;
    if (input instanceof Error) {
      const copy = { name: input.name, message: text(input.message) };
      seen.set(input, copy);
      return copy;
    }
    if (Array.isArray(input)) {
      const copy: unknown[] = [];
      seen.set(input, copy);
      for (const item of input) copy.push(walk(item, undefined));
      return copy;
    }
    const copy: Record<string, unknown> = {};
    seen.set(input, copy);
    for (const [childKey, child] of Object.entries(input)) copy[childKey] = walk(child, childKey);
    return copy;
  };
  return walk(value, undefined) as T;
}
