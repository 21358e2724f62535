/**
 * The dashboard's HTML: plain, accessible markup (landmarks, table headers, labelled controls,
 * <progress>/<meter>, an aria-live status region) styled by one small stylesheet. Every value
 * is escaped by hono/html; figures carry data-testid hooks for the browser test.
 */
import { html, raw } from "hono/html";
import { EMERGENCY_CONFIRMATION, UNDO_CONFIRMATION } from "../analysis.ts";
import { targetPercentage } from "../types.ts";
import { sparkline } from "./charts.ts";
import { DASHBOARD_SCRIPT } from "./client.ts";
import type { DashboardData, FunctionPanel, PathStats } from "./data.ts";

export interface PageOptions {
  readonly nonce: string;
  readonly csrf: string;
  /** Admin API path relative to the function base (e.g. "admin"). */
  readonly apiPath: string;
  readonly refreshSeconds: number;
  readonly operator: string;
}

const STYLE = `
:root { --fg:#1b1f24; --muted:#57606a; --line:#d0d7de; --bg:#fff; --panel:#f6f8fa;
  --orig:#0969da; --abs:#8250df; --bad:#cf222e; --warn:#9a6700; --good:#1a7f37; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg); }
header, main, footer { padding: 0 1.25rem; max-width: 1280px; margin: 0 auto; }
header { display:flex; flex-wrap:wrap; gap:1rem; align-items:baseline; justify-content:space-between; border-bottom:1px solid var(--line); }
h1 { font-size:1.35rem; margin:.8rem 0; } h2 { font-size:1.1rem; margin:1.4rem 0 .5rem; } h3 { font-size:1rem; margin:.2rem 0 .4rem; }
.muted { color:var(--muted); font-size:.9em; }
table { border-collapse:collapse; width:100%; margin:.3rem 0 1rem; }
th, td { text-align:left; padding:.3rem .5rem; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:var(--panel); font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
.grid { display:grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap:.75rem; }
.card { border:1px solid var(--line); border-radius:6px; padding:.75rem; background:var(--bg); }
.stat { font-size:1.5rem; font-weight:600; font-variant-numeric: tabular-nums; }
.fn { border:1px solid var(--line); border-radius:6px; padding:.75rem 1rem; margin:.75rem 0; }
.fn header { padding:0; border:0; }
.badge { display:inline-block; padding:0 .45rem; border-radius:999px; font-size:.8rem; border:1px solid var(--line); background:var(--panel); }
.badge.running, .badge.completed { color:var(--good); border-color:var(--good); }
.badge.aborted, .badge.kill { color:var(--bad); border-color:var(--bad); }
.badge.paused, .badge.rolling_back, .badge.warning, .badge.inconclusive { color:var(--warn); border-color:var(--warn); }
.badge.critical { color:var(--bad); border-color:var(--bad); } .badge.healthy { color:var(--good); border-color:var(--good); }
.banner { padding:.6rem .9rem; border-radius:6px; margin:.8rem 0; border:2px solid var(--bad); color:var(--bad); font-weight:600; }
.banner.ok { border-color:var(--line); color:var(--muted); font-weight:400; }
.controls { display:flex; flex-wrap:wrap; gap:.5rem; align-items:end; margin-top:.5rem; }
.controls form { display:flex; gap:.35rem; align-items:end; }
label { display:flex; flex-direction:column; font-size:.85rem; color:var(--muted); }
input { font:inherit; padding:.25rem .4rem; border:1px solid var(--line); border-radius:4px; min-width:6rem; }
button { font:inherit; padding:.3rem .75rem; border-radius:4px; border:1px solid var(--line); background:var(--panel); cursor:pointer; }
button.danger { border-color:var(--bad); color:#fff; background:var(--bad); }
button:focus-visible, input:focus-visible { outline:3px solid var(--orig); outline-offset:1px; }
.spark polyline { stroke: var(--muted); } .spark circle { fill: var(--muted); }
.spark.original polyline { stroke: var(--orig); } .spark.original circle { fill: var(--orig); }
.spark.abstracted polyline { stroke: var(--abs); } .spark.abstracted circle { fill: var(--abs); }
.legend-original { color: var(--orig); } .legend-abstracted { color: var(--abs); }
progress, meter { width: 100%; height: .9rem; }
.status { min-height:1.4rem; margin:.4rem 0; } .status.error { color:var(--bad); } .status.ok { color:var(--good); }
code { font-size:.9em; background:var(--panel); padding:0 .25rem; border-radius:3px; }
@media (prefers-reduced-motion: no-preference) { .badge { transition: color .2s; } }
`;

