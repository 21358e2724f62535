import { z } from "zod";
import { parseWatchThresholds } from "../ops/watch.ts";

/**
 * The one schema for the environment. Names follow the Supabase platform and the migration
 * guides. Parsed once at start-up from a snapshot of the environment; nothing ever writes back to
 * Deno.env (runtime changes come from the runtime_flags table instead).
 */
const bool = (fallback: boolean) =>
  z.stringbool({ truthy: ["true", "1", "yes", "on"], falsy: ["false", "0", "no", "off", ""] })
    .default(fallback);

const percentage = (fallback: number) => z.coerce.number().min(0).max(100).default(fallback);

const csvList = z.string().default("").transform((value) =>
  value.split(",").map((item) => item.trim()).filter((item) => item.length > 0)
);

const jsonKeyMap = z.string().optional().transform((value, ctx) => {
  if (value === undefined || value.trim() === "") return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
      return parsed as Record<string, string>;
    }
  } catch { /* reported below */ }
  ctx.addIssue({ code: "custom", message: "expected a JSON object of named keys" });
  return z.NEVER;
});

const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, "expected a postgres:// URL");

export const ACCESS_TOKEN_SIGNING_MODES = ["es256", "hs256-project", "hs256"] as const;
export type AccessTokenSigningMode = (typeof ACCESS_TOKEN_SIGNING_MODES)[number];

/**
 * What is wrong with an ACCESS_TOKEN_SIGNING_JWK value, checked synchronously at start-up (the
 * key itself is imported by register-access-tokens.ts). Never echoes the value: it is a secret.
 */
function privateJwkProblem(value: string): string | null {
  let jwk: unknown;
  try {
    jwk = JSON.parse(value);
  } catch {
    return "expected a private JWK as JSON";
  }
  if (!jwk || typeof jwk !== "object" || Array.isArray(jwk)) return "expected a JSON object";
  const key = jwk as Record<string, unknown>;
  if (key.kty !== "EC" || key.crv !== "P-256") {
    return 'expected an EC P-256 key ("kty":"EC","crv":"P-256")';
  }
  if (typeof key.d !== "string") return 'expected a private key (with "d")';
  if (typeof key.kid !== "string" || key.kid === "") return 'expected a "kid"';
  return null;
}

export const MIGRATION_MODES = ["supabase_only", "dual_write", "better_auth_only"] as const;
export const CANARY_SELECTIONS = ["random", "whitelist", "email_domain", "user_id_hash"] as const;
export const DATABASE_PROVIDERS = ["pglite", "postgres", "supabase"] as const;

export type MigrationMode = (typeof MIGRATION_MODES)[number];
export type CanarySelection = (typeof CANARY_SELECTIONS)[number];
export type DatabaseProviderName = (typeof DATABASE_PROVIDERS)[number];

/**
 * Why Better Auth cannot live in a database of its own here. Every piece that keeps the two
 * systems consistent is one SQL statement or one trigger over both sets of tables: the batch
 * copies users with `INSERT INTO "user" … SELECT … FROM auth.users` in one transaction per batch
 * (shared/batch/statements.ts), the change capture is triggers on auth.users and on Better Auth's
 * tables writing one `identity_change_outbox` (migrations/20261206000200), and verify, status and
 * the dual-write bookkeeping join auth.users with "user". PostgreSQL has no cross-database
 * statement or transaction, so a second database would turn each of those into a non-atomic
 * two-phase copy. Refusing the variable is honest; ignoring it would put Better Auth's users
 * somewhere the operator did not ask for.
 */
export const SEPARATE_BETTER_AUTH_DATABASE =
  "not supported: Better Auth's tables must be in the project database (SUPABASE_DB_URL / DATABASE_URL), " +
  "next to auth.users, because the batch copy (INSERT … SELECT from auth.users), the change-capture " +
  "triggers and their outbox, verify and dual-write bookkeeping are single statements and " +
  "transactions over both; unset BETTER_AUTH_DATABASE_URL";

