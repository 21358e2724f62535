/**
 * `deno task ops`: operate rollouts from a terminal, against DATABASE_URL (or SUPABASE_DB_URL),
 * else the embedded PGlite data directory of the dev server (.data/pglite).
 *
 *   deno task ops status [FN]
 *   deno task ops start FN [--steps 1,5,10,25,50,75,100] [--hold 5m] [--reason TEXT]
 *   deno task ops retry FN [--from-step N]          deno task ops pause|resume FN
 *   deno task ops rollback FN [--steps 75,50,25,10,0] [--hold 1m]   (planned rollback)
 *   deno task ops set FN PERCENT                    deno task ops evaluate
 *   deno task ops emergency-rollback --reason TEXT [--yes]
 *   deno task ops undo-emergency [--reason TEXT] [--yes]
 *   deno task ops dashboard [--port N]   (a hosted project's dashboard, local/ops-dashboard/)
 *   deno task ops dependencies                      what still depends on Supabase Auth
 *   deno task ops stage [FN [TO --reason TEXT]]     migration stages: list, gate, move
 *   deno task ops stage audit [FN]                  who moved which stage when, and why
 *
 * Same services as the admin routes (shared/ops), so every change is one transaction with its
 * migration_log entry and queued alert; the CLI waits for alert delivery before it exits.
 * Exit codes: 0 done, 1 the operation was refused or failed, 2 usage error.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../shared/config/env.ts";
import {
  type DependencyReport,
  findAuthDependencies,
  formatDependencyReport,
} from "../shared/cutover/dependencies.ts";
import { openPostgres } from "../shared/db/postgres-client.ts";
import { createStageService } from "../shared/cutover/register.ts";
import {
  formatAudit,
  formatGate,
  formatMove,
  formatStages,
  formatStageView,
} from "../shared/cutover/format.ts";
import type { MoveOutcome, StageView } from "../shared/cutover/stage-service.ts";
import type { StageAuditRow } from "../shared/cutover/stage-store.ts";
import {
  isStage,
  isStagedFunction,
  type StagedFunction,
  STAGES,
} from "../shared/cutover/stages.ts";
import type { SqlClient } from "../shared/db/sql-client.ts";
import { createAppContainer } from "../shared/di/app-container.ts";
import { redactString } from "../shared/observability/redact.ts";
import { EMERGENCY_CONFIRMATION, UNDO_CONFIRMATION } from "../shared/ops/analysis.ts";
import { formatOverview, formatRollout, formatState } from "../shared/ops/format.ts";
import type { OpsOverview, RolloutView } from "../shared/ops/controller.ts";
import type { RolloutState } from "../shared/ops/types.ts";
import { registerOps } from "../shared/ops/register.ts";
import { OpsServicesToken } from "../shared/ops/tokens.ts";
import type { AppError, Result } from "../shared/result.ts";
import type { BatchLeverState } from "../shared/ops/batch-levers.ts";
import { DataDirInUseError } from "../local/db/data-dir-lock.ts";
import { watchLauncher } from "../local/process/launcher-watch.ts";
import { DEFAULT_DATA_DIR, openStandinDatabase } from "../local/standin/database.ts";

const USAGE = `Usage: deno task ops <command> [arguments] [options]

Commands:
  status [FN]                 kill switch, rollouts and flags (one function in detail)
  start FN                    start the staged rollout (default 1 → 5 → 10 → 25 → 50 → 75 → 100 %)
  retry FN                    restart an aborted rollout (--from-step N)
  pause FN | resume FN        hold / continue a rollout
  rollback FN                 planned rollback, stepping down 75 → 50 → 25 → 10 → 0 %
  set FN PERCENT              set the rollout percentage by hand (pauses a running rollout)
  canary FN                   canary levers: --on | --off, --percentage N, --selection S,
                              --whitelist a@x,b@y, --domains x.com,y.com ("none" clears a list)
  batch status|pause|resume   batch migration levers (what holds it now)
  batch set                   --rate N (users per second; "off" removes), --window HH:MM-HH:MM
                              (UTC, may wrap midnight; "off" removes)
  evaluate                    run one scheduled evaluation now (rollouts and the always-on watch)
  emergency-rollback          force the ORIGINAL implementation for every function
  undo-emergency              lift the emergency rollback
  dashboard                   serve a hosted project's dashboard locally (--help for details)
  dependencies                what in the database still depends on Supabase Auth (foreign
                              keys, RLS policies, views, functions, triggers), blocking first
  stage                       migration stages of signup and login (what each writes and reads)
  stage FN                    FN's stage and the gate to its next stage, evaluated now
  stage FN TO --reason TEXT   move FN to stage TO: forward one step through its gate, or back
                              to any earlier stage (no gate); complete is final
  stage audit [FN]            the audit of stage moves and refusals, newest first

Options:
  --steps 1,5,10              plan (start) or rollback steps (rollback)
  --hold 300s|5m              hold time per step
  --from-step N               retry from this step index (0-based)
  --reason TEXT               why (stored in migration_log and runtime_flags; required for
                              emergency-rollback)
  --by NAME                   operator recorded in the audit (default: $USER)
  --yes                       skip the typed confirmation of emergency-rollback / undo-emergency
  --database-url URL          default DATABASE_URL or SUPABASE_DB_URL
  --data-dir DIR              PGlite data directory (default ${DEFAULT_DATA_DIR})
  --json                      print JSON
  --help                      this text`;

class UsageError extends Error {}

function parseDuration(text: string, flag: string): number {
  const match = /^(\d+)(s|m|h)?$/.exec(text.trim());
  if (!match) throw new UsageError(`--${flag}: expected e.g. 300s, 5m or 1h, got "${text}"`);
  const value = Number(match[1]);
  return match[2] === "h" ? value * 3600 : match[2] === "m" ? value * 60 : value;
}

function parseSteps(text: string): number[] {
  const steps = text.split(",").map((part) => Number(part.trim()));
  if (steps.some((step) => !Number.isFinite(step))) {
    throw new UsageError(`--steps: expected numbers like 1,5,10, got "${text}"`);
  }
  return steps;
}

/** The database the command acts on; refuses a PGlite directory another process has open. */
async function openDatabase(flags: { "database-url"?: string; "data-dir"?: string }): Promise<{
  db: SqlClient;
  where: string;
}> {
  const url = flags["database-url"] ?? Deno.env.get("DATABASE_URL") ??
    Deno.env.get("SUPABASE_DB_URL");
  if (url) return { db: openPostgres({ url, max: 2 }), where: redactString(url) };
  const dataDir = resolve(flags["data-dir"] ?? Deno.env.get("PGLITE_DATA_DIR") ?? DEFAULT_DATA_DIR);
  const exists = (path: string) => Deno.stat(path).then(() => true, () => false);
  if (!await exists(`${dataDir}/PG_VERSION`)) {
    throw new UsageError(
      `no PGlite database at ${dataDir}: start \`deno task dev\` once, or set DATABASE_URL`,
    );
  }
  // PGlite is a single-process database: the data directory's lock keeps a second process out.
  let opened;
  try {
    opened = await openStandinDatabase({ dataDir, cacheDir: null });
  } catch (error) {
    if (!(error instanceof DataDirInUseError)) throw error;
    throw new UsageError(
      `${error.message} With \`deno task dev\` running, call the admin API instead: ` +
        "POST /functions/v1/migrate-batch/admin/... with the service-role key",
    );
  }
  return { db: opened.db, where: `PGlite ${dataDir}` };
}