const pct = (value: number | null, digits = 1) =>
  value === null ? "–" : `${value.toFixed(digits)} %`;
const rate = (value: number | null) => (value === null ? "–" : `${(value * 100).toFixed(1)} %`);
const ms = (value: number | null) => (value === null ? "–" : `${value} ms`);
const time = (
  date: Date | null,
) => (date ? date.toISOString().replace("T", " ").slice(0, 19) + "Z" : "–");

function killSwitchBanner(data: DashboardData) {
  const kill = data.killSwitch;
  if (!kill.engaged) {
    return html`
      <p class="banner ok"
        data-testid="kill-switch">Emergency rollback: off — routing follows the runtime flags.</p>
      <form data-action="/emergency-rollback" data-done="Emergency rollback engaged."
        data-confirm="Force the ORIGINAL implementation for every function?" class="controls"
        aria-label="Emergency rollback">
        <label><span>Type <code>${EMERGENCY_CONFIRMATION}</code> to confirm</span><input name="confirm" required autocomplete="off" pattern="${EMERGENCY_CONFIRMATION}"></label>
        <label>Reason<input name="reason" required maxlength="500"></label>
        <button class="danger" type="submit">Emergency rollback (all functions)</button>
      </form>
    `;
  }
  return html`
    <p class="banner" role="alert"
      data-testid="kill-switch">EMERGENCY ROLLBACK ENGAGED: every function serves the original implementation
    (by ${kill.updatedBy ?? "unknown"} at ${time(kill.updatedAt)}: ${kill.reason ??
      "no reason given"}).</p>
    <form data-action="/emergency-rollback/undo" data-done="Emergency rollback lifted."
      data-confirm="Lift the emergency rollback? Routing returns to the runtime flags." class="controls"
      aria-label="Lift emergency rollback">
      <label><span>Type <code>${UNDO_CONFIRMATION}</code> to confirm</span><input name="confirm" required autocomplete="off" pattern="${UNDO_CONFIRMATION}"></label>
      <label>Reason<input name="reason" maxlength="500"></label>
      <button type="submit">Lift emergency rollback</button>
    </form>
  `;
}

