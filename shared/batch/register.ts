/**
 * Registers the batch migration's services. The SQL client (the database with auth.users, the
 * Better Auth tables and the tracking tables) and the optional service-role supabase-js client
 * come as tokens, because the app container owns them.
 *
 *   registerBatch(container, { sql: SqlToken, supabase: SupabaseAdminToken });
 *   const handlers = await buildBatchHandlers(container);
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import type { Container, Token } from "../di/container.ts";
import { ConfigToken } from "../di/tokens.ts";
import { openPostgres } from "../db/postgres-client.ts";
import type { SqlClient } from "../db/sql-client.ts";
import type { Handler } from "../migrator/types.ts";
import type { BatchEngineName, EngineOptionsInput } from "./config.ts";
import { BatchMigrationEngine } from "./engine.ts";
import { type LegacySourceOptions, LegacyTableSource } from "./legacy-source.ts";
import { OriginalBatchMigration } from "./original-migration.ts";
import { createBatchApp, toMigratorHandler } from "./routes.ts";
import { SupabaseAuthSource } from "./supabase-source.ts";
import {
  BatchAuthToken,
  BatchEngineToken,
  BatchSourceToken,
  OriginalBatchMigrationToken,
} from "./tokens.ts";
import { BatchLevers } from "../ops/batch-levers.ts";

export interface BatchDependencies {
  /** The target database (and the source one for Supabase Auth). */
  readonly sql: Token<SqlClient>;
  /** A service-role supabase-js client: enables the per-user original. */
  readonly supabase?: Token<SupabaseClient>;
  /** Engine options (batch size, budget, lease TTL, rules...). */
  readonly options?: EngineOptionsInput;
  /** A legacy table in another database instead of Supabase Auth (OLD_DATABASE_URL). */
  readonly legacy?: { readonly url: string; readonly options?: LegacySourceOptions };
}

export function registerBatch(container: Container, deps: BatchDependencies): Container {
  container.register(
    BatchSourceToken,
    async (c) =>
      deps.legacy
        ? new LegacyTableSource(
          openPostgres({ url: deps.legacy.url, max: 2 }),
          deps.legacy.options,
          true,
        )
        : new SupabaseAuthSource(await c.get(deps.sql)),
    (source) => source.close(),
  );
  container.register(BatchEngineToken, async (c) =>
    new BatchMigrationEngine({
      db: await c.get(deps.sql),
      source: await c.get(BatchSourceToken),
      options: deps.options,
      // Operator levers (pause, throttle, window, emergency rollback) before every batch.
      gate: new BatchLevers(await c.get(deps.sql)),
      betterAuthSecret: (await c.get(ConfigToken)).env.BETTER_AUTH_SECRET,
    }));
  const supabase = deps.supabase;
  if (supabase) {
    container.register(OriginalBatchMigrationToken, async (c) => {
      const engine = await c.get(BatchEngineToken);
      return new OriginalBatchMigration({
        db: await c.get(deps.sql),
        admin: (await c.get(supabase)).auth.admin,
        source: engine.source,
        // The per-user original cannot write a Better Auth ban: it refuses banned users rather
        // than let them in unbanned (the set-based engine carries the ban).
        options: { ...engine.options, bannedUsers: "reject" },
      });
    });
  }
  registerBatchAuth(container);
  return container;
}

/**
 * Who may call operator routes (batch runs, reconciliation, ops): the service-role key(s) and the
 * cron secret. On its own so the signup function can guard its reconcile route with it without
 * registering the batch engine.
 */
export function registerBatchAuth(container: Container): Container {
  container.register(BatchAuthToken, async (c) => {
    const { env, supabase: keys } = await c.get(ConfigToken);
    return {
      serviceRoleKeys: [
        ...(keys.serviceKey ? [keys.serviceKey] : []),
        ...Object.values(env.SUPABASE_SECRET_KEYS ?? {}),
      ],
      cronSecret: env.CRON_SECRET,
    };
  });
  return container;
}

/**
 * The two implementations as EdgeFunctionMigrator handlers (apps under /migrate-batch). The
 * original is null when no supabase-js client was registered.
 */
export async function buildBatchHandlers(
  container: Container,
  options: { maxBodyBytes?: number } = {},
): Promise<{ abstracted: Handler; original: Handler | null }> {
  const engine = await container.get(BatchEngineToken);
  const auth = await container.get(BatchAuthToken);
  const { env } = await container.get(ConfigToken);
  const handlerFor = (
    operations: Parameters<typeof createBatchApp>[0]["operations"],
    engineName: BatchEngineName,
  ) =>
    toMigratorHandler(
      createBatchApp({
        operations,
        engine,
        auth,
        maxBodyBytes: options.maxBodyBytes,
        engineName,
        dryRunOnly: env.DRY_RUN,
      }),
    );
  return {
    abstracted: handlerFor(engine, "set_based"),
    original: container.has(OriginalBatchMigrationToken)
      ? handlerFor(await container.get(OriginalBatchMigrationToken), "per_user")
      : null,
  };
}