export const envSchema = z.object({
  SUPABASE_URL: z.url().optional(),
  SUPABASE_ANON_KEY: z.string().min(1).optional(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1).optional(),
  SUPABASE_PUBLISHABLE_KEYS: jsonKeyMap,
  SUPABASE_SECRET_KEYS: jsonKeyMap,
  SUPABASE_DB_URL: postgresUrl.optional(),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_PROVIDER: z.enum(DATABASE_PROVIDERS).optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(100).default(5),
  PGLITE_DATA_DIR: z.string().min(1).optional(),
  BETTER_AUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  BETTER_AUTH_URL: z.url().optional(),
  /**
   * Not supported: kept in the schema only so that setting it stops start-up with the reason
   * (see superRefine) instead of being silently ignored.
   */
  BETTER_AUTH_DATABASE_URL: z.string().optional(),
  SENTRY_DSN: z.url().optional(),
  SENTRY_ENVIRONMENT: z.string().min(1).default("development"),
  SENTRY_TRACES_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(0),
  MIGRATION_MODE: z.enum(MIGRATION_MODES).default("supabase_only"),
  USE_BETTER_AUTH: bool(false),
  MIGRATION_VALIDATION: bool(false),
  MIGRATION_FALLBACK_TIMEOUT: z.coerce.number().int().min(1).max(120_000).default(5000),
  MIGRATION_ROLLOUT_PERCENTAGE: percentage(0),
  MIGRATION_ENABLE_FALLBACK: bool(true),
  MIGRATION_ENABLE_COMPARISON: bool(false),
  FORCE_ORIGINAL_IMPLEMENTATION: bool(false),
  CANARY_ENABLED: bool(false),
  CANARY_PERCENTAGE: percentage(0),
  CANARY_USER_SELECTION: z.enum(CANARY_SELECTIONS).default("user_id_hash"),
  CANARY_WHITELIST: csvList,
  CANARY_EMAIL_DOMAINS: csvList,
  DRY_RUN: bool(false),
  ROUTING_KEY_HEADER: z.string().regex(/^[A-Za-z0-9-]+$/, "expected an HTTP header name")
    .optional(),
  /** Header carrying the client IP, appended to by each trusted proxy (shared/http/client-ip.ts). */
  CLIENT_IP_HEADER: z.string().regex(/^[A-Za-z0-9-]+$/, "expected an HTTP header name")
    .default("x-forwarded-for"),
  /** Trusted proxies that each append one entry; the client IP is that many from the right. */
  CLIENT_IP_TRUSTED_HOPS: z.coerce.number().int().min(1).max(10).default(1),
  /** JSON overrides of the always-on watch's thresholds (shared/ops/watch.ts). */
  OPS_WATCH_THRESHOLDS: z.string().optional().superRefine((value, ctx) => {
    if (value === undefined) return;
    try {
      parseWatchThresholds(value);
    } catch (error) {
      ctx.addIssue({
        code: "custom",
        message: (error as Error).message.replace(/^OPS_WATCH_THRESHOLDS: /, ""),
      });
    }
  }),
  /** Circuit breaker of the abstracted path (shared/migrator/circuit-breaker.ts). */
  MIGRATION_BREAKER_ENABLED: bool(true),
  MIGRATION_BREAKER_FAILURES: z.coerce.number().int().min(1).max(10_000).default(5),
  MIGRATION_BREAKER_WINDOW_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  MIGRATION_BREAKER_OPEN_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  /** Shadow noise floor (shared/migrator/noise-floor.ts): share of comparisons re-running the primary. */
  MIGRATION_SHADOW_NOISE_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(0.1),
  MIGRATION_SHADOW_NOISE_HALF_LIFE_MS: z.coerce.number().int().min(1000).max(86_400_000)
    .default(600_000),
  /** Gates of the migration stages (shared/cutover/gates.ts). */
  MIGRATION_STAGE_MAX_DISAGREEMENT_RATE: z.coerce.number().min(0).max(1).default(0.01),
  MIGRATION_STAGE_MIN_COMPARISONS: z.coerce.number().int().min(0).max(100_000_000).default(0),
  MIGRATION_STAGE_MAX_OPEN_DIVERGENCES: z.coerce.number().int().min(0).max(1_000_000).default(0),
  MIGRATION_STAGE_QUIET_PERIOD_MS: z.coerce.number().int().min(0).max(90 * 86_400_000)
    .default(86_400_000),
  FLAGS_CACHE_TTL_MS: z.coerce.number().int().min(0).max(5000).default(5000),
  MAX_REQUEST_BYTES: z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(64 * 1024),
  CRON_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  /** Users per batch of a new migration (each batch is one transaction). */
  MIGRATION_BATCH_SIZE: z.coerce.number().int().min(1).max(50_000).default(1000),
  /** Wall-clock budget of one migrate-batch invocation before it returns (cron calls again). */
  MIGRATION_BATCH_BUDGET_MS: z.coerce.number().int().min(0).max(3_600_000).default(50_000),
  /**
   * CPU budget of one migrate-batch invocation (process CPU ms): hosted Edge Functions are ended
   * past ~2 s of CPU per request, so a call returns before that and the cron continues.
   */
  MIGRATION_BATCH_CPU_BUDGET_MS: z.coerce.number().int().min(0).max(3_600_000).default(1_500),
  /**
   * The project's legacy HS256 JWT secret, to verify Supabase access tokens locally (names that
   * start with SUPABASE_ are reserved for the platform). Without it: the JWKS, else Auth's /user.
   */
  PROJECT_JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  /**
   * How Better Auth-path access tokens are signed (shared/auth/register-access-tokens.ts):
   * `es256` with ACCESS_TOKEN_SIGNING_JWK (imported into the project's JWT signing keys, so
   * Supabase accepts them), `hs256-project` with PROJECT_JWT_SECRET (the legacy JWT secret, also
   * accepted by Supabase), `hs256` with a key derived from BETTER_AUTH_SECRET (our functions only).
   * Default: `es256` when ACCESS_TOKEN_SIGNING_JWK is set, else `hs256`.
   */
  ACCESS_TOKEN_SIGNING: z.enum(ACCESS_TOKEN_SIGNING_MODES).optional(),
  /** A private EC P-256 JWK (JSON, with `kid`) that signs Better Auth-path tokens ES256. */
  ACCESS_TOKEN_SIGNING_JWK: z.string().optional().superRefine((value, ctx) => {
    if (value === undefined) return;
    const problem = privateJwkProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
  /** A legacy user table's database for migrate-batch (instead of Supabase auth.users). */
  OLD_DATABASE_URL: postgresUrl.optional(),
  OPS_ADMIN_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  OPS_ALERT_WEBHOOK_URL: z.url().optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
}).superRefine((env, ctx) => {
  if (env.BETTER_AUTH_DATABASE_URL !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["BETTER_AUTH_DATABASE_URL"],
      message: SEPARATE_BETTER_AUTH_DATABASE,
    });
  }
  if (env.MIGRATION_MODE !== "supabase_only" && !env.BETTER_AUTH_SECRET) {
    ctx.addIssue({
      code: "custom",
      path: ["BETTER_AUTH_SECRET"],
      message: `required when MIGRATION_MODE is ${env.MIGRATION_MODE}`,
    });
  }
  if (env.ACCESS_TOKEN_SIGNING === "es256" && !env.ACCESS_TOKEN_SIGNING_JWK) {
    ctx.addIssue({
      code: "custom",
      path: ["ACCESS_TOKEN_SIGNING_JWK"],
      message: "required when ACCESS_TOKEN_SIGNING is es256",
    });
  }
  if (env.ACCESS_TOKEN_SIGNING === "hs256-project" && !env.PROJECT_JWT_SECRET) {
    ctx.addIssue({
      code: "custom",
      path: ["PROJECT_JWT_SECRET"],
      message: "required when ACCESS_TOKEN_SIGNING is hs256-project",
    });
  }
  if (env.DATABASE_PROVIDER === "postgres" && !env.DATABASE_URL && !env.SUPABASE_DB_URL) {
    ctx.addIssue({
      code: "custom",
      path: ["DATABASE_URL"],
      message: "DATABASE_URL or SUPABASE_DB_URL is required when DATABASE_PROVIDER is postgres",
    });
  }
  if (env.DATABASE_PROVIDER === "supabase" && (!env.SUPABASE_URL || !serviceKeyOf(env))) {
    ctx.addIssue({
      code: "custom",
      path: ["SUPABASE_URL"],
      message:
        "SUPABASE_URL and a service key (SUPABASE_SERVICE_ROLE_KEY or SUPABASE_SECRET_KEYS) are required when DATABASE_PROVIDER is supabase",
    });
  }
});