function progressSection(data: DashboardData) {
  const p = data.progress;
  const card = (id: string, label: string, value: string | number, extra?: unknown) =>
    html`
      <div
        class="card"><div class="muted">${label}</div><div class="stat" data-testid="${id}">${value}</div>${extra ??
          ""}</div>
    `;
  return html`
    <section aria-labelledby="progress-h">
      <h2 id="progress-h">Migration progress</h2>
      <div class="grid">
      ${card("progress-total", "Users to migrate", p.total)}
      ${card("progress-supabase", "In Supabase Auth", p.supabaseMigrated)}
      ${card("progress-better-auth", "In Better Auth", p.betterAuthMigrated)}
      ${card("progress-fully", "Migrated (in both, any path)", p.fullyMigrated)}
      ${card("progress-validated", "Validated (compared equal)", p.validated)}
      ${card(
        "progress-divergences-open",
        "Open divergences",
        data.divergences.counts.open,
        data.divergences.counts.failed > 0
          ? html`<div class="muted" data-testid="progress-divergences-failed">${data.divergences.counts.failed} failed (need a human)</div>`
          : "",
      )}
      ${card(
        "progress-completion",
        "Completion",
        pct(p.completionRate),
        html`<progress max="100" value="${p.completionRate.toFixed(2)}" aria-label="Completion ${
          pct(p.completionRate)
        }"></progress>`,
      )}
      </div>
      <table>
        <caption class="muted">Users per system</caption>
        <thead>
          <tr>
            <th scope="col">System</th>
            <th scope="col" class="num">Users</th>
          </tr>
        </thead>
        <tbody>
    <tr><th scope="row">Supabase <code>auth.users</code></th><td class="num" data-testid="progress-auth-users">${p
      .supabaseAuthUsers ?? "n/a"}</td></tr>
    <tr><th scope="row">Better Auth <code>"user"</code></th><td class="num" data-testid="progress-better-auth-users">${p
      .betterAuthUsers ?? "n/a"}</td></tr>
    <tr><th scope="row">Recorded as migrated (<code>migrated_users</code>)</th><td class="num" data-testid="progress-migrated-users">${p
      .migratedUsers}</td></tr>
    ${Object.entries(p.migratedVia).map(([via, count]) =>
      html`
        <tr>
          <td>… via ${via}</td>
          <td class="num" data-testid="progress-via-${via}">${count}</td>
        </tr>
      `
    )}
        </tbody>
      </table>
    </section>
  `;
}

function pathRow(fn: FunctionPanel, path: "original" | "abstracted", stats: PathStats) {
  const id = `fn-${fn.name}-${path}`;
  const series = fn.series[path];
  return html`
    <tr>
      <th scope="row" class="legend-${path}">${path}</th>
      <td class="num" data-testid="${id}-requests">${stats.requests}</td>
      <td class="num" data-testid="${id}-success-rate">${rate(stats.successRate)}</td>
      <td class="num" data-testid="${id}-error-rate">${rate(stats.errorRate)}</td>
      <td class="num" data-testid="${id}-p50">${ms(stats.p50Ms)}</td>
      <td class="num" data-testid="${id}-p95">${ms(stats.p95Ms)}</td>
      <td class="num" data-testid="${id}-fallbacks">${path === "original"
        ? stats.fallbacks
        : "–"}</td>
      <td>${sparkline(series.map((b) => b.requests), {
        label: `${fn.name} ${path} requests per bucket`,
        tone: path,
      })}</td>
      <td>${sparkline(series.map((b) => b.errorRate), {
        label: `${fn.name} ${path} error rate`,
        tone: path,
        max: 1,
        format: (v) => rate(v),
      })}</td>
      <td>${sparkline(series.map((b) => b.p95Ms), {
        label: `${fn.name} ${path} p95 ms`,
        tone: path,
      })}</td>
    </tr>
  `;
}

function rolloutControls(fn: FunctionPanel) {
  const r = fn.rollout;
  const base = `/rollouts/${fn.name}`;
  const button = (action: string, label: string, done: string, confirm?: string, danger = false) =>
    html`
      <form data-action="${base}/${action}" data-done="${done}"
        ${confirm ? html`data-confirm="${confirm}"` : ""}><button type="submit" ${danger
          ? html`class="danger"`
          : ""}>${label}</button></form>
    `;
  const forms = [];
  if (!r || r.status === "completed" || r.status === "rolled_back") {
    forms.push(
      button(
        "start",
        "Start staged rollout",
        `Rollout of ${fn.name} started.`,
        `Start the staged rollout of ${fn.name}?`,
      ),
    );
  }
  if (r?.status === "aborted") {
    forms.push(
      button(
        "retry",
        "Retry rollout",
        `Rollout of ${fn.name} restarted.`,
        `Retry the rollout of ${fn.name} from its first step?`,
      ),
    );
  }
  if (r?.status === "running" || r?.status === "rolling_back") {
    forms.push(button("pause", "Pause", `Rollout of ${fn.name} paused.`));
  }
  if (r?.status === "paused") {
    forms.push(button("resume", "Resume", `Rollout of ${fn.name} resumed.`));
  }
  if (
    fn.config.rolloutPercentage > 0 && r?.status !== "rolling_back" &&
    r?.pausedFrom !== "rolling_back"
  ) {
    forms.push(
      button(
        "rollback",
        "Planned rollback",
        `Planned rollback of ${fn.name} started.`,
        `Step ${fn.name} down to 0 % (75 → 50 → 25 → 10 → 0)?`,
        true,
      ),
    );
  }
  return html`<div class="controls">
