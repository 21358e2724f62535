/**
 * IdentitySync: the two change streams of the migration window behind one surface, used by the
 * migrate-batch cron (after every run, bounded budget), the admin routes and the CLI.
 *
 * - Supabase → Better Auth: failed captures re-captured first (recapture.ts), then the drain
 *   (to-better-auth.ts). Always on: after completion nothing writes Supabase any more.
 * - Better Auth → Supabase: the drain (to-supabase.ts), only while the migration is not
 *   declared complete and a GoTrue admin client is configured.
 *
 * Lag of a direction = age of its oldest pending row (0 when none): what `status` reports.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import type { SqlClient } from "../db/sql-client.ts";
import { type CompletionState, SyncCompletion } from "./completion.ts";
import { type Direction, type DrainOptions, type DrainReport, OutboxDrain } from "./outbox.ts";
import { recaptureFailures, resync } from "./recapture.ts";
import { ToBetterAuthApplier, type ToBetterAuthOptions } from "./to-better-auth.ts";
import { ToSupabaseApplier, type ToSupabaseOptions } from "./to-supabase.ts";

export interface IdentitySyncSettings {
  /** The database holding auth.users, Better Auth's tables and the outbox. */
  readonly db: SqlClient;
  /** Service-role supabase-js client; without it Better Auth → Supabase is not applied. */
  readonly supabaseAdmin?: SupabaseClient;
  readonly completion?: SyncCompletion;
  readonly toBetterAuth?: ToBetterAuthOptions;
  readonly toSupabase?: ToSupabaseOptions;
  readonly drain?: Omit<DrainOptions, "budgetMs" | "signal">;
}

export interface ApplyReport {
  readonly recaptured: number;
  readonly toBetterAuth: DrainReport;
  /** null when the direction is off (declared complete, or no GoTrue admin client). */
  readonly toSupabase: DrainReport | null;
}

export interface DirectionStatus {
  readonly pending: number;
  readonly stuck: number;
  readonly lagSeconds: number;
}

export interface SyncStatus {
  readonly completion: CompletionState;
  readonly toBetterAuth: DirectionStatus;
  readonly toSupabase: DirectionStatus;
  readonly openCaptureFailures: number;
}

/** Two reports of the same direction added up (rounds of one apply). */
function sum(a: DrainReport | null, b: DrainReport): DrainReport {
  if (!a) return b;
  return {
    direction: b.direction,
    users: a.users + b.users,
    settledUsers: a.settledUsers + b.settledUsers,
    deferredUsers: a.deferredUsers + b.deferredUsers,
    failedUsers: a.failedUsers + b.failedUsers,
    busyUsers: a.busyUsers + b.busyUsers,
    waitingUsers: b.waitingUsers,
    rowsSettled: a.rowsSettled + b.rowsSettled,
    durationMs: a.durationMs + b.durationMs,
    incomplete: b.incomplete,
  };
}

export class IdentitySync {
  readonly completion: SyncCompletion;
  readonly #drain: OutboxDrain;
  readonly #toBetterAuth: ToBetterAuthApplier;
  readonly #toSupabase: ToSupabaseApplier | null;

  constructor(private readonly settings: IdentitySyncSettings) {
    this.completion = settings.completion ?? new SyncCompletion(settings.db);
    this.#drain = new OutboxDrain(settings.db);
    this.#toBetterAuth = new ToBetterAuthApplier(settings.db, settings.toBetterAuth);
    this.#toSupabase = settings.supabaseAdmin
      ? new ToSupabaseApplier(settings.db, settings.supabaseAdmin, settings.toSupabase)
      : null;
  }

  /**
   * Both directions within `budgetMs` (default 10 s), Supabase → Better Auth first. A user with
   * changes on both sides alternates between them in capture order, so up to three rounds run
   * while some user waits on the other direction and time is left.
   */
  async apply(options: { budgetMs?: number; signal?: AbortSignal } = {}): Promise<ApplyReport> {
    const budgetMs = options.budgetMs ?? 10_000;
    const started = performance.now();
    const left = () => Math.max(1, budgetMs - (performance.now() - started));
    const recaptured = await recaptureFailures(this.settings.db);
    const toSupabaseOn = this.#toSupabase !== null && !(await this.completion.state()).complete;
    let toBetterAuth: DrainReport | null = null;
    let toSupabase: DrainReport | null = null;
    for (let round = 0; round < 3; round++) {
      const tb = await this.#drain.run(this.#toBetterAuth, {
        ...this.settings.drain,
        budgetMs: toSupabaseOn ? left() / 2 : left(),
        signal: options.signal,
      });
      toBetterAuth = sum(toBetterAuth, tb);
      const ts = toSupabaseOn
        ? await this.#drain.run(this.#toSupabase!, {
          ...this.settings.drain,
          budgetMs: left(),
          signal: options.signal,
        })
        : null;
      toSupabase = ts ? sum(toSupabase, ts) : toSupabase;
      const waiting = tb.waitingUsers + (ts?.waitingUsers ?? 0);
      const progressed = tb.rowsSettled + (ts?.rowsSettled ?? 0) > 0;
      if (waiting === 0 || !progressed || left() <= 1 || options.signal?.aborted) break;
    }
    return { recaptured, toBetterAuth: toBetterAuth!, toSupabase };
  }

  /** Re-captures every Supabase user (changed since `since`): the periodic full diff. */
  async resync(options: { since?: Date } = {}): Promise<{ users: number }> {
    return { users: await resync(this.settings.db, options) };
  }

  async status(maxAttempts = this.settings.drain?.maxAttempts ?? 10): Promise<SyncStatus> {
    const { rows } = await this.settings.db.query<
      { direction: Direction; pending: number; stuck: number; lag: number }
    >(
      `SELECT direction, count(*)::int AS pending,
              count(*) FILTER (WHERE attempts >= $1)::int AS stuck,
              coalesce(extract(epoch FROM now() - min(captured_at)), 0)::float8 AS lag
         FROM identity_change_outbox WHERE applied_at IS NULL GROUP BY direction`,
      [maxAttempts],
    );
    const failures = await this.settings.db.query<{ open: number }>(
      `SELECT count(*)::int AS open FROM identity_change_capture_failures
        WHERE resolved_at IS NULL`,
    );
    const of = (direction: Direction): DirectionStatus => {
      const row = rows.find((r) => r.direction === direction);
      return {
        pending: row?.pending ?? 0,
        stuck: row?.stuck ?? 0,
        lagSeconds: Math.round((row?.lag ?? 0) * 10) / 10,
      };
    };
    return {
      completion: await this.completion.state(),
      toBetterAuth: of("to_better_auth"),
      toSupabase: of("to_supabase"),
      openCaptureFailures: failures.rows[0]?.open ?? 0,
    };
  }
}
