/**
 * The stage service from a function's container (migrate-batch): the shared database, the gate
 * thresholds from the environment, the identity sync's status, the batch source's verify, and
 * this process's flags cache to refresh after a move (other instances follow within the TTL).
 */
import type { Container } from "../di/container.ts";
import type { Env } from "../config/env.ts";
import type { SqlClient } from "../db/sql-client.ts";
import type { StagedFunction } from "./stages.ts";
import { ConfigToken, SqlToken } from "../di/tokens.ts";
import { SupabaseAuthSource } from "../batch/supabase-source.ts";
import { BatchSourceToken } from "../batch/tokens.ts";
import { MigrationRuntimeToken } from "../migrator/tokens.ts";
import { IdentitySync } from "../sync/service.ts";
import { IdentitySyncToken } from "../sync/tokens.ts";
import { gateSettingsFromEnv } from "./gates.ts";
import { StageService } from "./stage-service.ts";
import { verifyLatestMigration } from "./verify-latest.ts";

/** Without a container (the CLI): the sync status and the batch verify over `sql` itself. */
export function createStageService(
  sql: SqlClient,
  env: Env,
  onMoved?: (fn: StagedFunction) => void,
): StageService {
  return new StageService({
    sql,
    env,
    settings: gateSettingsFromEnv(env),
    betterAuthConfigured: Boolean(env.BETTER_AUTH_SECRET),
    syncStatus: () => new IdentitySync({ db: sql }).status(),
    verifyLatest: () => verifyLatestMigration(sql, new SupabaseAuthSource(sql)),
    onMoved,
  });
}

export async function buildStageService(container: Container): Promise<StageService> {
  const { env } = await container.get(ConfigToken);
  const sql = await container.get(SqlToken);
  const runtime = container.has(MigrationRuntimeToken)
    ? await container.get(MigrationRuntimeToken)
    : null;
  return new StageService({
    sql,
    env,
    settings: gateSettingsFromEnv(env),
    betterAuthConfigured: Boolean(env.BETTER_AUTH_SECRET),
    syncStatus: async () =>
      await (container.has(IdentitySyncToken)
        ? await container.get(IdentitySyncToken)
        : new IdentitySync({ db: sql })).status(),
    verifyLatest: async () =>
      await verifyLatestMigration(
        sql,
        container.has(BatchSourceToken)
          ? await container.get(BatchSourceToken)
          : new SupabaseAuthSource(sql),
      ),
    onMoved: (fn) => runtime?.flagsCache.invalidate(fn),
  });
}
