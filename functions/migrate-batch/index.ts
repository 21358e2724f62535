/**
 * Entrypoint of the `migrate-batch` edge function (Supabase deploys it through supabase/config.toml;
 * locally: `PORT=8000 deno run -A functions/migrate-batch/index.ts`). All it does: validate the
 * environment, build the DI container and the function's Hono app, and serve it — see
 * shared/functions/serve.ts and shared/functions/migrate-batch/app.ts.
 */
import { migrateBatchFunction } from "../../shared/functions/migrate-batch/app.ts";
import { serveFunction } from "../../shared/functions/serve.ts";

await serveFunction(migrateBatchFunction);