<form data-action="${base}/percentage" data-method="PUT" data-done="Rollout percentage of ${fn.name} updated." data-confirm="Set the rollout percentage of ${fn.name}? A running rollout is paused.">
  <label for="pct-${fn.name}">Rollout %</label>
  <input id="pct-${fn.name}" name="percentage" type="number" min="0" max="100" step="0.01" required data-testid="fn-${fn.name}-percentage-input">
  <button type="submit" data-testid="fn-${fn.name}-percentage-submit">Set</button>
</form>
${forms}
</div>`;
}

function functionSection(fn: FunctionPanel) {
  const r = fn.rollout;
  const c = fn.config;
  const canary = c.canary;
  const health = r?.lastHealth;
  return html`<article class="fn" aria-labelledby="fn-${fn.name}-h">
<header><h3 id="fn-${fn.name}-h"><code>${fn.name}</code></h3>
<span>Rollout <strong data-testid="fn-${fn.name}-rollout">${pct(c.rolloutPercentage, 2)}</strong>
 ${c.forceOriginal ? html`<span class="badge kill">forced original</span>` : ""}
 <span class="badge ${r?.status ?? "none"}" data-testid="fn-${fn.name}-status">${
    r ? r.status.replace("_", " ") : "no rollout"
  }</span>
 ${
    health
      ? html`<span class="badge ${health.verdict}" title="${
        health.reasons.join("; ")
      }">${health.verdict}</span>`
      : ""
  }</span></header>
${
    r
      ? html`
        <p
          class="muted">Plan ${r.steps.join(" → ")} % · step ${r.currentStep +
            1}/${r.status === "rolling_back" || r.status === "rolled_back"
            ? r.rollbackSteps.length
            : r.steps.length} at ${targetPercentage(r)} % since ${time(r.stepEnteredAt)} · hold ${r
            .holdSeconds} s · failed checks ${r.consecutiveFailures}/${r.analysis
            .failureLimit}${r.abortReason
            ? html`
              · <strong>aborted:</strong> ${r.abortReason}
            `
            : ""}${health && health.reasons.length > 0
            ? html`
              · last check: ${health.reasons.join("; ")}
            `
            : ""}</p>
      `
      : ""
  }
<p>Traffic split (last window): <span class="legend-original">original <strong data-testid="fn-${fn.name}-split-original">${
    pct(fn.split.original)
  }</strong></span> ·
 <span class="legend-abstracted">abstracted <strong data-testid="fn-${fn.name}-split-abstracted">${
    pct(fn.split.abstracted)
  }</strong></span>
 · fallback ${c.enableFallback ? "on" : "off"} · shadow comparison ${
    c.enableComparison ? "on" : "off"
  }</p>
<meter min="0" max="100" value="${fn.split.abstracted ?? 0}" aria-label="Abstracted share ${
    pct(fn.split.abstracted)
  }"></meter>
<table><thead><tr><th scope="col">Path</th><th scope="col" class="num">Requests</th><th scope="col" class="num">Success</th><th scope="col" class="num">Errors</th><th scope="col" class="num">p50</th><th scope="col" class="num">p95</th><th scope="col" class="num">Fallbacks</th><th scope="col">Requests</th><th scope="col">Error rate</th><th scope="col">p95</th></tr></thead>
<tbody>${pathRow(fn, "original", fn.paths.original)}${
    pathRow(fn, "abstracted", fn.paths.abstracted)
  }</tbody></table>
<p class="muted" data-testid="fn-${fn.name}-canary">Canary: ${
    canary.enabled
      ? `on · ${canary.selection}${
        canary.selection === "random" || canary.selection === "user_id_hash"
          ? ` ${canary.percentage} %`
          : ""
      }${canary.selection === "whitelist" ? ` · ${canary.whitelist.length} listed` : ""}${
        canary.selection === "email_domain"
          ? ` · ${canary.emailDomains.join(", ") || "no domains"}`
          : ""
      }`
      : "off"
  }</p>
