/**
 * Registers the coordinator's services. The database service, the supabase-js client and the
 * token verifier config are passed as tokens because the app container owns them (it picks the
 * provider); the coordinator only consumes them.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import type { AccessTokenVerifierConfig } from "../auth/access-tokens.ts";
import type { Container, Token } from "../di/container.ts";
import type { IDatabaseService } from "../db/database-service.ts";
import type { Handler } from "../migrator/types.ts";
import { AgentRepository } from "./agent-repository.ts";
import { verifyTokenWith } from "./auth.ts";
import { CoordinationService } from "./coordination-service.ts";
import { OriginalCoordinator } from "./original.ts";
import { createCoordinatorApp, toMigratorHandler } from "./routes.ts";
import { TaskRepository } from "./task-repository.ts";
import {
  AgentRepositoryToken,
  CoordinationServiceToken,
  CoordinatorVerifyTokenToken,
  OriginalCoordinatorToken,
  TaskRepositoryToken,
} from "./tokens.ts";

export interface CoordinatorDependencies {
  /** The provider-agnostic data service (pglite | postgres | supabase). */
  readonly database: Token<IDatabaseService>;
  /**
   * A service-role supabase-js client (the original path talks to PostgREST directly). Optional:
   * without it only the abstracted implementation is registered.
   */
  readonly supabase?: Token<SupabaseClient>;
  /** shared/auth's verifier config (AccessTokenVerifierToken); registers the routes' auth seam. */
  readonly accessTokens?: Token<AccessTokenVerifierConfig>;
}

export function registerCoordinator(
  container: Container,
  deps: CoordinatorDependencies,
): Container {
  container.register(
    AgentRepositoryToken,
    async (c) => new AgentRepository(await c.get(deps.database)),
  );
  container.register(
    TaskRepositoryToken,
    async (c) => new TaskRepository(await c.get(deps.database)),
  );
  container.register(
    CoordinationServiceToken,
    async (c) =>
      new CoordinationService(await c.get(AgentRepositoryToken), await c.get(TaskRepositoryToken)),
  );
  const { supabase, accessTokens } = deps;
  if (supabase) {
    container.register(
      OriginalCoordinatorToken,
      async (c) => new OriginalCoordinator(await c.get(supabase)),
    );
  }
  if (accessTokens) {
    container.register(
      CoordinatorVerifyTokenToken,
      async (c) => verifyTokenWith(await c.get(accessTokens)),
    );
  }
  return container;
}

/**
 * The two implementations as EdgeFunctionMigrator handlers (apps under `/coordinator`), for the
 * function entry. Needs CoordinatorVerifyTokenToken and, for `original`, OriginalCoordinatorToken.
 */
export async function buildCoordinatorHandlers(
  container: Container,
  options: { maxBodyBytes?: number } = {},
): Promise<{ abstracted: Handler; original: Handler | null }> {
  const verifyToken = await container.get(CoordinatorVerifyTokenToken);
  const handlerFor = async (token: typeof CoordinationServiceToken) =>
    toMigratorHandler(
      createCoordinatorApp({
        operations: await container.get(token),
        verifyToken,
        maxBodyBytes: options.maxBodyBytes,
      }),
    );
  return {
    abstracted: await handlerFor(CoordinationServiceToken),
    original: container.has(OriginalCoordinatorToken)
      ? await handlerFor(OriginalCoordinatorToken)
      : null,
  };
}