/** DRY_RUN as the schema reads it, for CLIs that do not load the whole config. Throws ConfigError. */
export function dryRunFrom(raw: Record<string, string | undefined>): boolean {
  const parsed = envSchema.shape.DRY_RUN.safeParse(raw.DRY_RUN === "" ? undefined : raw.DRY_RUN);
  if (!parsed.success) {
    throw new ConfigError([{ variable: "DRY_RUN", message: parsed.error.issues[0]!.message }]);
  }
  return parsed.data;
}

export type RawEnv = z.input<typeof envSchema>;
export type Env = z.output<typeof envSchema>;

function serviceKeyOf(env: Pick<Env, "SUPABASE_SERVICE_ROLE_KEY" | "SUPABASE_SECRET_KEYS">) {
  return env.SUPABASE_SERVICE_ROLE_KEY ?? firstValue(env.SUPABASE_SECRET_KEYS);
}

function firstValue(map: Record<string, string> | undefined): string | undefined {
  if (!map) return undefined;
  return map["default"] ?? Object.values(map)[0];
}

/** Thrown when the environment is invalid; the message lists every offending variable. */
export class ConfigError extends Error {
  constructor(readonly issues: ReadonlyArray<{ variable: string; message: string }>) {
    super(
      "Invalid environment: " +
        issues.map((issue) => `${issue.variable}: ${issue.message}`).join("; "),
    );
    this.name = "ConfigError";
  }
}