${rolloutControls(fn)}
${canaryControls(fn)}
</article>`;
}

/** Canary levers of one function: on at a percentage, or off (PUT /rollouts/FN/canary). */
function canaryControls(fn: FunctionPanel) {
  const action = `/rollouts/${fn.name}/canary`;
  return html`
    <div class="controls">
      <form data-action="${action}" data-method="PUT" data-done="Canary of ${fn.name} updated."
        data-confirm="Turn the canary of ${fn.name} on?">
        <input type="hidden" name="enabled" value="true" data-type="boolean">
        <label for="canary-${fn.name}">Canary %</label>
        <input id="canary-${fn.name}" name="percentage" type="number" min="0" max="100" step="0.01"
          required data-testid="fn-${fn.name}-canary-input">
        <button type="submit" data-testid="fn-${fn.name}-canary-on">Canary on</button>
      </form>
      <form data-action="${action}" data-method="PUT" data-done="Canary of ${fn.name} turned off.">
        <input type="hidden" name="enabled" value="false" data-type="boolean">
        <button type="submit" data-testid="fn-${fn.name}-canary-off">Canary off</button>
      </form>
    </div>
  `;
}

/** The batch levers: what holds the batch now, pause / resume, and the throttle. */
function batchSection(data: DashboardData) {
  const b = data.batch;
  return html`
    <section aria-labelledby="batch-h">
      <h2 id="batch-h">Batch migration levers</h2>
      <p>Batch <strong data-testid="batch-hold">${b.hold
        ? `held (${b.hold})`
        : "may run"}</strong> ·
    throttle <span data-testid="batch-throttle">${b.maxUsersPerSecond === null
      ? "none"
      : `${b.maxUsersPerSecond} users/s`}</span> · window <span data-testid="batch-window">${b
        .window
      ? `${b.window.start}–${b.window.end} UTC`
      : "any time"}</span></p>
      <div class="controls">
    ${b.paused
      ? html`
        <form data-action="/batch/resume"
          data-done="Batch resumed."><button type="submit" data-testid="batch-resume">Resume batch</button></form>
      `
      : html`
        <form data-action="/batch/pause" data-done="Batch paused."
          data-confirm="Pause the batch migration?"><button type="submit" data-testid="batch-pause">Pause batch</button></form>
      `}
    <form data-action="/batch" data-method="PUT" data-done="Batch throttle updated.">
      <label for="batch-rate">Users per second</label>
      <input id="batch-rate" name="maxUsersPerSecond" type="number" min="0.01" step="0.01" required data-testid="batch-rate-input">
      <button type="submit" data-testid="batch-rate-submit">Throttle</button>
    </form>
      </div>
    </section>
  `;
}

/**
 * The migration stages: where each auth function is, what it writes and reads, and a move form
 * (forward: the next stage only, through its gate; back: any earlier stage). A refusal comes
 * back in the status line with the gate's reasons (the API's 409 message).
 */
function stagesSection(data: DashboardData) {
  return html`
    <section aria-labelledby="stages-h">
      <h2 id="stages-h">Migration stages</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Function</th>
            <th scope="col">Stage</th>
            <th scope="col">Writes</th>
            <th scope="col">Reads</th>
            <th scope="col">Since</th>
            <th scope="col">Move</th>
          </tr>
        </thead>
        <tbody>
      ${data.stages.map((view) => {
        const id = `stage-${view.function}`;
        const targets = [...(view.next ? [view.next] : []), ...view.back_to];
        return html`
          <tr>
            <th scope="row"><code>${view.function}</code></th>
            <td><span class="badge" data-testid="${id}">${view.stage}</span>${view.source ===
                "environment"
              ? html`
                <span class="muted">(env seed)</span>
              `
              : ""}</td>
            <td data-testid="${id}-writes">${view.writes}</td>
            <td>${view.reads}</td>
            <td>${view.entered_at
              ? html`<time datetime="${view.entered_at}">${time(new Date(view.entered_at))}</time>`
              : "—"}${view.updated_by
              ? html`<div class="muted">by ${view.updated_by}${
                view.reason ? `: ${view.reason}` : ""
              }</div>`
              : ""}</td>
            <td>${targets.length === 0
              ? html`<span class="muted" data-testid="${id}-final">final</span>`
              : html`
                <form data-action="/stages/${view.function}" data-done="Stage of ${view
                  .function} moved."
                  data-confirm="Move ${view.function} out of ${view.stage}?">
                  <label for="${id}-to">Move ${view.function} to</label>
                  <select id="${id}-to" name="to" data-testid="${id}-to">
                            ${targets.map((target) =>
                              html`<option value="${target}">${target}${
                                target === view.next ? " (next, gated)" : " (back)"
                              }</option>`
                            )}
                          </select>
                  <label for="${id}-reason">Why move ${view.function}</label>
                  <input id="${id}-reason" name="reason" type="text" required maxlength="500"
                    data-testid="${id}-reason">
                  <button type="submit" data-testid="${id}-move">Move</button>
                </form>
              `}</td>
          </tr>
        `;
      })}
        </tbody>
      </table>
    </section>
  `;
}

function listSections(data: DashboardData) {
  return html`<section aria-labelledby="mm-h"><h2 id="mm-h">Recent shadow mismatches</h2>
