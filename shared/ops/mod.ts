/**
 * Operations: metric-gated rollouts, automatic / planned / emergency rollback, alerts and the
 * dashboard. Import from here.
 *
 *   const ops = createOpsServices({ sql, routingEnv: config.env, serviceRoleKeys: [key] });
 *   app.route("/migrate-batch", createOpsApp(ops));          // /admin/... and /dashboard
 *   await ops.controller.evaluateRollouts();                   // what the cron runs
 *   await ops.emergency.engage({ confirm: "ROLLBACK", reason }, { by: "oncall" });
 */
export type * from "./types.ts";
export { ACTIVE_STATUSES, ROLLOUT_STATUSES, targetPercentage } from "./types.ts";
export {
  DEFAULT_ANALYSIS,
  DEFAULT_HOLD_SECONDS,
  DEFAULT_ROLLBACK_STEPS,
  DEFAULT_STEPS,
  DEFAULT_THRESHOLDS,
  EMERGENCY_CONFIRMATION,
  UNDO_CONFIRMATION,
} from "./analysis.ts";
export { evaluateHealth, judgeHealth, measureHealth } from "./health.ts";
export {
  effectivePercentage,
  type EvaluationReport,
  type EvaluationResult,
  type OpsOverview,
  RolloutController,
  type RolloutDefaults,
  type RolloutView,
} from "./controller.ts";
export { EmergencySwitch, type KillSwitchState } from "./emergency.ts";
export { OpsContext } from "./context.ts";
export { type Alert, AlertDispatcher, type AlertSink, queueAlert } from "./alerts.ts";
export { sentryAlertSink, webhookAlertSink, webhookPayload } from "./alert-sinks.ts";
export {
  type AdminKeyVerifier,
  adminKeyVerifier,
  DashboardSessions,
  type OpsAuth,
} from "./admin-auth.ts";
export { createOpsRoutes, type OpsRoutesDeps } from "./routes.ts";
export { createDashboardRoutes, type DashboardRoutesDeps } from "./dashboard/routes.ts";
export { type DashboardData, loadDashboardData } from "./dashboard/data.ts";
export { createOpsApp, type OpsAppOptions } from "./app.ts";
export { createOpsServices, type OpsServices, type OpsServicesOptions } from "./services.ts";
export { OpsServicesToken } from "./tokens.ts";
export { type OpsRegisterOptions, registerOps } from "./register.ts";
