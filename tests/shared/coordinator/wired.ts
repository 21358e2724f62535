/**
 * The coordinator wired as the function entry wires it: both implementations' handlers from the
 * DI container (the original over supabase-js against the REST stand-in, the abstracted on
 * SqlDatabaseService), tokens checked by shared/auth's verifier, and a user access token.
 */
import { sign } from "hono/jwt";
import type { SupabaseClient } from "@supabase/supabase-js";
import type { AccessTokenVerifierConfig } from "../../../shared/auth/access-tokens.ts";
import {
  buildCoordinatorHandlers,
  registerCoordinator,
} from "../../../shared/coordinator/register.ts";
import type { IDatabaseService } from "../../../shared/db/database-service.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { createSqlDatabaseService } from "../../../shared/db/sql-database-service.ts";
import { Container, token } from "../../../shared/di/container.ts";
import type { Handler } from "../../../shared/migrator/types.ts";
import { AUTH_SCHEMA_SQL, serveRestStandin } from "../../local/standin/rest/serve-rest.ts";
import { uuid } from "./fixtures.ts";

const DatabaseToken = token<IDatabaseService>("test.database");
const SupabaseToken = token<SupabaseClient>("test.supabase");
const VerifierToken = token<AccessTokenVerifierConfig>("test.verifier");

export interface WiredCoordinator {
  readonly original: Handler;
  readonly abstracted: Handler;
  /** A valid `authenticated` access token of a user. */
  readonly userToken: string;
  /** The stand-in's anon key (not a user token: the routes refuse it). */
  readonly anonKey: string;
  /** Disposes the container and stops the stand-in; the caller closes `sql`. */
  close(): Promise<void>;
}

/** Adds the stand-in's auth schema to `sql` and wires both implementations on it. */
export async function wireCoordinator(sql: SqlClient): Promise<WiredCoordinator> {
  await sql.exec(AUTH_SCHEMA_SQL);
  const standin = await serveRestStandin(sql);
  const container = new Container();
  const close = async () => {
    await container.dispose();
    await standin.close();
  };
  try {
    container.value(DatabaseToken, createSqlDatabaseService(sql));
    container.value(SupabaseToken, standin.client());
    container.value(VerifierToken, {
      betterAuth: { secret: "x".repeat(32), issuer: "urn:test:better-auth" },
      supabase: { jwtSecret: standin.keys.jwtSecret },
    });
    registerCoordinator(container, {
      database: DatabaseToken,
      supabase: SupabaseToken,
      accessTokens: VerifierToken,
    });
    const handlers = await buildCoordinatorHandlers(container);
    if (!handlers.original) throw new Error("the coordinator has no original handler");
    const userToken = await sign(
      {
        sub: uuid(7, "c000"),
        role: "authenticated",
        aud: "authenticated",
        exp: Math.floor(Date.now() / 1000) + 600,
      },
      standin.keys.jwtSecret,
      "HS256",
    );
    return {
      original: handlers.original,
      abstracted: handlers.abstracted,
      userToken,
      anonKey: standin.keys.anonKey,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
