/**
 * Every coordinator implementation on every provider that can run here. Suites loop over this
 * list unchanged, so both implementations are held to the same observable behaviour.
 */
import { AgentRepository } from "../../../shared/coordinator/agent-repository.ts";
import { CoordinationService } from "../../../shared/coordinator/coordination-service.ts";
import type { CoordinatorOperations } from "../../../shared/coordinator/operations.ts";
import { TaskRepository } from "../../../shared/coordinator/task-repository.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { OriginalCoordinator } from "../../../shared/coordinator/original.ts";
import { sqlProviders } from "../../helpers/db.ts";
import { AUTH_SCHEMA_SQL, serveRestStandin } from "../../local/standin/rest/serve-rest.ts";
import { dataProviders } from "./providers.ts";

export interface OpenedImplementation {
  readonly operations: CoordinatorOperations;
  /** The same database, for fixtures and invariants. */
  readonly sql: SqlClient;
  close(): Promise<void>;
}

export interface ImplementationFactory {
  /** e.g. "abstracted/pglite", "original/postgres". */
  readonly name: string;
  readonly path: "abstracted" | "original";
  open(): Promise<OpenedImplementation>;
}

export function abstractedImplementations(): ImplementationFactory[] {
  return dataProviders().map((provider) => ({
    name: `abstracted/${provider.name}`,
    path: "abstracted" as const,
    async open() {
      const { db, sql, close } = await provider.open();
      const operations = new CoordinationService(new AgentRepository(db), new TaskRepository(db));
      return { operations, sql, close };
    },
  }));
}

/** The original supabase-js path against the REST stand-in (over HTTP) on each SQL database. */
export function originalImplementations(): ImplementationFactory[] {
  return sqlProviders().map((provider) => ({
    name: `original/${provider.name}`,
    path: "original" as const,
    async open() {
      const sql = await provider.open();
      await sql.exec(AUTH_SCHEMA_SQL);
      // Supabase's default db-max-rows, so paging in the original is exercised as deployed.
      const standin = await serveRestStandin(sql, { maxRows: 1000 });
      return {
        operations: new OriginalCoordinator(standin.client()),
        sql,
        async close() {
          await standin.close();
          await sql.close();
        },
      };
    },
  }));
}

export function coordinatorImplementations(): ImplementationFactory[] {
  return [...abstractedImplementations(), ...originalImplementations()];
}
