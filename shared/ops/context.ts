/**
 * What the rollout controller and the emergency switch share: the database, the alert outbox's
 * dispatcher, a logger, a clock, and a hook for flag changes. Every operator action runs in one
 * transaction (state row, runtime flag, migration_log entry and queued alert commit together);
 * delivery of the alert and the flag-cache hook run after the commit.
 */
import type { SqlClient } from "../db/sql-client.ts";
import { RuntimeFlagsStore } from "../flags/store.ts";
import type { RuntimeFlagsRow } from "../flags/types.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import { AppError, err, ok, type Result } from "../result.ts";
import type { AlertDispatcher, AlertInput } from "./alerts.ts";
import { queueAlert } from "./alerts.ts";

export interface OpsContextOptions {
  readonly sql: SqlClient;
  /** Delivers queued alerts; without one, alerts stay queued in ops_alerts. */
  readonly alerts?: AlertDispatcher;
  readonly logger?: Logger;
  /** Clock for operator actions (evaluations take `now` explicitly). */
  readonly now?: () => Date;
  /**
   * Called after a committed flag change, e.g. FlagsCache.invalidate, so the instance that made
   * the change routes by it at once (the others within the cache TTL).
   */
  readonly onFlagsChanged?: (functionName: string) => void;
}

export class OpsContext {
  readonly sql: SqlClient;
  readonly alerts: AlertDispatcher | undefined;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly #onFlagsChanged: ((functionName: string) => void) | undefined;

  constructor(options: OpsContextOptions) {
    this.sql = options.sql;
    this.alerts = options.alerts;
    this.logger = options.logger ?? createLogger({ fields: { component: "ops" } });
    this.now = options.now ?? (() => new Date());
    this.#onFlagsChanged = options.onFlagsChanged;
  }

  /**
   * Runs `work` in a transaction with a unit of work that collects flag changes and alerts;
   * after the commit, queued alerts start going out in the background.
   * An AppError thrown (or returned as a failed Result) inside rolls everything back and comes
   * out as that Result; anything else is a database_error.
   */
  async transact<T>(
    action: string,
    work: (unit: UnitOfWork) => Promise<Result<T, AppError>>,
    options: { deliverAlerts?: boolean } = {},
  ): Promise<Result<T, AppError>> {
    const changed = new Set<string>();
    let alerts = 0;
    let result: Result<T, AppError>;
    try {
      result = await this.sql.transaction(async (tx) => {
        const unit: UnitOfWork = {
          tx,
          flags: new RuntimeFlagsStore(tx),
          async setFlags(functionName, patch, audit) {
            const written = await this.flags.upsert(functionName, patch, audit);
            if (!written.ok) throw written.error;
            changed.add(functionName);
            return written.value;
          },
          async alert(input) {
            alerts++;
            return await queueAlert(tx, input);
          },
        };
        const outcome = await work(unit);
        // A failed Result must not commit half of what it did.
        if (!outcome.ok) throw outcome.error;
        return outcome;
      });
    } catch (error) {
      if (error instanceof AppError) return err(error);
      this.logger.error(`${action} failed`, { error });
      return err(new AppError("database_error", `${action} failed`, undefined, { cause: error }));
    }
    for (const name of changed) {
      try {
        this.#onFlagsChanged?.(name);
      } catch (error) {
        this.logger.warn("flags change hook failed", { error });
      }
    }
    // The scheduled evaluation delivers once at the end of its run instead (deliverAlerts false).
    if (alerts > 0 && options.deliverAlerts !== false) this.alerts?.kick();
    return result.ok ? ok(result.value) : result;
  }
}

export interface UnitOfWork {
  readonly tx: SqlClient;
  readonly flags: RuntimeFlagsStore;
  /** Writes runtime_flags (validated by the flags store); a failure aborts the transaction. */
  setFlags(
    functionName: string,
    patch: Record<string, unknown>,
    audit: { updatedBy?: string; reason?: string },
  ): Promise<RuntimeFlagsRow>;
  /** Queues an alert in the outbox; delivered after commit. */
  alert(input: AlertInput): Promise<number>;
}
