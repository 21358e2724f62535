/**
 * Builds the operations services from plain dependencies: the one place that decides which alert
 * sinks exist and how operators authenticate. register.ts calls it from the DI container; the CLI
 * and tests call it directly.
 */
import type { SqlClient } from "../db/sql-client.ts";
import type { RoutingEnv } from "../flags/resolve.ts";
import { BackgroundTasks } from "../migrator/background.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import {
  type AdminKeyVerifier,
  adminKeyVerifier,
  DashboardSessions,
  type OpsAuth,
} from "./admin-auth.ts";
import { sentryAlertSink, type SentryLike, webhookAlertSink } from "./alert-sinks.ts";
import { AlertDispatcher, type AlertSink } from "./alerts.ts";
import { OpsContext } from "./context.ts";
import { RolloutController, type RolloutDefaults } from "./controller.ts";
import type { AppError, Result } from "../result.ts";
import { BatchLevers, type BatchLeverState, setBatchControls } from "./batch-levers.ts";
import { DivergenceAdmin } from "./divergences.ts";
import type { Actor } from "./types.ts";
import { EmergencySwitch } from "./emergency.ts";
import type { WatchThresholds } from "./watch.ts";

export interface OpsServicesOptions {
  readonly sql: SqlClient;
  /** Routing env (MIGRATION_ROLLOUT_PERCENTAGE, canary defaults…) for effective values. */
  readonly routingEnv: RoutingEnv;
  /** Service-role keys accepted as admin credentials (legacy JWT key, sb_secret_… keys). */
  readonly serviceRoleKeys?: readonly (string | undefined)[];
  /** OPS_ADMIN_SECRET: a second credential just for operators (≥ 32 characters). */
  readonly adminSecret?: string;
  /** Replaces the key comparison (e.g. JWT verification of service_role tokens). */
  readonly verifyKey?: AdminKeyVerifier;
  /** OPS_ALERT_WEBHOOK_URL: a Slack-compatible incoming webhook. */
  readonly alertWebhookUrl?: string;
  /** The Sentry SDK (module namespace) when SENTRY_DSN is configured. */
  readonly sentry?: SentryLike;
  /** Extra sinks (e.g. another chat system). */
  readonly extraSinks?: readonly AlertSink[];
  readonly knownFunctions?: readonly string[];
  readonly defaults?: Partial<RolloutDefaults>;
  /** The always-on watch's thresholds (OPS_WATCH_THRESHOLDS; default the runbook's; false = off). */
  readonly watch?: WatchThresholds | false;
  /** Called after a committed flag change (FlagsCache.invalidate). */
  readonly onFlagsChanged?: (functionName: string) => void;
  readonly background?: BackgroundTasks;
  readonly logger?: Logger;
  readonly now?: () => Date;
}

export interface OpsServices {
  readonly sql: SqlClient;
  readonly routingEnv: RoutingEnv;
  readonly context: OpsContext;
  readonly controller: RolloutController;
  readonly emergency: EmergencySwitch;
  readonly divergences: DivergenceAdmin;
  /** The batch levers (pause, throttle, window); also the batch engine's gate. */
  readonly batch: {
    readonly levers: BatchLevers;
    state(): Promise<BatchLeverState>;
    set(input: unknown, actor: Actor): Promise<Result<BatchLeverState, AppError>>;
  };
  readonly alerts: AlertDispatcher;
  readonly auth: OpsAuth;
  readonly background: BackgroundTasks;
  readonly knownFunctions?: readonly string[];
  /** Waits for alert deliveries in flight (shutdown, tests, the CLI before it exits). */
  drain(): Promise<void>;
}

export function createOpsServices(options: OpsServicesOptions): OpsServices {
  const logger = options.logger ?? createLogger({ fields: { component: "ops" } });
  const background = options.background ??
    new BackgroundTasks({
      onError: (error) => logger.error("ops background task failed", { error }),
    });
  const sinks: AlertSink[] = [];
  if (options.sentry) sinks.push(sentryAlertSink(options.sentry));
  if (options.alertWebhookUrl) sinks.push(webhookAlertSink(options.alertWebhookUrl));
  sinks.push(...(options.extraSinks ?? []));
  const alerts = new AlertDispatcher({ sql: options.sql, sinks, background, logger });
  const context = new OpsContext({
    sql: options.sql,
    alerts,
    logger,
    now: options.now,
    onFlagsChanged: options.onFlagsChanged,
  });
  const controller = new RolloutController({
    context,
    defaults: options.defaults,
    envRolloutPercentage: options.routingEnv.MIGRATION_ROLLOUT_PERCENTAGE,
    knownFunctions: options.knownFunctions,
    watch: options.watch,
  });
  const sessionSecret = options.adminSecret ??
    options.serviceRoleKeys?.find((key): key is string => !!key && key.length >= 16);
  const auth: OpsAuth = {
    verifyKey: options.verifyKey ??
      adminKeyVerifier({
        serviceRoleKeys: options.serviceRoleKeys,
        adminSecret: options.adminSecret,
      }),
    ...(sessionSecret ? { sessions: new DashboardSessions(sessionSecret) } : {}),
  };
  const levers = new BatchLevers(options.sql, context.now);
  return {
    sql: options.sql,
    routingEnv: options.routingEnv,
    context,
    controller,
    emergency: new EmergencySwitch(context),
    divergences: new DivergenceAdmin(context),
    batch: {
      levers,
      state: () => levers.state(),
      set: (input, actor) => setBatchControls(context, input, actor),
    },
    alerts,
    auth,
    background,
    knownFunctions: options.knownFunctions,
    drain: () => background.drain(),
  };
}
