/** What every Auth API route needs, resolved once by createAuthApi. */
import type { Context } from "hono";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import type { StandinKeys } from "../keys.ts";
import type { StandinProfile } from "../profile.ts";
import type { AccessTokenSettings } from "./access-tokens.ts";
import type { ConfirmationContext } from "./confirmation.ts";
import type { GoTrueKeySet } from "./jwt.ts";
import { clientIp } from "./guards.ts";
import type { ClientInfo } from "./sessions.ts";

export interface AuthDeps {
  readonly sql: SqlClient;
  readonly keys: StandinKeys;
  readonly tokens: AccessTokenSettings;
  /** What verifies bearer tokens (GoTrue's JWT keys: legacy secret + asymmetric key set). */
  readonly keySet: GoTrueKeySet;
  /** GoTrue's MAILER_AUTOCONFIRM: signups are confirmed at once and receive a session. */
  readonly autoconfirm: boolean;
  readonly minPasswordLength: number;
  readonly refreshTokenReuseIntervalSeconds: number;
  /** The audience of every user (GoTrue's JWT_AUD default). */
  readonly audience: string;
  /** Which Supabase the stand-in imitates (local/standin/profile.ts). */
  readonly profile: StandinProfile;
  /** Where confirmation mails go and what their links point at (confirmation.ts). */
  readonly confirmation: ConfirmationContext;
}

/** Deno.serve hands the connection info to Hono as `c.env` (app.fetch(request, info)). */
export function clientInfo(c: Context): ClientInfo {
  const env = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return {
    userAgent: c.req.header("user-agent") ?? null,
    ip: clientIp(c.req.header("x-forwarded-for"), env?.remoteAddr?.hostname),
  };
}

/** PostgreSQL's unique_violation (23505) from either driver, with the constraint when known. */
export function uniqueViolation(error: unknown): { constraint: string } | null {
  if (!error || typeof error !== "object") return null;
  const fields = error as { code?: unknown; constraint?: unknown; constraint_name?: unknown };
  if (fields.code !== "23505") return null;
  const constraint = fields.constraint_name ?? fields.constraint;
  return { constraint: typeof constraint === "string" ? constraint : "" };
}
