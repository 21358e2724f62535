/**
 * Structured JSON logs: one line per event, `{ ts, level, msg, function, request_id, ... }`.
 * Every message and field goes through redactSecrets before it is written, so passwords, tokens
 * and keys never reach stdout (Supabase ships function stdout/stderr to its log explorer).
 * Logging never throws: a value that cannot be serialised is replaced, not propagated.
 */
import { redactEmails, redactSecrets, redactString } from "./redact.ts";

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** LOG_LEVEL: the lowest level written; "silent" writes nothing. */
export type LogThreshold = LogLevel | "silent";

export type LogFields = Readonly<Record<string, unknown>>;

export interface LogRecord {
  readonly ts: string;
  readonly level: LogLevel;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** Receives each record (already redacted) and its serialised line. */
export type LogSink = (record: LogRecord, line: string) => void;

export interface Logger {
  readonly level: LogThreshold;
  isEnabled(level: LogLevel): boolean;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` (e.g. `{ request_id }`) to every record. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Default "info". */
  readonly level?: LogThreshold;
  /** Default consoleSink. */
  readonly sink?: LogSink;
  /** Fields on every record, e.g. `{ function: "signup" }`. */
  readonly fields?: LogFields;
  /** Also scrub e-mail addresses (default false: logs may name a user's e-mail). */
  readonly redactEmails?: boolean;
  /** Extra key names to redact. */
  readonly redactKeys?: readonly string[];
  /** Clock (tests). */
  readonly now?: () => Date;
}

const RANK: Record<LogThreshold, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };
const RESERVED = new Set(["ts", "level", "msg"]);
const MAX_DEPTH = 8;
const MAX_STRING = 8192;

export function isLogThreshold(value: unknown): value is LogThreshold {
  return typeof value === "string" && value in RANK;
}

/**
 * Writes through console so Supabase (and `deno run`) classify the line: errors and warnings on
 * stderr, the rest on stdout.
 */
export const consoleSink: LogSink = (record, line) => {
  if (record.level === "error") console.error(line);
  else if (record.level === "warn") console.warn(line);
  else console.log(line);
};

/** Keeps records in memory: for tests, and for anything that needs to inspect what was logged. */
export function createMemorySink(): {
  readonly sink: LogSink;
  readonly records: LogRecord[];
  readonly lines: string[];
  clear(): void;
} {
  const records: LogRecord[] = [];
  const lines: string[] = [];
  return {
    sink: (record, line) => {
      records.push(record);
      lines.push(line);
    },
    records,
    lines,
    clear() {
      records.length = 0;
      lines.length = 0;
    },
  };
}

/** An Error as loggable data: name, message, code, stack and cause chain (redacted later). */
export function serializeError(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const out: Record<string, unknown> = { name: error.name, message: error.message };
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") out.code = code;
  if (error.stack) out.stack = error.stack;
  if (error.cause !== undefined && depth < 3) out.cause = serializeError(error.cause, depth + 1);
  if (error instanceof AggregateError && depth < 3) {
    out.errors = error.errors.slice(0, 5).map((inner) => serializeError(inner, depth + 1));
  }
  return out;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return new JsonLogger(
    options.level ?? "info",
    options.sink ?? consoleSink,
    options.fields ?? {},
    {
      emails: options.redactEmails === true,
      extraKeys: options.redactKeys,
    },
    options.now ?? (() => new Date()),
  );
}

interface Redaction {
  readonly emails: boolean;
  readonly extraKeys?: readonly string[];
}

class JsonLogger implements Logger {
  constructor(
    readonly level: LogThreshold,
    private readonly sink: LogSink,
    private readonly fields: LogFields,
    private readonly redaction: Redaction,
    private readonly now: () => Date,
  ) {}

  isEnabled(level: LogLevel): boolean {
    return RANK[level] >= RANK[this.level];
  }

  debug(msg: string, fields?: LogFields): void {
    this.#write("debug", msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.#write("info", msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.#write("warn", msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.#write("error", msg, fields);
  }

  child(fields: LogFields): Logger {
    return new JsonLogger(
      this.level,
      this.sink,
      { ...this.fields, ...fields },
      this.redaction,
      this.now,
    );
  }

  #write(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    if (!this.isEnabled(level)) return;
    let record: LogRecord;
    let line: string;
    try {
      record = this.#record(level, msg, fields);
      line = JSON.stringify(record);
    } catch (error) {
      // Never let a log call break a request; say that something could not be logged.
      record = {
        ts: this.now().toISOString(),
        level: "error",
        msg: "log record could not be serialised",
        reason: redactString(error instanceof Error ? error.message : String(error)),
      };
      line = JSON.stringify(record);
    }
    try {
      this.sink(record, line);
    } catch {
      // A failing sink (closed stdout) must not fail the caller either.
    }
  }

  #record(level: LogLevel, msg: string, fields: LogFields | undefined): LogRecord {
    const merged: Record<string, unknown> = {};
    for (const source of [this.fields, fields ?? {}]) {
      for (const [key, value] of Object.entries(source)) {
        if (value === undefined) continue;
        // Errors keep their stack in logs (server side only); redaction scrubs it below.
        merged[RESERVED.has(key) ? `field_${key}` : key] = value instanceof Error
          ? serializeError(value)
          : value;
      }
    }
    const redacted = redactSecrets(merged, this.redaction);
    const text = this.redaction.emails ? redactEmails(redactString(msg)) : redactString(msg);
    return {
      ts: this.now().toISOString(),
      level,
      msg: truncate(text),
      ...(toJsonSafe(redacted, 0, []) as Record<string, unknown>),
    };
  }
}

/** A logger that drops everything (for code paths that accept an optional logger). */
export const silentLogger: Logger = createLogger({ level: "silent", sink: () => {} });

function truncate(text: string): string {
  return text.length > MAX_STRING ? `${text.slice(0, MAX_STRING)}…[truncated]` : text;
}

/** A JSON-serialisable copy: bigints as strings, cycles and excessive depth marked, not thrown. */
function toJsonSafe(value: unknown, depth: number, ancestors: object[]): unknown {
  if (typeof value === "string") return truncate(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "function" || typeof value === "symbol") return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (ancestors.includes(value)) return "[circular]";
  if (depth >= MAX_DEPTH) return "[depth limit]";
  const path = [...ancestors, value];
  if (Array.isArray(value)) return value.map((item) => toJsonSafe(item, depth + 1, path) ?? null);
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const safe = toJsonSafe(child, depth + 1, path);
    if (safe !== undefined) out[key] = safe;
  }
  return out;
}
