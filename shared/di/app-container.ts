/**
 * The full app container (every area): the local dev server, the CLIs and the tests. A deployed
 * function builds a smaller one — the base plus only its own areas (see
 * shared/functions/<name>/app.ts) — so its deploy graph does not reach what it never runs.
 */
import type { AppConfig } from "../config/env.ts";
import type { SqlClient } from "../db/sql-client.ts";
import { registerAuthArea } from "./areas/auth.ts";
import { registerBatchArea } from "./areas/batch.ts";
import { registerCoordinatorArea } from "./areas/coordinator.ts";
import { registerOpsArea } from "./areas/ops.ts";
import { registerSessionsArea } from "./areas/sessions.ts";
import { registerSyncArea } from "./areas/sync.ts";
import { createBaseContainer } from "./base-container.ts";
import type { Container } from "./container.ts";

export { openTrackingDatabase } from "./base-container.ts";

/**
 * Builds the container for one process: the one place that decides providers. Every
 * registration is lazy, so a process only pays for the services it resolves.
 * Tests, the CLIs and the dev server pass `sql` to share an already-open database (the embedded
 * PGlite locally).
 */
export function createAppContainer(
  config: AppConfig,
  shared: { sql?: SqlClient } = {},
): Container {
  const container = createBaseContainer(config, shared);
  // Work after the response reaches EdgeRuntime.waitUntil through BackgroundTasks.
  registerAuthArea(container, config);
  registerCoordinatorArea(container, config);
  registerBatchArea(container, config);
  registerOpsArea(container, config);
  registerSyncArea(container, config);
  registerSessionsArea(container, config);
  return container;
}
