/**
 * Builds a function's request handler on first use instead of at start-up, so `/health` and
 * cold starts never wait for (or fail on) backends such as Better Auth or a Supabase project.
 * A failed build answers 503 with the configured code and is retried on the next request.
 */
import { reportFault } from "../observability/faults.ts";
import type { Logger } from "../observability/logger.ts";

export type RequestHandler = (request: Request) => Promise<Response>;

export function lazyHandler(
  build: () => Promise<RequestHandler>,
  options: { logger: Logger; unavailableCode: string; what: string },
): RequestHandler {
  let built: Promise<RequestHandler> | null = null;
  return async (request) => {
    built ??= build();
    let handler: RequestHandler;
    try {
      handler = await built;
    } catch (error) {
      built = null;
      options.logger.error(`${options.what} is not available`, { error });
      reportFault(error, { code: options.unavailableCode, where: `${options.what} start-up` });
      return Response.json(
        { error: { code: options.unavailableCode, message: `${options.what} is not available` } },
        { status: 503 },
      );
    }
    return await handler(request);
  };
}