${
    data.mismatches.length === 0 ? html`<p class="muted">None recorded.</p>` : html`
      <table>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Function</th>
            <th scope="col">Operation</th>
            <th scope="col">Served by</th>
            <th scope="col" class="num">Status (primary / shadow)</th>
            <th scope="col">Differing paths</th>
          </tr>
        </thead>
        <tbody>
      ${data.mismatches.map((m) =>
        html`
          <tr data-testid="mismatch-row">
            <td>${time(m.createdAt)}</td>
            <td><code>${m.functionName}</code></td>
            <td>${m.operation}</td>
            <td>${m.primaryPath}</td>
            <td class="num">${m.primaryStatus ?? "–"} / ${m.shadowStatus ?? "–"}</td>
            <td>${m.differingPaths.length > 0
              ? m.differingPaths.map((p) =>
                html`
                  <code>${p}</code>
                `
              )
              : m.shadowError ?? "–"}</td>
          </tr>
        `
      )}</tbody>
      </table>
    `
  }</section>
<section aria-labelledby="err-h"><h2 id="err-h">Recent migration errors</h2>
${
    data.errors.length === 0 ? html`<p class="muted">None recorded.</p>` : html`
      <table>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Migration</th>
            <th scope="col">User</th>
            <th scope="col">Code</th>
            <th scope="col">Message</th>
            <th scope="col" class="num">Attempts</th>
          </tr>
        </thead>
        <tbody>
      ${data.errors.map((e) =>
        html`
          <tr data-testid="error-row">
            <td>${time(e.createdAt)}</td>
            <td>${e.migrationId ?? "–"}</td>
            <td><code>${e.userId ?? "–"}</code></td>
            <td>${e.errorCode}</td>
            <td>${e.errorMessage}</td>
            <td class="num">${e.attempts}</td>
          </tr>
        `
      )}</tbody>
      </table>
    `
  }</section>
<section aria-labelledby="al-h"><h2 id="al-h">Recent alerts</h2>
${
    data.alerts.length === 0 ? html`<p class="muted">None.</p>` : html`
      <table>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Severity</th>
            <th scope="col">Alert</th>
            <th scope="col">Delivery</th>
          </tr>
        </thead>
        <tbody>
      ${data.alerts.map((a) =>
        html`
          <tr data-testid="alert-row">
            <td>${time(a.createdAt)}</td>
            <td><span class="badge ${a.severity}">${a.severity}</span></td>
            <td>${a.title}</td>
            <td>${a.delivered ? "sent" : a.lastError ?? "pending"}</td>
          </tr>
        `
      )}</tbody>
      </table>
    `
  }</section>`;
}

/** auth_divergences that still need someone: retry (back to reconciliation) or resolve. */
function divergenceSection(data: DashboardData) {
  const { counts, unresolved } = data.divergences;
  const byKind = Object.entries(counts.openByKind).map(([kind, count]) =>
    html`
      <span data-testid="divergences-kind-${kind}">${kind} ${count}</span>
    `
  );
  return html`<section aria-labelledby="dv-h"><h2 id="dv-h">Divergences</h2>
<p>Open <strong data-testid="divergences-open">${counts.open}</strong> · failed <strong
  data-testid="divergences-failed">${counts.failed}</strong> · resolved <strong
  data-testid="divergences-resolved">${counts.resolved}</strong>${
    byKind.length > 0
      ? html`
        <span class="muted">(open: ${byKind})</span>
      `
      : ""
  }</p>
