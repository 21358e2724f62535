/**
 * Operator alerts through an outbox. A change that raises an alert (an abort, an emergency
 * rollback) inserts it into ops_alerts in the SAME transaction as the change, so the alert exists
 * exactly when the change does. Delivery happens after commit, to every configured sink
 * (Sentry, a Slack-compatible webhook), off the caller's response path:
 *
 * - a dispatcher first takes a lease on due alerts (pushes next_attempt_at forward, SKIP LOCKED),
 *   so concurrent dispatchers never send the same alert at the same time;
 * - each sink that accepts an alert is recorded in delivered_to; a retry only goes to the sinks
 *   that failed, with exponential back-off, up to maxAttempts (then the alert is given up, logged
 *   and left visible on the dashboard);
 * - evaluateRollouts() also calls deliverDue(), so an alert whose first delivery failed (or whose
 *   process ended) goes out on the next scheduled evaluation.
 */
import type { SqlClient } from "../db/sql-client.ts";
import type { BackgroundTasks } from "../migrator/background.ts";
import type { Logger } from "../observability/logger.ts";
import { redactSecrets, redactString } from "../observability/redact.ts";

export type AlertSeverity = "critical" | "warning" | "info";

export interface AlertInput {
  /** Stable machine name: rollout_aborted, emergency_rollback, ... */
  readonly kind: string;
  readonly severity: AlertSeverity;
  readonly functionName: string | null;
  /** One line a human reads first (the Slack message text). */
  readonly title: string;
  /** Figures and context (redacted before storage). */
  readonly details: Record<string, unknown>;
}

export interface Alert extends AlertInput {
  readonly id: number;
  readonly createdAt: Date;
}

/** A destination for alerts. `send` resolves when the destination accepted the alert. */
export interface AlertSink {
  /** Stored in ops_alerts.delivered_to; must be stable across deploys. */
  readonly name: string;
  send(alert: Alert): Promise<void>;
}

/** Queues an alert inside the caller's transaction (the outbox write). Returns its id. */
export async function queueAlert(sql: SqlClient, alert: AlertInput): Promise<number> {
  const { rows } = await sql.query<{ id: number }>(
    `INSERT INTO ops_alerts (kind, severity, function_name, title, details)
     VALUES ($1, $2, $3, $4, $5::text::jsonb) RETURNING id`,
    [
      alert.kind,
      alert.severity,
      alert.functionName,
      redactString(alert.title),
      JSON.stringify(redactSecrets(alert.details)),
    ],
  );
  return Number(rows[0]!.id);
}

export interface AlertDispatcherOptions {
  readonly sql: SqlClient;
  readonly sinks: readonly AlertSink[];
  /** Keeps delivery alive after the response (EdgeRuntime.waitUntil) and drainable in tests. */
  readonly background?: BackgroundTasks;
  readonly logger?: Logger;
  /** Default 6 attempts per alert. */
  readonly maxAttempts?: number;
  /** How long a dispatcher owns an alert while sending (default 60 s). */
  readonly leaseMs?: number;
  /** First retry delay; doubles per attempt (default 10 s). */
  readonly retryBaseMs?: number;
}

interface AlertRow {
  id: number;
  kind: string;
  severity: AlertSeverity;
  function_name: string | null;
  title: string;
  details: Record<string, unknown>;
  delivered_to: string[];
  attempts: number;
  created_at: Date | string;
}

export interface DeliveryReport {
  readonly attempted: number;
  readonly delivered: number;
  readonly failed: number;
}

export class AlertDispatcher {
  readonly #options: AlertDispatcherOptions;
  readonly #maxAttempts: number;
  readonly #leaseMs: number;
  readonly #retryBaseMs: number;

  constructor(options: AlertDispatcherOptions) {
    this.#options = options;
    this.#maxAttempts = options.maxAttempts ?? 6;
    this.#leaseMs = options.leaseMs ?? 60_000;
    this.#retryBaseMs = options.retryBaseMs ?? 10_000;
  }

  get sinkNames(): readonly string[] {
    return this.#options.sinks.map((sink) => sink.name);
  }

