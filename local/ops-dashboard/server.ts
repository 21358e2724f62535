/**
 * `deno task ops dashboard`: the operations dashboard of a HOSTED project, rendered locally.
 *
 * Why: without a custom domain Supabase rewrites GET responses of type text/html to text/plain
 * (docs: functions/limits, "Serving of HTML content is only supported with custom domains"), so
 * `<project>/functions/v1/migrate-batch/dashboard` shows as source in a browser. This server runs
 * on the operator's machine and mirrors the function's paths: every request under
 * `/functions/v1/migrate-batch/` is forwarded to the project with the operator's key added
 * server-side, and the page (and its live fragment) is handed back as text/html. The page finds
 * the admin API relative to its own URL, so its data calls and actions come back here too.
 *
 * Security, because this server holds an admin key:
 * - it listens on 127.0.0.1 only, and answers only requests whose Host is its own address (a
 *   DNS-rebinding page cannot reach it under another name);
 * - a state-changing request (anything but GET/HEAD) must come from its own origin (the browser's
 *   Origin header), so another site cannot make the operator's browser drive a rollback;
 * - the browser never sees the key: cookies and credentials from the browser are dropped, the
 *   function's Set-Cookie is not passed on, and only paths under migrate-batch are forwarded.
 */

export const FUNCTION_PREFIX = "/functions/v1/migrate-batch";
const DASHBOARD_PATH = `${FUNCTION_PREFIX}/dashboard`;

export interface DashboardProxyOptions {
  /** The project URL (SUPABASE_URL), e.g. https://<ref>.supabase.co. */
  readonly projectUrl: string;
  /** Service-role key or OPS_ADMIN_SECRET: sent to the project, never to the browser. */
  readonly key: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  readonly fetch?: typeof fetch;
}

export interface DashboardProxy {
  /** The dashboard's local URL. */
  readonly url: string;
  readonly origin: string;
  close(): Promise<void>;
}

const SAFE_METHODS = new Set(["GET", "HEAD"]);
/** Request headers forwarded to the project (everything else, cookies included, is dropped). */
const FORWARDED_REQUEST_HEADERS = ["accept", "content-type", "x-request-id"];
/** Response headers not passed back (hop-by-hop, already decoded, or credentials). */
const DROPPED_RESPONSE_HEADERS = [
  "set-cookie",
  "content-encoding",
  "content-length",
  "transfer-encoding",
  "connection",
];

function refuse(status: number, message: string): Response {
  return Response.json({ error: { code: "forbidden", message } }, { status });
}

/** The page and its live fragment are HTML; the platform may have relabelled them text/plain. */
function isDashboardDocument(path: string): boolean {
  return path === DASHBOARD_PATH || path === `${DASHBOARD_PATH}/` ||
    path === `${DASHBOARD_PATH}/fragment`;
}

export function dashboardProxyHandler(
  options: DashboardProxyOptions,
  self: () => { host: string; origin: string },
): (request: Request) => Promise<Response> {
  const project = new URL(options.projectUrl);
  const send = options.fetch ?? fetch;
  return async (request) => {
    const url = new URL(request.url);
    const { host, origin } = self();
    if (request.headers.get("host") !== host) return refuse(403, "unexpected Host");
    if (!SAFE_METHODS.has(request.method) && request.headers.get("origin") !== origin) {
      return refuse(403, "cross-origin request refused");
    }
    if (url.pathname === "/" || url.pathname === "") {
      return Response.redirect(`${origin}${DASHBOARD_PATH}`, 302);
    }
    if (url.pathname !== FUNCTION_PREFIX && !url.pathname.startsWith(`${FUNCTION_PREFIX}/`)) {
      return Response.json({ error: { code: "not_found", message: "not found" } }, {
        status: 404,
      });
    }
    const target = new URL(`${url.pathname}${url.search}`, project);
    const headers = new Headers();
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = request.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    headers.set("authorization", `Bearer ${options.key}`);
    headers.set("apikey", options.key);
    let upstream: Response;
    try {
      upstream = await send(target, {
        method: request.method,
        headers,
        body: SAFE_METHODS.has(request.method) ? undefined : await request.arrayBuffer(),
        redirect: "manual",
      });
    } catch {
      return Response.json({
        error: { code: "unavailable", message: `the project at ${project.origin} did not answer` },
      }, { status: 502 });
    }
    const out = new Headers(upstream.headers);
    for (const name of DROPPED_RESPONSE_HEADERS) out.delete(name);
    const type = out.get("content-type") ?? "";
    if (
      request.method === "GET" && isDashboardDocument(url.pathname) && /^text\/plain/i.test(type)
    ) {
      out.set("content-type", "text/html; charset=utf-8");
    }
    return new Response(upstream.body, { status: upstream.status, headers: out });
  };
}

/** Serves the proxy on 127.0.0.1. */
export function startDashboardProxy(options: DashboardProxyOptions): DashboardProxy {
  let self = { host: "", origin: "" };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    dashboardProxyHandler(options, () => self),
  );
  const host = `127.0.0.1:${server.addr.port}`;
  self = { host, origin: `http://${host}` };
  return {
    url: `${self.origin}${DASHBOARD_PATH}`,
    origin: self.origin,
    close: () => server.shutdown(),
  };
}
