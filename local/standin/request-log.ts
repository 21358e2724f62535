/**
 * The dev server's recent requests (method, path, status, duration) — what the terminal shows
 * with --log-requests and what tests inspect (e.g. that the local cron called migrate-batch).
 * Only the path is kept: query strings may carry an `apikey`.
 */
export interface RequestLogEntry {
  readonly at: Date;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly durationMs: number;
}

export class RequestLog {
  readonly #entries: RequestLogEntry[] = [];

  constructor(private readonly capacity = 500) {}

  record(entry: RequestLogEntry): void {
    this.#entries.push(entry);
    if (this.#entries.length > this.capacity) this.#entries.shift();
  }

  /** Oldest first. */
  entries(): readonly RequestLogEntry[] {
    return [...this.#entries];
  }

  count(predicate: (entry: RequestLogEntry) => boolean): number {
    return this.#entries.filter(predicate).length;
  }
}

export function formatRequestLine(entry: RequestLogEntry): string {
  return `${entry.at.toISOString()} ${entry.method} ${entry.path} -> ${entry.status} (${
    entry.durationMs.toFixed(1)
  } ms)`;
}
