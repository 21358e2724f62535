/**
 * The signup and login request handlers, in the migrator's Handler shape, so the function apps
 * stay thin: they mount an EdgeFunctionMigrator over `original` and `abstracted` from here.
 *
 * - original: supabase-js auth.signUp / auth.signInWithPassword (SupabaseAuthService), behind
 *   the same validation, password policy, rate limiting and response contract;
 * - abstracted: the DualWriteAuthService (MIGRATION_MODE, primary, canary, lazy migration).
 *
 * Both answer `200 { user, session }` or the error contract (errors.ts), so clients never see
 * which one served them. The migrator's context is honoured: `ctx.canary` picks Better Auth as
 * primary, `ctx.claimCommit` gates the first write, `ctx.mode === "plan"` computes a signup
 * without writing (login has no plan form: classify it with shadow "off"), `ctx.signal`
 * abandons a login attempt.
 */
import { clientIpFrom } from "../http/client-ip.ts";
import { HttpError } from "../http/errors.ts";
import { readJson } from "../http/validation.ts";
import type { Handler, HandlerContext } from "../migrator/types.ts";
import type { DualWriteAuthService } from "./dual-write-auth-service.ts";
import { withClientIp } from "./forwarded-client-ip.ts";
import { parseSignInInput, parseSignUpInput } from "./input.ts";
import type { AuthCallOptions } from "./types.ts";

export interface AuthHandlerPair {
  readonly original: Handler;
  readonly abstracted: Handler;
}

/** The services behind the two implementations (see register.ts: AuthHandlerServicesToken). */
export interface AuthHandlerServices {
  /** MIGRATION_MODE supabase_only over SupabaseAuthService: the original behaviour, guarded. */
  readonly original: DualWriteAuthService;
  readonly abstracted: DualWriteAuthService;
}

/**
 * The client's address by the configured trusted proxy hops (shared/http/client-ip.ts), never the
 * client-supplied first X-Forwarded-For entry.
 */
export function clientIp(request: Request): string | undefined {
  return clientIpFrom(request.headers);
}

function callOptions(request: Request, ctx: HandlerContext, useCanary: boolean): AuthCallOptions {
  return {
    ip: clientIp(request),
    userAgent: request.headers.get("user-agent") ?? undefined,
    canary: useCanary ? ctx.canary : false,
    claimCommit: ctx.claimCommit,
    signal: ctx.signal,
  };
}

async function readBody(request: Request): Promise<unknown | Response> {
  if (request.method !== "POST") {
    return new HttpError(405, "method_not_allowed", "Use POST", undefined, { Allow: "POST" })
      .toResponse();
  }
  const body = await readJson(request);
  return body.ok ? body.value : body.error.toResponse();
}

function signupHandler(service: DualWriteAuthService, useCanary: boolean): Handler {
  return async (request, ctx) => {
    const body = await readBody(request);
    if (body instanceof Response) return body;
    const input = parseSignUpInput(body);
    if (!input.ok) return input.error.toResponse();
    const options = callOptions(request, ctx, useCanary);
    const outcome = await withClientIp(
      options.ip,
      () =>
        ctx.mode === "plan"
          ? service.planSignUp(input.value, options)
          : service.signUp(input.value, options),
    );
    return outcome.ok ? Response.json(outcome.value) : outcome.error.toResponse();
  };
}

function loginHandler(service: DualWriteAuthService, useCanary: boolean): Handler {
  return async (request, ctx) => {
    const body = await readBody(request);
    if (body instanceof Response) return body;
    const input = parseSignInInput(body);
    if (!input.ok) return input.error.toResponse();
    if (ctx.mode === "plan") {
      return new HttpError(501, "not_implemented", "login has no plan run").toResponse();
    }
    const options = callOptions(request, ctx, useCanary);
    // Auth's per-IP limits must see this client, not the function (forwarded-client-ip.ts).
    const outcome = await withClientIp(options.ip, () => service.signIn(input.value, options));
    return outcome.ok ? Response.json(outcome.value) : outcome.error.toResponse();
  };
}

export function signupHandlers(services: AuthHandlerServices): AuthHandlerPair {
  return {
    original: signupHandler(services.original, false),
    abstracted: signupHandler(services.abstracted, true),
  };
}

export function loginHandlers(services: AuthHandlerServices): AuthHandlerPair {
  return {
    original: loginHandler(services.original, false),
    abstracted: loginHandler(services.abstracted, true),
  };
}
