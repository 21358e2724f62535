/** Plain-text views of the stages for the CLI (`deno task ops stage`). */
import type { GateResult } from "./gates.ts";
import type { StageAuditRow } from "./stage-store.ts";
import type { MoveOutcome, StageView } from "./stage-service.ts";

export function formatStageView(view: StageView): string {
  const since = view.entered_at ? ` since ${view.entered_at}` : " (env seed: no row yet)";
  return [
    `${view.function}: ${view.stage}${since}`,
    `  writes: ${view.writes}`,
    `  reads:  ${view.reads}`,
    `  next: ${view.next ?? "none (complete is final)"}` +
    (view.back_to.length ? `; back to: ${view.back_to.join(", ")}` : ""),
  ].join("\n");
}

export function formatStages(views: readonly StageView[]): string {
  return views.map(formatStageView).join("\n");
}

export function formatGate(gate: GateResult | null): string {
  if (!gate) return "no gate";
  if (gate.checks.length === 0) return `gate to ${gate.to}: none (no conditions)`;
  const lines = [`gate to ${gate.to}: ${gate.ok ? "open" : "REFUSES"}`];
  for (const check of gate.checks) {
    lines.push(
      `  ${check.ok ? "ok  " : "FAIL"} ${check.check}${check.reason ? `: ${check.reason}` : ""}`,
    );
    lines.push(`       ${JSON.stringify(check.figures)}`);
  }
  return lines.join("\n");
}

export function formatMove(outcome: MoveOutcome): string {
  if (outcome.ok) {
    return `moved: ${formatStageView(outcome.view)}` +
      (outcome.gate ? `\n${formatGate(outcome.gate)}` : "\n(backwards: no gate)");
  }
  return `refused (${outcome.refusal}): ${outcome.message}` +
    (outcome.gate ? `\n${formatGate(outcome.gate)}` : "");
}

export function formatAudit(rows: readonly StageAuditRow[]): string {
  if (rows.length === 0) return "no stage moves yet";
  return rows.map((row) =>
    `${row.at.toISOString()}  ${row.functionName}  ${row.from} → ${row.to}  ${row.outcome}  ` +
    `by ${row.actor}: ${row.reason}`
  ).join("\n");
}
