/**
 * Auth benchmarks (issue 4), side by side in one run on one machine:
 *
 * - Reference costs: one bcrypt verify alone (bcryptjs, cost 10, as GoTrue stores) and one
 *   Better Auth scrypt verify alone.
 * - Login p50 per path, through DualWriteAuthService: Supabase (the stand-in over HTTP, bcrypt),
 *   Better Auth (scrypt user), dual write with either primary, a first login that lazily migrates
 *   a Supabase user, and failed logins (wrong password vs unknown email, padded to the floor).
 *   The ratio column divides by the bcrypt verify measured in the same run (target ≤ 1.3×); the
 *   "own hash" column divides by the hash the path itself must verify, i.e. our overhead.
 * - Signup p50 per mode.
 *
 * Everything runs in this process on one PGlite: the stand-in's bcrypt competes for the same JS
 * thread, as a real GoTrue would not. Iterations: AUTH_BENCH_N (default 15) per path.
 *
 * Run: deno run -A bench/auth.ts   (or import { run } and await run())
 */
import { Hono } from "hono";
import bcrypt from "bcryptjs";
import {
  type AccessTokenVerifierConfig,
  DEFAULT_BETTER_AUTH_ISSUER,
} from "../shared/auth/access-tokens.ts";
import { createBetterAuth } from "../shared/auth/better-auth.ts";
import { BetterAuthService } from "../shared/auth/better-auth-service.ts";
import { DivergenceRepository } from "../shared/auth/divergences.ts";
import {
  DualWriteAuthService,
  type DualWriteSettings,
} from "../shared/auth/dual-write-auth-service.ts";
import { MigrationStatusRepository } from "../shared/auth/migration-status.ts";
import { DEFAULT_PASSWORD_POLICY } from "../shared/auth/password-policy.ts";
import { hashPassword, verifyPassword } from "../shared/auth/passwords.ts";
import { LoginRateLimiter } from "../shared/auth/rate-limiter.ts";
import { SignupClaims } from "../shared/auth/signup-claims.ts";
import { SupabaseAuthService } from "../shared/auth/supabase-auth-service.ts";
import { loadMigrationFiles, runMigrations } from "../local/db/migration-runner.ts";
import { openPglite } from "../local/db/pglite-client.ts";
import { createAuthApi } from "../local/standin/auth/app.ts";
import { AUTH_SCHEMA_URL } from "../local/standin/database.ts";
import { createStandinKeys } from "../local/standin/keys.ts";

const PASSWORD = "correct-horse-battery";
const TOKEN_SECRET = "bench-access-token-secret-0123456789abcdef";

export interface AuthBenchRow {
  readonly name: string;
  readonly p50: number;
  readonly p95: number;
  /** p50 / one bcrypt verify (same run). */
  readonly vsBcrypt: number;
  /** p50 / the verification the path itself performs (null where none applies). */
  readonly vsOwnHash: number | null;
}

function quantile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function sample(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await fn(i);
    out.push(performance.now() - started);
  }
  return out;
}

function must<T extends { ok: boolean }>(outcome: T, what: string): T {
  if (!outcome.ok) throw new Error(`${what} failed: ${JSON.stringify(outcome)}`);
  return outcome;
}