${
    unresolved.length === 0 ? html`<p class="muted">None need attention.</p>` : html`
      <table>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Kind</th>
            <th scope="col">User</th>
            <th scope="col">Status</th>
            <th scope="col">Reason</th>
            <th scope="col">Act</th>
          </tr>
        </thead>
        <tbody>
      ${unresolved.map((d) =>
        html`
          <tr data-testid="divergence-row">
            <td>${d.createdAt.slice(0, 19).replace("T", " ")}</td>
            <td>${d.kind}${d.missingSide
              ? html`
                <span class="muted">(${d.missingSide} missing)</span>
              `
              : ""}</td>
            <td><code>${d.userId}</code></td>
            <td>${d.status}${d.attempts > 0
              ? html`
                <span class="muted">×${d.attempts}</span>
              `
              : ""}</td>
            <td>${d.lastError ?? d.reason}</td>
            <td>
              <div class="controls">
                <form data-action="/divergences/${d.id}/retry"
                  data-done="Divergence ${d
                    .id} sent back to reconciliation."><button type="submit" data-testid="divergence-${d
                    .id}-retry">Retry</button></form>
                <form data-action="/divergences/${d.id}/resolve"
                  data-done="Divergence ${d.id} resolved."
                  data-confirm="Mark divergence ${d.id} resolved?">
                  <label for="dv-note-${d.id}">Note</label>
                  <input id="dv-note-${d.id}" name="note" required maxlength="500"
                    data-testid="divergence-${d.id}-note">
                  <button type="submit" data-testid="divergence-${d.id}-resolve">Resolve</button>
                </form>
              </div>
            </td>
          </tr>
        `
      )}</tbody>
      </table>
    `
  }</section>`;
}

/** The part that refreshes itself. */
export function renderLive(data: DashboardData) {
  return html`
    ${killSwitchBanner(data)}
    ${progressSection(data)}
    <section
      aria-labelledby="fn-h"><h2 id="fn-h">Functions <span class="muted">(last ${data
        .windowMinutes} min, charts in ${data.bucketMinutes}-min buckets)</span></h2>
    ${data.functions.map(functionSection)}
    </section>
    ${stagesSection(data)}
    ${batchSection(data)}
    ${divergenceSection(data)}
    ${listSections(data)}
    <p
      class="muted">Figures as of <time datetime="${data.generatedAt
        .toISOString()}" data-testid="generated-at">${time(data.generatedAt)}</time>.</p>
  `;
}

export function renderDashboardPage(data: DashboardData, options: PageOptions) {
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="ops-csrf" content="${options.csrf}">
        <title>edge-migrator · operations</title>
        <style nonce="${options.nonce}">${raw(STYLE)}</style>
        <noscript><meta http-equiv="refresh" content="${Math.max(
          options.refreshSeconds,
          5,
        )}"></noscript>
      </head>
      <body data-api="${options.apiPath}" data-refresh="${options.refreshSeconds}">
        <header>
          <h1>edge-migrator operations</h1>
          <p class="muted">Signed in as ${options.operator} · updated <span id="updated">${time(
            data.generatedAt,
          )}</span></p>
          <form
            method="post"><input type="hidden" name="logout" value="1"><button type="submit">Sign out</button></form>
        </header>
        <main>
          <div id="status" class="status" role="status" aria-live="polite"></div>
          <div id="live">${renderLive(data)}</div>
        </main>
        <script nonce="${options.nonce}">${raw(DASHBOARD_SCRIPT)}</script>
      </body>
    </html>
  `;
}

export function renderLoginPage(options: { nonce: string; error?: string }) {
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>edge-migrator · sign in</title>
        <style nonce="${options.nonce}">${raw(STYLE)}</style>
      </head>
      <body>
        <main><h1>edge-migrator operations</h1>
    <p>Sign in with the service-role key or the operations admin secret.</p>
    ${options.error ? html`<p class="status error" role="alert">${options.error}</p>` : ""}
    <form method="post" class="controls">
      <label for="secret">Key or secret</label>
      <input id="secret" name="secret" type="password" autocomplete="current-password" required>
      <button type="submit">Sign in</button>
    </form></main>
      </body>
    </html>
  `;
}
