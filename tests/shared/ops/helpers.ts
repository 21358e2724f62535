/**
 * Test helpers for shared/ops: simulated metric traffic (rows in performance_metrics exactly as
 * the migrator's metrics writer stores them), a real local webhook receiver, and a settable clock.
 */
import type { SqlClient } from "../../../shared/db/sql-client.ts";

export interface TrafficSpec {
  readonly path: "original" | "abstracted";
  readonly count: number;
  /** Newest request time; requests are spread 10 ms apart before it. */
  readonly at: Date;
  readonly status?: number;
  readonly success?: boolean;
  readonly fallback?: boolean;
  readonly durationMs?: number;
  readonly mismatch?: boolean | null;
  readonly operation?: string;
}

/** Inserts `count` metric rows for `functionName` in one statement. */
export async function simulateTraffic(
  db: SqlClient,
  functionName: string,
  spec: TrafficSpec,
): Promise<void> {
  if (spec.count <= 0) return;
  const status = spec.status ?? 200;
  await db.query(
    `INSERT INTO performance_metrics
       (function_name, operation, path, duration_ms, status, success, fallback, mismatch,
        request_id, recorded_at)
     SELECT $1, $2, $3, $4::float8, $5, $6, $7, $8::boolean, 'sim-' || g,
            $9::timestamptz - (g * interval '10 milliseconds')
     FROM generate_series(0, $10 - 1) AS g`,
    [
      functionName,
      spec.operation ?? "sim",
      spec.path,
      spec.durationMs ?? 50,
      status,
      spec.success ?? status < 500,
      spec.fallback ?? false,
      spec.mismatch ?? null,
      spec.at.toISOString(),
      spec.count,
    ],
  );
}

/** A clock the test moves by hand. */
export function manualClock(start: Date = new Date()) {
  let current = start.getTime();
  return {
    now: () => new Date(current),
    set(date: Date) {
      current = date.getTime();
    },
    advance(ms: number): Date {
      current += ms;
      return new Date(current);
    },
  };
}

export interface WebhookReceiver {
  readonly url: string;
  readonly bodies: Array<Record<string, unknown>>;
  /** Makes the next `n` calls answer with `status` (simulates an outage). */
  failNext(n: number, status?: number): void;
  /** Resolves once `count` bodies have arrived (or rejects after timeoutMs). */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A real HTTP server on a free port that records Slack-style webhook posts. */
export function startWebhookReceiver(): WebhookReceiver {
  const bodies: Array<Record<string, unknown>> = [];
  let failures = 0;
  let failStatus = 500;
  const waiters: Array<() => void> = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    const body = await req.json().catch(() => null);
    if (failures > 0) {
      failures--;
      return new Response("unavailable", { status: failStatus });
    }
    if (req.method !== "POST" || req.headers.get("content-type") !== "application/json") {
      return new Response("bad request", { status: 400 });
    }
    bodies.push(body as Record<string, unknown>);
    for (const wake of waiters.splice(0)) wake();
    return new Response("ok");
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hooks/T000/B000/XXXX`,
    bodies,
    failNext(n, status = 500) {
      failures = n;
      failStatus = status;
    },
    async waitFor(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (bodies.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`expected ${count} webhook posts, got ${bodies.length}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close: () => server.shutdown(),
  };
}

/** The current rollout percentage flag of a function (null when unset). */
export async function flagPercentage(db: SqlClient, functionName: string): Promise<number | null> {
  const { rows } = await db.query<{ rollout_percentage: number | null }>(
    "SELECT rollout_percentage FROM runtime_flags WHERE function_name = $1",
    [functionName],
  );
  return rows[0]
    ? (rows[0].rollout_percentage === null ? null : Number(rows[0].rollout_percentage))
    : null;
}

export async function logEntries(db: SqlClient, component: string) {
  const { rows } = await db.query<{
    phase: string;
    status: string;
    error_message: string | null;
    metadata: Record<string, unknown>;
  }>(
    `SELECT phase, status, error_message, metadata FROM migration_log
      WHERE component = $1 ORDER BY started_at, created_at`,
    [component],
  );
  return rows;
}