export interface AppConfig {
  readonly env: Env;
  readonly database:
    | { readonly provider: "pglite"; readonly dataDir?: string }
    | { readonly provider: "postgres"; readonly url: string; readonly poolMax: number }
    | { readonly provider: "supabase"; readonly url: string; readonly serviceKey: string };
  readonly supabase: {
    readonly url?: string;
    readonly anonKey?: string;
    readonly serviceKey?: string;
  };
}

/** Validates a snapshot of the environment (e.g. `Deno.env.toObject()`). Throws ConfigError. */
export function loadConfig(raw: Record<string, string | undefined>): AppConfig {
  // Empty strings mean "unset" for optional values, as in most .env tooling.
  const cleaned = Object.fromEntries(
    Object.entries(raw).filter(([, value]) => value !== undefined && value !== ""),
  );
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({
      variable: String(issue.path[0] ?? "environment"),
      message: issue.message,
    }));
    throw new ConfigError(issues);
  }
  const env = parsed.data;
  const dbUrl = env.DATABASE_URL ?? env.SUPABASE_DB_URL;
  const provider: DatabaseProviderName = env.DATABASE_PROVIDER ?? (dbUrl ? "postgres" : "pglite");
  const serviceKey = serviceKeyOf(env);
  const database: AppConfig["database"] = provider === "postgres"
    ? { provider, url: dbUrl!, poolMax: env.DATABASE_POOL_MAX }
    : provider === "supabase"
    ? { provider, url: env.SUPABASE_URL!, serviceKey: serviceKey! }
    : { provider, dataDir: env.PGLITE_DATA_DIR };
  return {
    env,
    database,
    supabase: {
      url: env.SUPABASE_URL,
      anonKey: env.SUPABASE_ANON_KEY ?? firstValue(env.SUPABASE_PUBLISHABLE_KEYS),
      serviceKey,
    },
  };
}