  /**
   * Starts delivering due alerts off the caller's path (tracked by `background` when given, so
   * Supabase keeps the isolate alive and tests can drain it).
   */
  kick(): void {
    const run = this.deliverDue();
    if (this.#options.background) this.#options.background.track(run);
    else run.catch(() => {});
  }

  /** Delivers every alert that is due now; never throws (failures are recorded per alert). */
  async deliverDue(limit = 20): Promise<DeliveryReport> {
    const report = { attempted: 0, delivered: 0, failed: 0 };
    if (this.#options.sinks.length === 0) {
      // Nothing to deliver to: mark due alerts done so the outbox does not grow forever.
      await this.#options.sql.query(
        `UPDATE ops_alerts SET done_at = clock_timestamp(), last_error = 'no alert sinks configured'
          WHERE done_at IS NULL AND next_attempt_at <= clock_timestamp()`,
      ).catch((error) => this.#log("could not close alerts without sinks", error));
      return report;
    }
    let claimed: AlertRow[];
    try {
      claimed = await this.#claim(limit);
    } catch (error) {
      this.#log("could not read the alert outbox", error);
      return report;
    }
    for (const row of claimed) {
      report.attempted++;
      const ok = await this.#deliver(row);
      if (ok) report.delivered++;
      else report.failed++;
    }
    return report;
  }

  /** Due and lease times use the database clock: one clock for every dispatcher. */
  async #claim(limit: number): Promise<AlertRow[]> {
    const { rows } = await this.#options.sql.query<AlertRow>(
      `UPDATE ops_alerts a
          SET next_attempt_at = clock_timestamp() + $1 * interval '1 millisecond',
              attempts = a.attempts + 1
        WHERE a.id IN (SELECT id FROM ops_alerts
                        WHERE done_at IS NULL AND next_attempt_at <= clock_timestamp()
                        ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
        RETURNING a.id, a.kind, a.severity, a.function_name, a.title, a.details,
                  a.delivered_to, a.attempts, a.created_at`,
      [this.#leaseMs, limit],
    );
    return rows.sort((x, y) => Number(x.id) - Number(y.id));
  }

  async #deliver(row: AlertRow): Promise<boolean> {
    const alert: Alert = {
      id: Number(row.id),
      kind: row.kind,
      severity: row.severity,
      functionName: row.function_name,
      title: row.title,
      details: row.details ?? {},
      createdAt: row.created_at instanceof Date ? row.created_at : new Date(row.created_at),
    };
    const delivered = new Set(row.delivered_to ?? []);
    const errors: string[] = [];
    for (const sink of this.#options.sinks) {
      if (delivered.has(sink.name)) continue;
      try {
        await sink.send(alert);
        delivered.add(sink.name);
      } catch (error) {
        errors.push(`${sink.name}: ${describe(error)}`);
      }
    }
    const complete = this.#options.sinks.every((sink) => delivered.has(sink.name));
    const attempts = Number(row.attempts);
    const givenUp = !complete && attempts >= this.#maxAttempts;
    const retryInMs = this.#retryBaseMs * 2 ** (attempts - 1);
    try {
      await this.#options.sql.query(
        `UPDATE ops_alerts
            SET delivered_to = ARRAY(SELECT jsonb_array_elements_text($2::text::jsonb)),
                last_error = $3,
                done_at = CASE WHEN $4 THEN clock_timestamp() END,
                next_attempt_at = clock_timestamp() + $5 * interval '1 millisecond'
          WHERE id = $1`,
        [
          alert.id,
          JSON.stringify([...delivered]),
          errors.length > 0 ? errors.join("; ") : null,
          complete || givenUp,
          retryInMs,
        ],
      );
    } catch (error) {
      // The lease expires and the alert is tried again; a sink that already accepted it may
      // then see it twice, which beats losing it.
      this.#log("could not record alert delivery", error, { alert_id: alert.id });
    }
    if (errors.length > 0) {
      this.#log(
        givenUp ? "alert delivery given up" : "alert delivery failed; will retry",
        errors.join("; "),
        { alert_id: alert.id, kind: alert.kind, attempts },
      );
    }
    return complete;
  }

  #log(message: string, error: unknown, fields: Record<string, unknown> = {}): void {
    const logger = this.#options.logger;
    const detail = describe(error);
    if (logger) logger.warn(message, { ...fields, error: detail });
    else console.warn(JSON.stringify({ level: "warn", msg: message, ...fields, error: detail }));
  }
}

function describe(error: unknown): string {
  return redactString(error instanceof Error ? error.message : String(error));
}
