/**
 * Entrypoint of the `coordinator` edge function (Supabase deploys it through supabase/config.toml;
 * locally: `PORT=8000 deno run -A functions/coordinator/index.ts`). All it does: validate the
 * environment, build the DI container and the function's Hono app, and serve it — see
 * shared/functions/serve.ts and shared/functions/coordinator/app.ts.
 */
import { coordinatorFunction } from "../../shared/functions/coordinator/app.ts";
import { serveFunction } from "../../shared/functions/serve.ts";

await serveFunction(coordinatorFunction);
