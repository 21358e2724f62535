/**
 * The per-backend circuit breaker in dual write (shared/migrator/circuit-breaker.ts through the
 * dual-write service's `breaker`): a Better Auth that hangs costs at most one timeout per probe
 * interval, not one per signup; the signups skipped by the open breaker still succeed on
 * Supabase and leave a missing_user divergence for reconciliation; a definitive refusal (the
 * user already exists) never counts as a failure. Real stand-in GoTrue, real Better Auth over a
 * PostgreSQL port that accepts connections and never answers.
 */
import assert from "node:assert/strict";
import { DualWriteAuthService } from "../../../shared/auth/dual-write-auth-service.ts";
import { LoginRateLimiter } from "../../../shared/auth/rate-limiter.ts";
import { SignupClaims } from "../../../shared/auth/signup-claims.ts";
import { SystemOfRecord } from "../../../shared/identity/system-of-record.ts";
import { CircuitBreaker, SqlBreakerStore } from "../../../shared/migrator/circuit-breaker.ts";
import {
  BASE_SETTINGS,
  blackHoleTcp,
  email,
  hangingBetterAuth,
  openStack,
  PASSWORD,
  presence,
  type Provider,
  type Stack,
  supabaseAt,
  verifierConfig,
} from "./harness.ts";

/** A GoTrue that accepts every request and never answers (until closed), counting requests. */
function countingHangingServer() {
  const abort = new AbortController();
  let requests = 0;
  const release = new Promise<Response>((resolve) =>
    abort.signal.addEventListener("abort", () => resolve(new Response(null, { status: 503 })))
  );
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: abort.signal, onListen: () => {} },
    () => {
      requests++;
      return release;
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests: () => requests,
    close: async () => {
      abort.abort();
      await server.finished;
    },
  };
}
import type { BetterAuthService } from "../../../shared/auth/better-auth-service.ts";
import type { SupabaseAuthService } from "../../../shared/auth/supabase-auth-service.ts";
import { hashBcrypt } from "../../../shared/auth/passwords.ts";

// Generous under a loaded machine: every skipped signup of one interval must fit in OPEN_MS.
const OPEN_MS = 10_000;
const TIMEOUT_MS = 2000;

function serviceWithBreaker(
  stack: Stack,
  breaker: CircuitBreaker,
  betterAuth?: BetterAuthService,
  supabase?: SupabaseAuthService,
) {
  const settings = { ...BASE_SETTINGS, validation: false, fallbackTimeoutMs: TIMEOUT_MS };
  return new DualWriteAuthService(settings, {
    supabase: supabase ?? stack.supabase,
    betterAuth: betterAuth ?? stack.betterAuth,
    status: stack.status,
    divergences: stack.divergences,
    rateLimiter: new LoginRateLimiter(stack.db),
    claims: new SignupClaims(stack.db),
    tokens: verifierConfig(stack.keys),
    identity: new SystemOfRecord(
      { mode: "dual_write", useBetterAuth: false, supabase: true, betterAuth: true },
      { db: stack.db },
    ),
    breaker,
  });
}

function breakerOn(stack: Stack): CircuitBreaker {
  return new CircuitBreaker({
    failureThreshold: 1,
    windowMs: 60_000,
    openMs: OPEN_MS,
    cacheTtlMs: 0,
    store: new SqlBreakerStore(stack.db),
  });
}

async function missingReasons(stack: Stack, userId: string): Promise<string[]> {
  return (await stack.divergences.listForUser(userId))
    .filter((row) => row.kind === "missing_user" && row.status === "open")
    .map((row) => row.reason);
}

