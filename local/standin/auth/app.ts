/**
 * The local stand-in for Supabase Auth (GoTrue v2): the endpoints supabase-js v2 uses, on
 * Supabase's own auth schema (shared/standin/auth-schema.sql), with GoTrue's status codes and
 * error bodies. Mount it at /auth/v1:
 *
 *   const api = createAuthApi({ sql, keys, issuer: `${url}/auth/v1` });
 *   new Hono().route("/auth/v1", api);
 *
 * Never deployed: with SUPABASE_URL pointing at a real project, real GoTrue answers instead.
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import { redactString } from "../../../shared/observability/redact.ts";
import { projectJwks, type StandinKeys } from "../keys.ts";
import {
  GOTRUE_DEFAULT_RATE_LIMITS,
  type RateLimitSettings,
  type StandinProfile,
} from "../profile.ts";
import { adminRoutes } from "./routes-admin.ts";
import { Mailbox } from "./confirmation.ts";
import { confirmationRoutes } from "./routes-confirm.ts";
import type { AuthDeps } from "./deps.ts";
import {
  API_VERSION_HEADER,
  apiVersionHeaders,
  GoTrueError,
  gotrueErrorBody,
  OAuthStyleError,
} from "./errors.ts";
import { requireApiKey } from "./guards.ts";
import { DEFAULT_MIN_PASSWORD_LENGTH } from "./passwords.ts";
import { limitByClient, TokenBuckets } from "./rate-limit.ts";
import { userRoutes } from "./routes-user.ts";
import { DEFAULT_AUDIENCE } from "./users.ts";

export interface AuthApiOptions {
  /** A database holding auth-schema.sql (PGlite or PostgreSQL). */
  readonly sql: SqlClient;
  /** JWT secret plus the anon and service-role keys the gateway accepts. */
  readonly keys: StandinKeys;
  /** The API's public URL, used as the tokens' `iss`. Default http://127.0.0.1:54321/auth/v1. */
  readonly issuer?: string;
  /** Access-token lifetime (GoTrue's JWT_EXP). Default 3600. */
  readonly accessTokenTtlSeconds?: number;
  /** How long a rotated refresh token may still be replayed (GoTrue default 10 s). */
  readonly refreshTokenReuseIntervalSeconds?: number;
  /** Default 6, as `supabase init` configures. */
  readonly minPasswordLength?: number;
  /**
   * `hosted` (supabase.com defaults) or `lenient` (`supabase start` defaults); see
   * local/standin/profile.ts. Default `lenient`.
   */
  readonly profile?: StandinProfile;
  /**
   * GoTrue's MAILER_AUTOCONFIRM: confirm signups at once and return a session. Default: off on
   * `hosted` ("Confirm email" is on for new hosted projects), on on `lenient`.
   */
  readonly autoconfirm?: boolean;
  /** Per-IP limits on /token and /signup; default GoTrue's on `hosted`, none on `lenient`. */
  readonly rateLimits?: RateLimitSettings | null;
  /**
   * Receives the confirmation mails GoTrue would send (confirmation.ts); default a private one.
   * Pass your own to read the links (tests, the demo).
   */
  readonly mailbox?: Mailbox;
  /** GoTrue's SITE_URL: where a confirmation link lands. Default http://127.0.0.1:3000. */
  readonly siteUrl?: string;
  /** Called with every unexpected (500) error; the default logs a redacted line to stderr. */
  readonly onUnexpectedError?: (error: unknown) => void;
}

function logUnexpected(error: unknown): void {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  console.error(`[auth] unexpected failure: ${redactString(message)}`);
}

