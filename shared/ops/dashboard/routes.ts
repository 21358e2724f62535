/**
 * The operations dashboard as a Hono sub-app. Mount it next to the admin API, e.g.
 * `app.route("/migrate-batch/dashboard", createDashboardRoutes(deps))` with the API at
 * `/migrate-batch/admin` (the page finds the API relative to its own URL: `apiPath`).
 *
 *   GET  /            the page (or a sign-in form, 401, without a credential)
 *   POST /            sign in: form field `secret` (service-role key or admin secret) → cookie;
 *                     form field `logout` clears the cookie instead
 *   GET  /fragment    the live section only (the page's auto-refresh)
 *   GET  /data.json   the same figures as JSON
 *
 * The cookie is set without a Path attribute: the browser then scopes it to the directory of the
 * sign-in URL — `/functions/v1/migrate-batch` on Supabase, `/migrate-batch` locally — which
 * covers both the page and the admin API, and nothing else on the project's domain. Sign-out
 * posts to the same URL so its clearing cookie has the same (default) path.
 */
import { reportFault } from "../../observability/faults.ts";
import { Hono } from "hono";
import type { Context } from "hono";
import type { SqlClient } from "../../db/sql-client.ts";
import type { Logger } from "../../observability/logger.ts";
import { authenticate, type OpsAuth, SESSION_COOKIE } from "../admin-auth.ts";
import { type DashboardOptions, loadDashboardData } from "./data.ts";
import { renderDashboardPage, renderLive, renderLoginPage } from "./page.ts";

export interface DashboardRoutesDeps extends DashboardOptions {
  readonly sql: SqlClient;
  readonly auth: OpsAuth;
  /** The admin API relative to the function base path (default "admin"). */
  readonly apiPath?: string;
  /** Auto-refresh period (default 15 s; 0 disables it). */
  readonly refreshSeconds?: number;
  readonly logger?: Logger;
  readonly now?: () => Date;
}

/** Strict headers for an admin page: no framing, no caching, scripts only with our nonce. */
function secure(c: Context, nonce: string): void {
  c.header(
    "Content-Security-Policy",
    [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src 'nonce-${nonce}'`,
      "img-src 'self' data:",
      "connect-src 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join("; "),
  );
  c.header("X-Frame-Options", "DENY");
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Referrer-Policy", "no-referrer");
  c.header("Cache-Control", "no-store");
}

function newNonce(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
}

function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:" ||
    c.req.header("x-forwarded-proto") === "https";
}

export function createDashboardRoutes(deps: DashboardRoutesDeps): Hono {
  const app = new Hono({ strict: false });
  const apiPath = deps.apiPath ?? "admin";
  const refreshSeconds = deps.refreshSeconds ?? 15;
  const now = deps.now ?? (() => new Date());

  const load = () => loadDashboardData(deps.sql, deps, now());

  app.get("/", async (c) => {
    const nonce = newNonce();
    secure(c, nonce);
    const outcome = await authenticate(deps.auth, c.req.raw);
    if (!outcome.ok) return c.html(renderLoginPage({ nonce }), 401);
    // A key-authenticated visit (curl, a proxy adding the header) gets a fresh session for the
    // page's own calls; a cookie visit reuses its session.
    let session = outcome.session;
    if (!session && deps.auth.sessions) {
      const issued = await deps.auth.sessions.issue(outcome.principal);
      session = issued.session;
      c.header("Set-Cookie", cookie(issued.token, deps.auth.sessions.ttlSeconds, isHttps(c)));
    }
    const data = await load();
    return c.html(
      renderDashboardPage(data, {
        nonce,
        csrf: session?.csrf ?? "",
        apiPath,
        refreshSeconds,
        operator: outcome.principal.id,
      }),
    );
  });

  app.post("/", async (c) => {
    const nonce = newNonce();
    secure(c, nonce);
    const sessions = deps.auth.sessions;
    if (!sessions) {
      return c.html(renderLoginPage({ nonce, error: "Dashboard sign-in is not enabled." }), 403);
    }
    let secret = "";
    let logout = false;
    try {
      const form = await c.req.parseBody();
      secret = typeof form.secret === "string" ? form.secret.trim() : "";
      logout = form.logout !== undefined;
    } catch {
      // An unreadable form is the same as an empty one.
    }
    if (logout) {
      c.header("Set-Cookie", `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Max-Age=0`);
      return c.html(renderLoginPage({ nonce, error: "Signed out." }), 200);
    }
    const principal = secret ? await deps.auth.verifyKey(secret).catch(() => null) : null;
    if (!principal) {
      deps.logger?.warn("dashboard sign-in refused");
      return c.html(renderLoginPage({ nonce, error: "That key or secret is not accepted." }), 401);
    }
    const issued = await sessions.issue(principal);
    c.header("Set-Cookie", cookie(issued.token, sessions.ttlSeconds, isHttps(c)));
    // Relative: resolves to this same URL whatever prefix the gateway adds in front.
    return c.body(null, 303, { Location: "dashboard" });
  });

  app.get("/fragment", async (c) => {
    const outcome = await authenticate(deps.auth, c.req.raw);
    c.header("Cache-Control", "no-store");
    if (!outcome.ok) return c.text("sign in again", outcome.status);
    return c.html(renderLive(await load()));
  });

  app.get("/data.json", async (c) => {
    const outcome = await authenticate(deps.auth, c.req.raw);
    c.header("Cache-Control", "no-store");
    if (!outcome.ok) {
      return c.json({ error: { code: "unauthorized", message: outcome.message } }, outcome.status);
    }
    return c.json({ data: await load() });
  });

  app.onError((error, c) => {
    deps.logger?.error("dashboard failed", { error });
    reportFault(error, { code: "internal_error", where: "dashboard" });
    return c.json({ error: { code: "internal_error", message: "internal error" } }, 500);
  });
  return app;
}

function cookie(token: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${
    secure ? "; Secure" : ""
  }`;
}
