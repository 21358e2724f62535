/**
 * Local cron: what pg_cron + pg_net do on Supabase (see
 * migrations/20261123000900_schedule_migrate_batch_cron.sql), for the dev server. It POSTs to
 * migrate-batch over real HTTP with the service-role key, every `intervalMs`.
 *
 * A run never overlaps the previous one: the next tick is scheduled only after the current call
 * has finished (or timed out), so a slow migration batch simply delays the next.
 */
export interface TickResult {
  readonly status: number;
  /** A short, secret-free description for the log (e.g. the function's JSON summary). */
  readonly summary: string;
}

export interface CronStats {
  readonly ticks: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly running: boolean;
  readonly lastStatus: number | null;
  readonly lastSummary: string | null;
  readonly lastFinishedAt: Date | null;
}

export interface LocalCronOptions {
  readonly name: string;
  readonly intervalMs: number;
  /** One run; `signal` aborts it when the cron stops or the run exceeds `timeoutMs`. */
  readonly task: (signal: AbortSignal) => Promise<TickResult>;
  /** Per-run limit; Supabase's paid-plan wall clock for a function is 400 s. */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

export class LocalCron {
  #timer: ReturnType<typeof setTimeout> | null = null;
  #current: Promise<void> | null = null;
  #abort: AbortController | null = null;
  #stopped = true;
  #lastLogged = "";
  #stats = {
    ticks: 0,
    succeeded: 0,
    failed: 0,
    lastStatus: null as number | null,
    lastSummary: null as string | null,
    lastFinishedAt: null as Date | null,
  };

  constructor(private readonly options: LocalCronOptions) {
    if (!(options.intervalMs > 0)) throw new RangeError("intervalMs must be positive");
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule();
  }

  /** Stops scheduling and waits for (after aborting) a run in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#abort?.abort(new Error("local cron stopped"));
    await this.#current;
  }

  stats(): CronStats {
    return { ...this.#stats, running: this.#current !== null };
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#current = this.#tick().finally(() => {
        this.#current = null;
        this.#schedule();
      });
    }, this.options.intervalMs);
  }

  async #tick(): Promise<void> {
    const abort = new AbortController();
    this.#abort = abort;
    const timeout = setTimeout(
      () => abort.abort(new Error(`run exceeded ${this.options.timeoutMs ?? 400_000} ms`)),
      this.options.timeoutMs ?? 400_000,
    );
    this.#stats.ticks++;
    let line: string;
    try {
      const result = await this.options.task(abort.signal);
      const ok = result.status >= 200 && result.status < 300;
      if (ok) this.#stats.succeeded++;
      else this.#stats.failed++;
      this.#stats.lastStatus = result.status;
      this.#stats.lastSummary = result.summary;
      line = `${this.options.name}: ${result.status} ${result.summary}`;
    } catch (error) {
      this.#stats.failed++;
      this.#stats.lastStatus = null;
      this.#stats.lastSummary = error instanceof Error ? error.message : String(error);
      line = `${this.options.name}: failed: ${this.#stats.lastSummary}`;
    } finally {
      clearTimeout(timeout);
      this.#abort = null;
      this.#stats.lastFinishedAt = new Date();
    }
    // Every 10 s forever would drown the terminal: log only when the outcome changes.
    if (line !== this.#lastLogged && !this.#stopped) {
      this.#lastLogged = line;
      this.options.log?.(line);
    }
  }
}

/**
 * The run pg_net performs: POST {base}/functions/v1/migrate-batch with the service-role key and
 * the body `{}` (as the pg_cron job does), or `body` (e.g. `{ engine: "per_user" }` in tests).
 */
export function migrateBatchTask(
  baseUrl: string,
  serviceRoleKey: string,
  body: Readonly<Record<string, unknown>> = {},
): (signal: AbortSignal) => Promise<TickResult> {
  return async (signal) => {
    const response = await fetch(`${baseUrl}/functions/v1/migrate-batch`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Authorization: `Bearer ${serviceRoleKey}`,
        apikey: serviceRoleKey,
      },
      body: JSON.stringify(body),
      signal,
    });
    const text = await response.text();
    return { status: response.status, summary: summarise(text) };
  };
}

/** A one-line digest of a JSON response, without tokens or keys (the function never returns any). */
function summarise(text: string): string {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const error = body.error as { code?: unknown; message?: unknown } | undefined;
    if (error && typeof error === "object") {
      return `${String(error.code)}: ${String(error.message)}`;
    }
    const fields = ["processed", "migrated", "skipped", "errors", "remaining", "done"]
      .filter((key) => key in body)
      .map((key) => `${key}=${JSON.stringify(body[key])}`);
    return fields.length > 0 ? fields.join(" ") : text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}