function confirmTyped(word: string, what: string, yes: boolean): boolean {
  if (yes) return true;
  if (!Deno.stdin.isTerminal()) {
    throw new UsageError(`${what} needs --yes when not run from a terminal`);
  }
  const answer = prompt(`${what}\nType ${word} to confirm:`);
  return answer?.trim() === word;
}

function print(json: boolean, value: unknown, human: () => string): void {
  console.log(json ? JSON.stringify(value, null, 2) : human());
}

async function main(): Promise<number> {
  // Started by a launcher that forwards no signal (node_modules/.bin/deno task ops): end with it.
  watchLauncher(() => Deno.exit(143));
  if (Deno.args[0] === "dashboard") {
    const { runDashboardCommand } = await import("../local/ops-dashboard/cli.ts");
    return await runDashboardCommand(Deno.args.slice(1));
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      allowPositionals: true,
      strict: true,
      options: {
        steps: { type: "string" },
        hold: { type: "string" },
        "from-step": { type: "string" },
        reason: { type: "string" },
        by: { type: "string" },
        yes: { type: "boolean" },
        "database-url": { type: "string" },
        "data-dir": { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean" },
        on: { type: "boolean" },
        off: { type: "boolean" },
        percentage: { type: "string" },
        selection: { type: "string" },
        whitelist: { type: "string" },
        domains: { type: "string" },
        rate: { type: "string" },
        window: { type: "string" },
      },
    });
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : error}\n\n${USAGE}`);
    return 2;
  }
  const { values: flags, positionals } = parsed;
  const [command, fn, extra] = positionals;
  if (flags.help || !command) {
    console.log(USAGE);
    return flags.help ? 0 : 2;
  }
  const json = flags.json ?? false;
  const actor = {
    by: flags.by ?? Deno.env.get("USER") ?? "cli",
    ...(flags.reason ? { reason: flags.reason } : {}),
  };
  const needsFunction = ["start", "retry", "pause", "resume", "rollback", "set", "canary", "batch"];
  const known = [
    ...needsFunction,
    "status",
    "evaluate",
    "emergency-rollback",
    "undo-emergency",
    "dependencies",
    "stage",
  ];
  if (!known.includes(command)) {
    console.error(`unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  if (needsFunction.includes(command) && !fn) {
    if (command === "batch") {
      console.error("batch needs status, pause, resume or set, e.g. `deno task ops batch pause`");
      return 2;
    }
    console.error(`${command} needs a function name, e.g. \`deno task ops ${command} signup\``);
    return 2;
  }

  let db: SqlClient | undefined;
  let container: ReturnType<typeof createAppContainer> | undefined;
  try {
    const config = loadConfig(Deno.env.toObject());
    const opened = await openDatabase(flags);
    db = opened.db;
    if (!json) console.error(`(${opened.where})`);
    container = registerOps(createAppContainer(config, { sql: db }));
    const ops = await container.get(OpsServicesToken);
    const { controller, emergency } = ops;

    const body: Record<string, unknown> = {};
    if (flags.reason) body.reason = flags.reason;
    if (flags.steps) body.steps = parseSteps(flags.steps);
    if (flags.hold) body.holdSeconds = parseDuration(flags.hold, "hold");

    let result: Result<unknown, AppError>;
    let human: (value: unknown) => string = (value) => JSON.stringify(value, null, 2);
    switch (command) {
      case "status": {
        if (fn) {
          result = await controller.get(fn);
          human = (value) => formatRollout(value as RolloutView);
        } else {
          result = await controller.overview();
          human = (value) => formatOverview(value as OpsOverview);
        }
        break;
      }
      case "start":
        result = await controller.start(fn!, body, actor);
        human = (value) => `started: ${formatState(value as RolloutState)}`;
        break;
      case "retry": {
        const retryBody: Record<string, unknown> = flags.reason ? { reason: flags.reason } : {};
        if (flags["from-step"] !== undefined) {
          if (!/^\d+$/.test(flags["from-step"])) {
            throw new UsageError("--from-step: a whole number");
          }
          retryBody.fromStep = Number(flags["from-step"]);
        }
        result = await controller.retry(fn!, retryBody, actor);
        human = (value) => `restarted: ${formatState(value as RolloutState)}`;
        break;
      }
      case "pause":
      case "resume":
        result = await controller[command](
          fn!,
          flags.reason ? { reason: flags.reason } : {},
          actor,
        );
        human = (value) => formatState(value as RolloutState);
        break;
      case "rollback":
        result = await controller.rollback(fn!, body, actor);
        human = (v) => {
          const state = v as { rollbackSteps: number[] };
          return `${fn}: planned rollback ${state.rollbackSteps.join(" → ")} %`;
        };
        break;
      case "set": {
        if (extra === undefined || !/^\d+(\.\d+)?$/.test(extra)) {
          throw new UsageError("set needs a percentage, e.g. `deno task ops set signup 25`");
        }
        result = await controller.setPercentage(fn!, {
          percentage: Number(extra),
          ...(flags.reason ? { reason: flags.reason } : {}),
        }, actor);
        human = () => `${fn}: rollout percentage set to ${extra} %`;
        break;
      }
      case "canary": {
        const list = (text: string | undefined) =>
          text === undefined
            ? undefined
            : text === "none"
            ? null
            : text.split(",").map((item) => item.trim()).filter(Boolean);
        if (flags.on && flags.off) throw new UsageError("canary: --on or --off, not both");
        if (flags.percentage !== undefined && !/^\d+(\.\d+)?$/.test(flags.percentage)) {
          throw new UsageError("--percentage: a number from 0 to 100");
        }
        const canary = Object.fromEntries(
          Object.entries({
            enabled: flags.on ? true : flags.off ? false : undefined,
            percentage: flags.percentage === undefined ? undefined : Number(flags.percentage),
            selection: flags.selection,
            whitelist: list(flags.whitelist),
            emailDomains: list(flags.domains),
            reason: flags.reason,
          }).filter(([, value]) => value !== undefined),
        );
        result = await controller.setCanary(fn!, canary, actor);
        human = (v) => {
          const row = v as { canaryEnabled: boolean | null; canaryPercentage: number | null };
          return `${fn}: canary ${row.canaryEnabled ? "on" : "off"}${
            row.canaryPercentage === null ? "" : ` at ${row.canaryPercentage} %`
          }`;
        };
        break;
      }
      case "batch": {
        const describe = (v: unknown) => {
          const s = v as BatchLeverState;
          return [
            `batch: ${s.hold ? `HELD (${s.hold})` : "may run"}`,
            `  paused ${s.paused} · throttle ${s.maxUsersPerSecond ?? "none"} users/s · window ${
              s.window ? `${s.window.start}–${s.window.end} UTC` : "any time"
            }`,
            ...(s.reason ? [`  reason: ${s.reason}`] : []),
          ].join("\n");
        };
        human = describe;
        if (fn === "status") {
          result = { ok: true, value: await ops.batch.state() };
        } else if (fn === "pause" || fn === "resume") {
          result = await ops.batch.set({
            paused: fn === "pause",
            ...(flags.reason ? { reason: flags.reason } : {}),
          }, actor);
        } else if (fn === "set") {
          const levers: Record<string, unknown> = flags.reason ? { reason: flags.reason } : {};
          if (flags.rate !== undefined) {
            if (flags.rate !== "off" && !/^\d+(\.\d+)?$/.test(flags.rate)) {
              throw new UsageError("--rate: users per second, or off");
            }
            levers.maxUsersPerSecond = flags.rate === "off" ? null : Number(flags.rate);
          }
          if (flags.window !== undefined) {
            const match = /^(\d\d:\d\d)-(\d\d:\d\d)$/.exec(flags.window);
            if (flags.window !== "off" && !match) {
              throw new UsageError("--window: HH:MM-HH:MM (UTC), or off");
            }
            levers.window = match ? { start: match[1], end: match[2] } : null;
          }
          result = await ops.batch.set(levers, actor);
        } else {
          throw new UsageError("batch needs status, pause, resume or set");
        }
        break;
      }
      case "evaluate":
        result = { ok: true, value: await controller.evaluateRollouts() };
        human = (v) => {
          const report = v as {
            results: Array<{ functionName: string; action: string }>;
            watch: { raised: string[] } | null;
          };
          const rollouts = report.results.length === 0
            ? "no active rollouts"
            : report.results.map((r) => `${r.functionName}: ${r.action}`).join("\n");
          const raised = report.watch?.raised ?? [];
          return `${rollouts}\nwatch: ${raised.length === 0 ? "no new alerts" : raised.join(", ")}`;
        };
        break;
      case "emergency-rollback": {
        if (!flags.reason) throw new UsageError("emergency-rollback needs --reason");
        const confirmed = confirmTyped(
          EMERGENCY_CONFIRMATION,
          "This forces the ORIGINAL implementation for EVERY function.",
          flags.yes ?? false,
        );
        if (!confirmed) {
          console.error("not confirmed; nothing changed");
          return 1;
        }
        result = await emergency.engage(
          { confirm: EMERGENCY_CONFIRMATION, reason: flags.reason },
          actor,
        );
        human = (v) =>
          (v as { changed: boolean }).changed
            ? "EMERGENCY ROLLBACK ENGAGED: every function serves the original (within the flags TTL)"
            : "the emergency rollback was already engaged";
        break;
      }
      case "undo-emergency": {
        const confirmed = confirmTyped(
          UNDO_CONFIRMATION,
          "This lifts the emergency rollback: routing follows the runtime flags again.",
          flags.yes ?? false,
        );
        if (!confirmed) {
          console.error("not confirmed; nothing changed");
          return 1;
        }
        result = await emergency.release({
          confirm: UNDO_CONFIRMATION,
          ...(flags.reason ? { reason: flags.reason } : {}),
        }, actor);
        human = (v) =>
          (v as { changed: boolean }).changed
            ? "emergency rollback lifted"
            : "the emergency rollback was not engaged";
        break;
      }
      case "stage": {
        const stages = createStageService(db, config.env);
        if (fn === "audit") {
          if (extra && !isStagedFunction(extra)) {
            throw new UsageError(`stage audit: ${extra} has no stages (signup, login)`);
          }
          result = { ok: true, value: await stages.audit(extra ? extra as StagedFunction : null) };
          human = (value) => formatAudit(value as StageAuditRow[]);
        } else if (!fn) {
          result = { ok: true, value: await stages.list() };
          human = (value) => formatStages(value as StageView[]);
        } else if (!isStagedFunction(fn)) {
          throw new UsageError(`stage: ${fn} has no stages (signup, login)`);
        } else if (!extra) {
          const checked = await stages.check(fn);
          result = { ok: true, value: checked };
          human = () => `${formatStageView(checked.view)}\n${formatGate(checked.gate)}`;
        } else {
          if (!isStage(extra)) {
            throw new UsageError(`stage: unknown stage "${extra}" (${STAGES.join(", ")})`);
          }
          if (!flags.reason?.trim()) throw new UsageError("stage: --reason TEXT is required");
          const outcome = await stages.move(fn, {
            to: extra,
            reason: flags.reason.trim(),
            actor: actor.by,
          });
          if (!outcome.ok) {
            if (json) console.log(JSON.stringify({ error: outcome }));
            else console.error(formatMove(outcome));
            return 1;
          }
          result = { ok: true, value: outcome };
          human = (value) => formatMove(value as MoveOutcome);
        }
        break;
      }
      case "dependencies":
        // Read-only report (shared/cutover/dependencies.ts), the same as the admin route.
        result = { ok: true, value: await findAuthDependencies(db) };
        human = (value) => formatDependencyReport(value as DependencyReport);
        break;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
    await ops.drain();
    if (!result.ok) {
      const error = result.error;
      if (json) {
        console.log(JSON.stringify({ error: { code: error.code, message: error.message } }));
      } else console.error(`${error.code}: ${error.message}`);
      return 1;
    }
    const value = result.value;
    print(json, value, () => human(value));
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(error.message);
      return 2;
    }
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    console.error(
      `ops failed: ${redactString(error instanceof Error ? error.message : String(error))}`,
    );
    return 1;
  } finally {
    await container?.dispose();
    await db?.close();
  }
}

Deno.exit(await main());