export function createAuthApi(options: AuthApiOptions): Hono {
  const profile = options.profile ?? "lenient";
  const hosted = profile === "hosted";
  const issuer = options.issuer ?? "http://127.0.0.1:54321/auth/v1";
  const deps: AuthDeps = {
    sql: options.sql,
    keys: options.keys,
    tokens: {
      jwtSecret: options.keys.jwtSecret,
      // hosted: a new supabase.com project signs with an asymmetric key (ES256); lenient is a
      // legacy-key project (`supabase start` without signing keys): HS256 with the secret.
      ...(hosted ? { signingKey: options.keys.signingKey } : {}),
      issuer,
      ttlSeconds: options.accessTokenTtlSeconds ?? 3600,
    },
    keySet: {
      secret: options.keys.jwtSecret,
      // Read on every verification: a key imported later (importSigningKey) counts at once.
      get keys() {
        return hosted ? projectJwks(options.keys).keys : [];
      },
    },
    autoconfirm: options.autoconfirm ?? !hosted,
    minPasswordLength: options.minPasswordLength ?? DEFAULT_MIN_PASSWORD_LENGTH,
    refreshTokenReuseIntervalSeconds: options.refreshTokenReuseIntervalSeconds ?? 10,
    audience: DEFAULT_AUDIENCE,
    profile,
    confirmation: {
      mailbox: options.mailbox ?? new Mailbox(),
      externalUrl: issuer,
      // supabase/cli's config.toml default site_url.
      siteUrl: options.siteUrl ?? "http://127.0.0.1:3000",
    },
  };
  const rateLimits = options.rateLimits !== undefined
    ? options.rateLimits
    : hosted
    ? GOTRUE_DEFAULT_RATE_LIMITS
    : null;
  const onUnexpected = options.onUnexpectedError ?? logUnexpected;

  const app = new Hono();
  // GoTrue answers browsers from any origin; supabase-js needs these response headers visible.
  app.use(
    "*",
    cors({
      origin: (origin) => origin || "*",
      allowHeaders: [
        "apikey",
        "authorization",
        "content-type",
        "x-client-info",
        API_VERSION_HEADER.toLowerCase(),
      ],
      allowMethods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
      exposeHeaders: ["X-Total-Count", "Link", API_VERSION_HEADER],
      credentials: true,
    }),
  );
  app.use("*", async (c, next) => {
    await next();
    for (
      const [name, value] of Object.entries(apiVersionHeaders(c.req.header(API_VERSION_HEADER)))
    ) {
      c.res.headers.set(name, value);
    }
  });
  // GoTrue's key set, published without an API key (the gateway's open JWKS route): public keys
  // only, cached 10 minutes (supabase/auth internal/api/jwks.go WellKnownJwks). A legacy-only
  // project publishes {"keys":[]}.
  app.get("/.well-known/jwks.json", (c) => {
    c.header("Cache-Control", "public, max-age=600");
    return c.json(hosted ? projectJwks(options.keys) : { keys: [] });
  });
  // Kong lets the mail's link through without an apikey (supabase/supabase
  // docker/volumes/api/kong.yml: route auth-v1-open, /auth/v1/verify, has no key-auth).
  const apiKey = requireApiKey(options.keys, { newApiKeys: hosted });
  app.use(
    "*",
    (c, next) =>
      c.req.method === "GET" && c.req.path.endsWith("/verify") ? next() : apiKey(c, next),
  );
  if (rateLimits) {
    // supabase/auth internal/api/api.go: /signup (Signups limiter) and /token (token.go,
    // limiterOpts.Token) are limited per client key; see rate-limit.ts.
    app.use("/signup", limitByClient(new TokenBuckets(rateLimits.signup)));
    app.use("/token", limitByClient(new TokenBuckets(rateLimits.token)));
  }
  app.route("/", userRoutes(deps));
  app.route("/", confirmationRoutes(deps));
  app.route("/", adminRoutes(deps));

  app.onError((error, c) => {
    const version = c.req.header(API_VERSION_HEADER);
    if (error instanceof GoTrueError || error instanceof OAuthStyleError) {
      const { status, body } = gotrueErrorBody(error, version);
      return c.json(body, status as 400, apiVersionHeaders(version));
    }
    onUnexpected(error);
    const { status, body } = gotrueErrorBody(
      new GoTrueError(
        500,
        "unexpected_failure",
        "Unexpected failure, please check server logs for more information",
      ),
      version,
    );
    return c.json(body, status as 500, apiVersionHeaders(version));
  });
  app.notFound((c) => {
    const version = c.req.header(API_VERSION_HEADER);
    const { status, body } = gotrueErrorBody(
      new GoTrueError(404, "not_found", "Not Found"),
      version,
    );
    return c.json(body, status as 404, apiVersionHeaders(version));
  });
  return app;
}