export async function run(): Promise<AuthBenchRow[]> {
  const n = Number(Deno.env.get("AUTH_BENCH_N") ?? 15);
  const db = await openPglite();
  const abort = new AbortController();
  try {
    await runMigrations(db, await loadMigrationFiles());
    await db.exec(await Deno.readTextFile(AUTH_SCHEMA_URL));
    const keys = await createStandinKeys();
    const app = new Hono();
    const server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", signal: abort.signal, onListen: () => {} },
      (request, info) => app.fetch(request, info),
    );
    const url = `http://127.0.0.1:${server.addr.port}`;
    app.route("/auth/v1", createAuthApi({ sql: db, keys, issuer: `${url}/auth/v1` }));

    const tokens: AccessTokenVerifierConfig = {
      betterAuth: { secret: TOKEN_SECRET, issuer: DEFAULT_BETTER_AUTH_ISSUER },
      supabase: { jwtSecret: keys.jwtSecret },
    };
    const supabase = new SupabaseAuthService({
      url,
      anonKey: keys.anonKey,
      serviceKey: keys.serviceRoleKey,
      sql: db,
      passwordPolicy: DEFAULT_PASSWORD_POLICY,
      tokens,
    });
    const betterAuth = new BetterAuthService({
      auth: createBetterAuth({
        db,
        secret: "bench-better-auth-secret-at-least-32-chars",
        passwordPolicy: DEFAULT_PASSWORD_POLICY,
      }),
      db,
      signing: { secret: TOKEN_SECRET, issuer: DEFAULT_BETTER_AUTH_ISSUER, ttlSeconds: 3600 },
      tokens,
      passwordPolicy: DEFAULT_PASSWORD_POLICY,
    });
    const base: DualWriteSettings = {
      mode: "dual_write",
      useBetterAuth: false,
      validation: true,
      fallbackTimeoutMs: 5000,
      canary: {
        enabled: false,
        percentage: 0,
        selection: "user_id_hash",
        whitelist: [],
        emailDomains: [],
      },
      passwordPolicy: DEFAULT_PASSWORD_POLICY,
    };
    const service = (settings: Partial<DualWriteSettings>) =>
      new DualWriteAuthService({ ...base, ...settings }, {
        supabase,
        betterAuth,
        status: new MigrationStatusRepository(db),
        divergences: new DivergenceRepository(db),
        // Generous limits: the bench fails on purpose many times from one "IP".
        rateLimiter: new LoginRateLimiter(db, {
          pair: {
            freeFailures: 1_000_000,
            baseDelaySeconds: 1,
            maxDelaySeconds: 1,
            windowSeconds: 60,
          },
          ip: { maxFailures: 1_000_000, windowSeconds: 60 },
        }),
        claims: new SignupClaims(db),
        tokens,
      });
    let counter = 0;
    const email = (label: string) => `bench.${label}.${++counter}@example.com`;

    // Users: one in both systems (Better Auth hash already scrypt), legacy Supabase-only users.
    const dual = email("dual");
    must(await service({}).signUp({ email: dual, password: PASSWORD }), "dual signup");
    must(
      await service({ mode: "better_auth_only" }).signIn({ email: dual, password: PASSWORD }),
      "warm-up",
    );
    const legacy: string[] = [];
    for (let i = 0; i < n; i++) {
      const address = email("legacy");
      must(await supabase.signUp({ email: address, password: PASSWORD }), "legacy signup");
      legacy.push(address);
    }

    // Reference costs, in the same run.
    const bcryptHash = await bcrypt.hash(PASSWORD, 10);
    const scryptHash = await hashPassword(PASSWORD, "scrypt");
    await verifyPassword(bcryptHash, PASSWORD);
    const bcryptAlone = quantile(await sample(n, () => verifyPassword(bcryptHash, PASSWORD)), 0.5);
    const scryptAlone = quantile(await sample(n, () => verifyPassword(scryptHash, PASSWORD)), 0.5);

    const rows: AuthBenchRow[] = [];
    const add = (name: string, samples: number[], ownHash: number | null) => {
      const p50 = quantile(samples, 0.5);
      rows.push({
        name,
        p50,
        p95: quantile(samples, 0.95),
        vsBcrypt: p50 / bcryptAlone,
        vsOwnHash: ownHash === null ? null : p50 / ownHash,
      });
    };
    add("bcrypt verify alone (cost 10)", [bcryptAlone], bcryptAlone);
    add("scrypt verify alone (Better Auth)", [scryptAlone], scryptAlone);

    const login = (settings: Partial<DualWriteSettings>, address: string) => async () => {
      must(await service(settings).signIn({ email: address, password: PASSWORD }), "login");
    };
    add(
      "login supabase_only (stand-in, bcrypt)",
      await sample(n, login({ mode: "supabase_only" }, dual)),
      bcryptAlone,
    );
    add(
      "login better_auth_only (scrypt)",
      await sample(n, login({ mode: "better_auth_only" }, dual)),
      scryptAlone,
    );
    add("login dual_write, Supabase primary", await sample(n, login({}, dual)), bcryptAlone);
    add(
      "login dual_write, Better Auth primary",
      await sample(n, login({ useBetterAuth: true }, dual)),
      scryptAlone,
    );
    add(
      "first login + lazy migration (Supabase primary)",
      await sample(n, (i) => login({}, legacy[i]!)()),
      bcryptAlone,
    );
    add(
      "next login of a lazily migrated user (BA only, bcrypt→scrypt)",
      await sample(n, (i) => login({ mode: "better_auth_only" }, legacy[i]!)()),
      bcryptAlone + scryptAlone,
    );

    const floored = service({ useBetterAuth: true });
    const fail = (address: () => string) => async () => {
      const outcome = await floored.signIn({ email: address(), password: "wrong-password" });
      if (outcome.ok) throw new Error("a wrong password logged in");
    };
    add("failed login: wrong password (dual_write)", await sample(n, fail(() => dual)), null);
    add(
      "failed login: unknown email (dual_write)",
      await sample(n, fail(() => email("nobody"))),
      null,
    );

    const signup = (settings: Partial<DualWriteSettings>) => async () => {
      must(
        await service(settings).signUp({ email: email("signup"), password: PASSWORD }),
        "signup",
      );
    };
    add("signup supabase_only", await sample(n, signup({ mode: "supabase_only" })), null);
    add("signup better_auth_only", await sample(n, signup({ mode: "better_auth_only" })), null);
    add("signup dual_write, Supabase primary", await sample(n, signup({})), null);
    add(
      "signup dual_write, Better Auth primary",
      await sample(n, signup({ useBetterAuth: true })),
      null,
    );

    printTable(rows, n);
    return rows;
  } finally {
    abort.abort();
    await db.close();
  }
}

function printTable(rows: readonly AuthBenchRow[], n: number): void {
  const width = Math.max(...rows.map((row) => row.name.length));
  console.log(`\nauth benchmark (n=${n} per path; ratios vs one bcrypt verify in this run)`);
  console.log(
    `${"path".padEnd(width)}  ${"p50 ms".padStart(8)}  ${"p95 ms".padStart(8)}  ${
      "×bcrypt".padStart(8)
    }  ${"×own hash".padStart(9)}`,
  );
  for (const row of rows) {
    console.log(
      `${row.name.padEnd(width)}  ${row.p50.toFixed(1).padStart(8)}  ${
        row.p95.toFixed(1).padStart(8)
      }  ${row.vsBcrypt.toFixed(2).padStart(8)}  ${
        (row.vsOwnHash === null ? "-" : row.vsOwnHash.toFixed(2)).padStart(9)
      }`,
    );
  }
  const wrong = rows.find((row) => row.name.includes("wrong password"));
  const unknown = rows.find((row) => row.name.includes("unknown email"));
  if (wrong && unknown) {
    console.log(
      `failed-login timing, unknown email / wrong password: ${
        (unknown.p50 / wrong.p50).toFixed(2)
      }×`,
    );
  }
}

if (import.meta.main) await run();
