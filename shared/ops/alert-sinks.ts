/**
 * Where alerts go: a Slack-compatible incoming webhook (POST JSON `{ text, attachments }`) and
 * Sentry. Both throw on failure so the dispatcher retries; neither ever puts the webhook URL (it
 * embeds a token) or any secret into an error message or a log.
 */
import { captureMessage, flushSentry, isSentryEnabled } from "../observability/sentry.ts";
import type { Alert, AlertSink } from "./alerts.ts";

export interface WebhookSinkOptions {
  /** Sink name in ops_alerts.delivered_to (default "webhook"; name a second webhook apart). */
  readonly name?: string;
  /** Default 5 s: a hanging webhook must not hold an evaluation. */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

const COLORS = { critical: "danger", warning: "warning", info: "good" } as const;
const LABELS = { critical: "CRITICAL", warning: "WARNING", info: "INFO" } as const;

interface Field {
  title: string;
  value: string;
  short: boolean;
}

/** The figures an operator needs at a glance, from an alert's details. */
export function alertFields(alert: Alert): Field[] {
  const d = alert.details;
  const fields: Field[] = [];
  const add = (title: string, value: unknown, short = true) => {
    if (value !== undefined && value !== null && value !== "") {
      fields.push({ title, value: String(value), short });
    }
  };
  add("Function", alert.functionName ?? "all functions");
  add("Rollout", d.percentage !== undefined ? `${d.percentage} %` : undefined);
  add("Step", d.step);
  const figures = d.figures as
    | {
      abstracted?: { requests?: number; errorRate?: number | null; p95Ms?: number | null };
      comparisons?: { mismatchRate?: number | null };
    }
    | undefined;
  const a = figures?.abstracted;
  if (a) {
    add("Abstracted requests", a.requests);
    add("Error rate", a.errorRate == null ? undefined : `${(a.errorRate * 100).toFixed(1)} %`);
    add("p95", a.p95Ms == null ? undefined : `${a.p95Ms} ms`);
  }
  const mismatch = figures?.comparisons?.mismatchRate;
  add("Mismatch rate", mismatch == null ? undefined : `${(mismatch * 100).toFixed(1)} %`);
  add("Reason", d.reason, false);
  add("By", d.by);
  return fields;
}

/** The Slack-compatible message body. */
export function webhookPayload(alert: Alert): {
  text: string;
  attachments: Array<Record<string, unknown>>;
} {
  return {
    text: `[${LABELS[alert.severity]}] ${alert.title}`,
    attachments: [{
      color: COLORS[alert.severity],
      title: alert.title,
      fields: alertFields(alert),
      footer: `edge-migrator ops · ${alert.kind} · alert ${alert.id}`,
      ts: Math.floor(alert.createdAt.getTime() / 1000),
    }],
  };
}

export function webhookAlertSink(url: string, options: WebhookSinkOptions = {}): AlertSink {
  const parsed = new URL(url); // throws on a malformed URL at wiring time, not per alert
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new TypeError("the alert webhook URL must be http(s)");
  }
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 5000;
  return {
    name: options.name ?? "webhook",
    async send(alert) {
      let response: Response;
      try {
        response = await doFetch(url, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(webhookPayload(alert)),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        // Deno's fetch errors quote the URL; only the error's kind leaves this function.
        const kind = error instanceof Error ? error.name : "Error";
        throw new Error(`webhook request failed (${kind})`);
      }
      await response.body?.cancel();
      if (!response.ok) throw new Error(`webhook answered ${response.status}`);
    },
  };
}

/**
 * The part of a Sentry client the sink uses. `observabilitySentry()` adapts the project's
 * shared/observability/sentry.ts (scrubbing, one SDK per process); the @sentry/deno module
 * namespace satisfies it too.
 */
export interface SentryLike {
  captureMessage(
    message: string,
    context: {
      level: "error" | "warning" | "info";
      tags: Record<string, string>;
      extra: Record<string, unknown>;
      fingerprint: string[];
    },
  ): string;
  flush(timeoutMs?: number): Promise<boolean>;
  /** When present and returning undefined, Sentry was never initialised: a failed delivery. */
  getClient?(): unknown;
}

const SENTRY_LEVELS = { critical: "error", warning: "warning", info: "info" } as const;

export function sentryAlertSink(sentry: SentryLike, options: { flushMs?: number } = {}): AlertSink {
  return {
    name: "sentry",
    async send(alert) {
      if (sentry.getClient && sentry.getClient() === undefined) {
        throw new Error("Sentry is not initialised (SENTRY_DSN unset or init not called)");
      }
      sentry.captureMessage(alert.title, {
        level: SENTRY_LEVELS[alert.severity],
        tags: {
          component: "ops",
          alert_kind: alert.kind,
          function: alert.functionName ?? "*",
        },
        extra: { alert_id: alert.id, ...alert.details },
        // One Sentry issue per kind of alert and function, not one per occurrence.
        fingerprint: ["edge-migrator-ops", alert.kind, alert.functionName ?? "*"],
      });
      if (!(await sentry.flush(options.flushMs ?? 2000))) {
        throw new Error("Sentry did not confirm delivery in time");
      }
    },
  };
}

/** The project's Sentry (shared/observability/sentry.ts) as a SentryLike; initSentry() must run. */
export function observabilitySentry(): SentryLike {
  return {
    captureMessage: (message, context) =>
      captureMessage(message, context.level, {
        tags: context.tags,
        extra: context.extra,
        fingerprint: context.fingerprint,
      }) ?? "",
    flush: (timeoutMs) => flushSentry(timeoutMs),
    getClient: () => (isSentryEnabled() ? true : undefined),
  };
}
