/**
 * Guards operator routes (reconciliation, batch runs, ops): the service-role key as a bearer
 * token or the configured cron secret, compared in constant time (shared/batch/routes.ts).
 */
import type { MiddlewareHandler } from "hono";
import { BatchAuthToken } from "../batch/tokens.ts";
import { isAuthorized } from "../batch/routes.ts";
import type { Container } from "../di/container.ts";
import { HttpError } from "../http/errors.ts";

export async function requireServiceKey(container: Container): Promise<MiddlewareHandler> {
  const auth = await container.get(BatchAuthToken);
  return async (c, next) => {
    if (!(await isAuthorized(c.req.raw.headers, auth))) {
      return new HttpError(
        401,
        "unauthorized",
        "a service-role key or the cron secret is required (Authorization: Bearer ...)",
      ).toResponse();
    }
    await next();
  };
}