for (const provider of ["pglite", "postgres"] as Provider[]) {
  const ignore = provider === "postgres" && !Deno.env.get("TEST_DATABASE_URL");
  Deno.test({
    name: `dual write on ${provider}: a hanging Better Auth costs one timeout per probe interval`,
    ignore,
    async fn() {
      const stack = await openStack(provider);
      const hole = blackHoleTcp();
      const hanging = hangingBetterAuth(stack.keys, hole);
      const breaker = breakerOn(stack);
      const service = serviceWithBreaker(stack, breaker, hanging.service);
      try {
        // Warm GoTrue and bcrypt up, so the Supabase side never nears the timeout.
        const warm = stack.service({ validation: false });
        assert.ok((await warm.signUp({ email: email("warm"), password: PASSWORD })).ok);
        const reasons: string[] = [];
        const signUp = async () => {
          const address = email("breaker");
          const outcome = await service.signUp({ email: address, password: PASSWORD });
          assert.ok(outcome.ok, JSON.stringify(!outcome.ok && outcome.error));
          const where = await presence(stack.db, address);
          assert.deepEqual(where.supabase, [outcome.value.user.id]);
          const missing = await missingReasons(stack, outcome.value.user.id);
          assert.equal(missing.length, 1, "missing_user recorded for reconciliation");
          reasons.push(missing[0]!);
        };
        // First interval: the first signup times out and opens the breaker; the rest skip.
        for (let i = 0; i < 5; i++) await signUp();
        const timedOut = (list: string[]) => list.filter((r) => /timed out/.test(r)).length;
        const skipped = (list: string[]) =>
          list.filter((r) => /circuit breaker is open/.test(r)).length;
        assert.equal(timedOut(reasons), 1, JSON.stringify(reasons));
        assert.equal(skipped(reasons), 4, JSON.stringify(reasons));
        assert.equal(breaker.state("signup:better_auth"), "open");
        assert.equal(breaker.state("signup:supabase"), "closed");

        // Next interval: exactly one probe (it times out again and re-opens); the rest skip.
        await new Promise((resolve) => setTimeout(resolve, OPEN_MS + 100));
        const second: string[] = [];
        const before = reasons.length;
        for (let i = 0; i < 4; i++) await signUp();
        second.push(...reasons.slice(before));
        assert.equal(timedOut(second), 1, JSON.stringify(second));
        assert.equal(skipped(second), 3, JSON.stringify(second));
      } finally {
        await service.drain();
        await hole.close();
        await hanging.db.close().catch(() => {});
        await stack.close();
      }
    },
  });

  Deno.test({
    name: `dual write on ${provider}: a definitive refusal never counts against a backend`,
    ignore,
    async fn() {
      const stack = await openStack(provider);
      const breaker = breakerOn(stack);
      const service = serviceWithBreaker(stack, breaker);
      try {
        const warm = stack.service({ validation: false });
        assert.ok((await warm.signUp({ email: email("warm"), password: PASSWORD })).ok);
        const address = email("exists");
        const first = await service.signUp({ email: address, password: PASSWORD });
        assert.ok(first.ok, JSON.stringify(!first.ok && first.error));
        for (let i = 0; i < 3; i++) {
          const again = await service.signUp({ email: address, password: PASSWORD });
          assert.ok(!again.ok);
          assert.equal(again.error.code, "user_already_exists");
        }
        assert.equal(breaker.state("signup:supabase"), "closed");
        assert.equal(breaker.state("signup:better_auth"), "closed");
        // A wrong password is the system of record's answer, not an outage.
        for (let i = 0; i < 3; i++) {
          const wrong = await service.signIn({ email: address, password: "wrong-password-1" });
          assert.ok(!wrong.ok);
          assert.equal(wrong.error.code, "invalid_credentials");
        }
        assert.equal(breaker.state("login:supabase"), "closed");
        const right = await service.signIn({ email: address, password: PASSWORD });
        assert.ok(right.ok, "still served after the refusals");
      } finally {
        await service.drain();
        await stack.close();
      }
    },
  });
}

for (const provider of ["pglite", "postgres"] as Provider[]) {
  Deno.test({
    name: `dual write on ${provider}: an open login breaker skips Supabase only where the rule ` +
      "lets Better Auth answer",
    ignore: provider === "postgres" && !Deno.env.get("TEST_DATABASE_URL"),
    async fn() {
      const stack = await openStack(provider);
      const gotrue = countingHangingServer();
      const breaker = breakerOn(stack);
      const service = serviceWithBreaker(
        stack,
        breaker,
        undefined,
        supabaseAt(gotrue.url, stack.keys, stack.db, 60_000),
      );
      try {
        // Three users in both systems, written by a healthy dual write.
        const healthy = stack.service({ validation: false });
        const signUp = async (label: string) => {
          const address = email(label);
          const created = await healthy.signUp({ email: address, password: PASSWORD });
          assert.ok(created.ok, JSON.stringify(!created.ok && created.error));
          return { email: address, id: created.value.user.id };
        };
        const inSync = await signUp("in-sync");
        const banned = await signUp("banned");
        const behind = await signUp("behind");
        // Banned in both copies (applied): Supabase's own stored state refuses, Supabase down.
        await stack.db.query(
          `UPDATE auth.users SET banned_until = now() + interval '1 day' WHERE id = $1::uuid`,
          [banned.id],
        );
        await stack.db.query(
          `UPDATE "user" SET banned = true, "banExpires" = now() + interval '1 day'
            WHERE id = $1::uuid`,
          [banned.id],
        );
        // A password reset in Supabase, not applied yet: the copies disagree, nobody else answers.
        await stack.db.query(
          `UPDATE auth.users SET encrypted_password = $2 WHERE id = $1::uuid`,
          [behind.id, await hashBcrypt("a-new-password-9")],
        );
        await stack.db.query(
          `INSERT INTO identity_change_outbox (direction, user_id, entity, op)
           VALUES ('to_better_auth', $1::uuid, 'user', 'update')`,
          [behind.id],
        );

        // The system of record (Supabase) hangs once: timed out, Better Auth (in sync) answers.
        const first = await service.signIn({ email: inSync.email, password: PASSWORD });
        assert.ok(first.ok, JSON.stringify(!first.ok && first.error));
        assert.equal(gotrue.requests(), 1);
        assert.equal(breaker.state("login:supabase"), "open");

        // Open: Supabase is not asked again; the rule still decides who may answer.
        const again = await service.signIn({ email: inSync.email, password: PASSWORD });
        assert.ok(again.ok, "in sync: Better Auth answers at once");
        const wrong = await service.signIn({ email: inSync.email, password: "not-the-password" });
        assert.ok(!wrong.ok);
        assert.equal(wrong.error.code, "invalid_credentials", "the record's own hash refuses");
        const refused = await service.signIn({ email: banned.email, password: PASSWORD });
        assert.ok(!refused.ok);
        assert.equal(refused.error.code, "user_banned", "Supabase's stored ban is final");
        const unavailable = await service.signIn({ email: behind.email, password: PASSWORD });
        assert.ok(!unavailable.ok);
        assert.equal(unavailable.error.code, "auth_unavailable", "not in sync: nobody guesses");
        assert.equal(gotrue.requests(), 1, "one timeout for the whole open interval");
        assert.equal(breaker.state("login:better_auth"), "closed");
      } finally {
        await service.drain();
        await gotrue.close();
        await stack.close();
      }
    },
  });
}
