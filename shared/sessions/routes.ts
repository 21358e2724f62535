/**
 * Mounts GoTrue's session routes on a function app (the login function): /token, /user and
 * /logout, answered by SessionService. An auth-js client whose Auth URL is the function's URL
 * calls exactly these paths (GoTrueClient: `${url}/token?grant_type=…`, `${url}/user`,
 * `${url}/logout?scope=…`).
 */
import type { FunctionApp } from "../http/app.ts";
import type { RequestHandler } from "../functions/lazy-handler.ts";
import { SessionService, type SessionServiceDeps } from "./session-service.ts";

export function mountSessionRoutes(
  app: FunctionApp,
  deps: () => Promise<Omit<SessionServiceDeps, "login">>,
  login: RequestHandler,
): void {
  let service: Promise<SessionService> | null = null;
  const get = () => {
    service ??= deps().then((d) => new SessionService({ ...d, login })).catch((error) => {
      service = null;
      throw error;
    });
    return service;
  };
  const run = async (route: (s: SessionService) => Promise<Response>) => {
    let resolved: SessionService;
    try {
      resolved = await get();
    } catch {
      return Response.json(
        { code: 503, error_code: "unexpected_failure", msg: "Auth is temporarily unavailable" },
        { status: 503 },
      );
    }
    return await route(resolved);
  };
  app.post("/token", (c) => run((s) => s.token(c.req.raw)));
  app.get("/user", (c) => run((s) => s.user(c.req.raw)));
  app.post("/logout", (c) => run((s) => s.logout(c.req.raw)));
}
