/**
 * The dashboard's only script, inlined with a CSP nonce (no build step, no external file). It
 * turns forms marked `data-action` into JSON calls to the admin API (with the session's CSRF
 * token), reports the outcome in an aria-live region, and refreshes the live section every few
 * seconds — except while the operator is working in a form. Without JavaScript the page still
 * renders every figure and refreshes itself through <noscript><meta refresh>.
 *
 * URLs are derived from the page's own location, so the page works behind Supabase's
 * /functions/v1 prefix and locally without knowing either.
 */
export const DASHBOARD_SCRIPT = `
(() => {
  "use strict";
  const body = document.body;
  const csrf = document.querySelector('meta[name="ops-csrf"]').content;
  const base = location.pathname.replace(/\\/dashboard\\/?$/, "");
  const api = base + "/" + body.dataset.api;
  const refreshMs = Number(body.dataset.refresh) * 1000;
  const status = document.getElementById("status");

  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? "status error" : "status ok";
  }

  async function call(method, path, payload) {
    const response = await fetch(api + path, {
      method,
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-ops-csrf": csrf },
      body: JSON.stringify(payload),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = data && data.error;
      throw new Error(error ? error.message : "HTTP " + response.status);
    }
    return data;
  }

  /**
   * Never pull a form out from under the operator: not while a control has focus, nor while any
   * holds a value they typed. Checked before fetching AND again before replacing, because the
   * operator may start typing while the fragment is on its way.
   */
  function busy(live) {
    const active = document.activeElement;
    return (active && live.contains(active) && active.matches("input, select, textarea")) ||
      [...live.querySelectorAll("input")].some((i) => i.type !== "hidden" && i.value !== "");
  }

  let refreshing = null;
  function refresh() {
    // A refresh already on its way started before the latest change: chain a fresh one.
    const run = (refreshing || Promise.resolve()).then(async () => {
      const live = document.getElementById("live");
      if (busy(live)) return;
      const response = await fetch(base + "/dashboard/fragment", { credentials: "same-origin" });
      if (response.status === 401) return location.reload();
      if (!response.ok) return;
      const html = await response.text();
      if (busy(live)) return;
      live.innerHTML = html;
      document.getElementById("updated").textContent = new Date().toLocaleTimeString();
    }).catch(() => {});
    refreshing = run;
    run.then(() => {
      if (refreshing === run) refreshing = null;
    });
    return run;
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.action) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const payload = {};
    for (const [name, value] of new FormData(form)) {
      if (value === "") continue;
      const field = form.elements.namedItem(name);
      // data-type="boolean" (a hidden field) sends true/false, not the string.
      payload[name] = field && field.type === "number"
        ? Number(value)
        : field && field.dataset && field.dataset.type === "boolean"
        ? value === "true"
        : value;
    }
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    try {
      await call(form.dataset.method || "POST", form.dataset.action, payload);
      form.reset();
      if (form.contains(document.activeElement)) document.activeElement.blur();
      // Show the new state first, then confirm: the message means "done and on screen".
      await refresh();
      say(form.dataset.done || "Done.", false);
    } catch (error) {
      say("Failed: " + error.message, true);
    } finally {
      if (button) button.disabled = false;
    }
  });

  if (refreshMs > 0) {
    setInterval(() => {
      if (!refreshing) refresh();
    }, refreshMs);
  }
})();
`;
