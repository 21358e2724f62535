/**
 * DualWriteAuthService with real parts only: the Supabase Auth stand-in over HTTP (supabase-js),
 * Better Auth on the same database, and backends that fail for real (a closed port, a server
 * that never answers, a database port that refuses or swallows connections).
 *
 * Covers what the migration guide's unit tests check — both succeed, primary fails, both fail,
 * each mode writes only where it should, login order and fallback — for both primaries, plus
 * timeouts, compensation, lazy migration, canary, rate limiting and enumeration.
 */
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import { verifyAccessToken } from "../../../shared/auth/access-tokens.ts";
import type { BetterAuthService } from "../../../shared/auth/better-auth-service.ts";
import { hashKind } from "../../../shared/auth/passwords.ts";
import { reconcileDivergences } from "../../../shared/auth/reconciliation.ts";
import type { SupabaseAuthService } from "../../../shared/auth/supabase-auth-service.ts";
import type { AuthSystem } from "../../../shared/auth/types.ts";
import { TEST_DATABASE_URL } from "../../helpers/db.ts";
import {
  blackHoleTcp,
  closedPort,
  downBetterAuth,
  email,
  hangingBetterAuth,
  hangingServer,
  openStack,
  PASSWORD,
  presence,
  type Provider,
  type Stack,
  supabaseAt,
  verifierConfig,
} from "./harness.ts";

const OTHER: Record<AuthSystem, AuthSystem> = { supabase: "better_auth", better_auth: "supabase" };

/** Broken stand-ins for one system, failing for real; close() releases their sockets. */
interface Broken {
  readonly supabase?: SupabaseAuthService;
  readonly betterAuth?: BetterAuthService;
  close(): Promise<void>;
}

function down(stack: Stack, system: AuthSystem): Broken {
  if (system === "supabase") {
    return { supabase: supabaseAt(closedPort().url, stack.keys, stack.db), close: async () => {} };
  }
  const { service, db } = downBetterAuth(stack.keys);
  return { betterAuth: service, close: () => db.close() };
}

function hanging(stack: Stack, system: AuthSystem): Broken {
  if (system === "supabase") {
    const server = hangingServer();
    return {
      supabase: supabaseAt(server.url, stack.keys, stack.db, 1500),
      close: () => server.close(),
    };
  }
  const hole = blackHoleTcp();
  const { service, db } = hangingBetterAuth(stack.keys, hole);
  return {
    betterAuth: service,
    close: async () => {
      await hole.close();
      await db.close().catch(() => {});
    },
  };
}

/** Tracking writes are best-effort at run time (events), but in a healthy stack none may fail. */
function assertNoBookkeepingFailure(stack: Stack, since: number): void {
  const failed = stack.events.slice(since).filter((e) =>
    e.detail?.startsWith("bookkeeping failed")
  );
  assert.deepEqual(failed, []);
}

async function issuerOf(stack: Stack, token: string): Promise<AuthSystem> {
  return (await verifyAccessToken(token, verifierConfig(stack.keys))).system;
}

async function openDivergences(stack: Stack, userId: string) {
  return (await stack.divergences.listForUser(userId)).filter((row) => row.status === "open");
}

function reconcile(stack: Stack) {
  return reconcileDivergences({
    supabase: stack.supabase,
    betterAuth: stack.betterAuth,
    divergences: stack.divergences,
    status: stack.status,
    sync: stack.sync(),
  });
}

async function legacySupabaseUser(stack: Stack, metadata = { full_name: "Legacy" }) {
  const address = email("legacy");
  const created = await stack.supabase.signUp({ email: address, password: PASSWORD, metadata });
  assert.ok(created.ok, "legacy user created in Supabase");
  return { email: address, id: created.value.user.id };
}

async function runSignupMatrix(t: Deno.TestContext, stack: Stack) {
  for (const primary of ["supabase", "better_auth"] as const) {
    const secondary = OTHER[primary];
    const settings = { mode: "dual_write" as const, useBetterAuth: primary === "better_auth" };

    await t.step(`signup dual_write primary=${primary}: both succeed, same id`, async () => {
      const eventsBefore = stack.events.length;
      const address = email(`both-${primary}`);
      const result = await stack.service(settings).signUp({
        email: address,
        password: PASSWORD,
        metadata: { full_name: "Both Sides", plan: "free" },
      });
      assert.ok(result.ok, JSON.stringify(!result.ok && result.error.toBody()));
      const id = result.value.user.id;
      assert.deepEqual(await presence(stack.db, address), { supabase: [id], betterAuth: [id] });
      assert.equal(await issuerOf(stack, result.value.session!.access_token), primary);
      const status = await stack.status.get(id);
      assert.equal(status?.supabaseMigrated, true);
      assert.equal(status?.betterAuthMigrated, true);
      assert.equal(status?.dataValidated, true, "MIGRATION_VALIDATION compared the two copies");
      const migrated = await stack.db.query(
        `SELECT migrated_via FROM migrated_users WHERE original_id = $1`,
        [id],
      );
      assert.deepEqual(migrated.rows, [{ migrated_via: "dual_write" }]);
      // A user created during dual write logs in through either system.
      for (const service of [stack.supabase, stack.betterAuth]) {
        const login = await service.signIn({ email: address, password: PASSWORD });
        assert.ok(login.ok);
        assert.equal(login.value.user.id, id);
      }
      assertNoBookkeepingFailure(stack, eventsBefore);
    });

    for (const failing of [primary, secondary]) {
      const role = failing === primary ? "primary" : "secondary";
      await t.step(
        `signup dual_write primary=${primary}: ${role} down → one side, repaired`,
        async () => {
          const broken = down(stack, failing);
          try {
            const address = email(`down-${failing}`);
            const result = await stack.service(settings, broken).signUp({
              email: address,
              password: PASSWORD,
              metadata: { full_name: "One Side" },
            });
            assert.ok(result.ok, "the surviving system's result is returned");
            const id = result.value.user.id;
            if (failing === "supabase") {
              // Supabase down: its "Confirm email" setting cannot be read, so the careful answer
              // (email-confirmation-setting.ts): the user is created, without a session.
              assert.equal(result.value.session, null, "no session on an unknown setting");
            } else {
              assert.ok(result.value.session, "with a session");
              assert.equal(
                await issuerOf(stack, result.value.session.access_token),
                OTHER[failing],
              );
            }
            const where = await presence(stack.db, address);
            assert.deepEqual(where[failing === "supabase" ? "supabase" : "betterAuth"], []);
            const rows = await openDivergences(stack, id);
            assert.equal(rows.length, 1);
            assert.equal(rows[0]!.kind, "missing_user");
            assert.equal(rows[0]!.missingSide, failing);
            assert.equal(rows[0]!.operation, "signup");
            assert.match(rows[0]!.reason, /auth_unavailable/);
            const status = await stack.status.get(id);
            assert.equal(
              failing === "supabase" ? status?.supabaseMigrated : status?.betterAuthMigrated,
              false,
            );

            const report = await reconcile(stack);
            assert.ok(report.outcomes.some((o) => o.result === `created in ${failing}`));
            assert.deepEqual(await presence(stack.db, address), {
              supabase: [id],
              betterAuth: [id],
            });
            assert.deepEqual(await openDivergences(stack, id), []);
            // The repaired side knows the user's password (bcrypt kept / copied).
            const repaired = failing === "supabase" ? stack.supabase : stack.betterAuth;
            const login = await repaired.signIn({ email: address, password: PASSWORD });
            assert.ok(login.ok, `login on the repaired ${failing}`);
            assert.equal(login.value.user.id, id);
          } finally {
            await broken.close();
          }
        },
      );

      await t.step(`signup dual_write primary=${primary}: ${role} times out`, async () => {
        const broken = hanging(stack, failing);
        try {
          const address = email(`slow-${failing}`);
          const result = await stack.service({ ...settings, fallbackTimeoutMs: 400 }, broken)
            .signUp({ email: address, password: PASSWORD });
          assert.ok(
            result.ok,
            !result.ok
              ? `${result.error.code}: ${result.error.message} ${
                JSON.stringify(
                  result.error.cause instanceof Error
                    ? [result.error.cause.message, String((result.error.cause as Error).cause)]
                    : "both timed out",
                )
              }`
              : "",
          );
          const id = result.value.user.id;
          const rows = await openDivergences(stack, id);
          assert.equal(rows.length, 1);
          assert.equal(rows[0]!.missingSide, failing);
          assert.match(rows[0]!.reason, /timed out after 400 ms/);
        } finally {
          await broken.close();
        }
      });
    }
  }

  await t.step("signup dual_write: both down → 503, nothing written anywhere", async () => {
    const brokenSupabase = down(stack, "supabase");
    const brokenBetterAuth = down(stack, "better_auth");
    try {
      const address = email("all-down");
      const result = await stack.service({ mode: "dual_write" }, {
        supabase: brokenSupabase.supabase,
        betterAuth: brokenBetterAuth.betterAuth,
      }).signUp({ email: address, password: PASSWORD });
      assert.ok(!result.ok);
      assert.equal(result.error.code, "auth_unavailable");
      assert.equal(result.error.status, 503);
      assert.deepEqual(await presence(stack.db, address), { supabase: [], betterAuth: [] });
      const rows = await stack.db.query(`SELECT 1 FROM auth_divergences WHERE email = $1`, [
        address,
      ]);
      assert.equal(rows.rows.length, 0, "nothing to repair");
    } finally {
      await brokenSupabase.close();
      await brokenBetterAuth.close();
    }
  });

  await t.step(
    "signup dual_write: one down, one hangs → 503 and an aborted_signup to sweep",
    async () => {
      const brokenSupabase = hanging(stack, "supabase");
      const brokenBetterAuth = down(stack, "better_auth");
      try {
        const address = email("abort");
        const service = stack.service({ mode: "dual_write", fallbackTimeoutMs: 300 }, {
          supabase: brokenSupabase.supabase,
          betterAuth: brokenBetterAuth.betterAuth,
        });
        const result = await service.signUp({ email: address, password: PASSWORD });
        assert.ok(!result.ok);
        assert.equal(result.error.code, "auth_unavailable");
        const rows = await stack.db.query<{ kind: string; status: string }>(
          `SELECT kind, status FROM auth_divergences WHERE email = $1`,
          [address],
        );
        assert.deepEqual(rows.rows, [{ kind: "aborted_signup", status: "open" }]);
        await service.drain(); // the hanging request gives up: unknown outcome, the row stays open
        const report = await reconcile(stack);
        assert.ok(report.outcomes.some((o) => o.kind === "aborted_signup"));
        const after = await stack.db.query<{ status: string }>(
          `SELECT status FROM auth_divergences WHERE email = $1`,
          [address],
        );
        assert.deepEqual(after.rows, [{ status: "resolved" }]);
        assert.deepEqual(await presence(stack.db, address), { supabase: [], betterAuth: [] });
      } finally {
        await brokenSupabase.close();
        await brokenBetterAuth.close();
      }
    },
  );

  await t.step(
    "signup dual_write: an existing Supabase user → 422 and the Better Auth write undone",
    async () => {
      for (const useBetterAuth of [false, true]) {
        const legacy = await legacySupabaseUser(stack);
        const result = await stack.service({ mode: "dual_write", useBetterAuth }).signUp({
          email: legacy.email,
          password: PASSWORD,
        });
        assert.ok(!result.ok);
        assert.equal(result.error.code, "user_already_exists");
        assert.equal(result.error.status, 422);
        assert.deepEqual(await presence(stack.db, legacy.email), {
          supabase: [legacy.id],
          betterAuth: [],
        });
        const compensated = stack.events.filter((e) => e.type === "compensation" && e.success);
        assert.ok(compensated.length > 0);
      }
    },
  );

  await t.step(
    "each mode writes only where it should (the other system may even be down)",
    async () => {
      const brokenBetterAuth = down(stack, "better_auth");
      const brokenSupabase = down(stack, "supabase");
      try {
        const supabaseOnly = email("s-only");
        const a = await stack.service({ mode: "supabase_only" }, {
          betterAuth: brokenBetterAuth.betterAuth,
        })
          .signUp({ email: supabaseOnly, password: PASSWORD });
        assert.ok(a.ok);
        assert.deepEqual(await presence(stack.db, supabaseOnly), {
          supabase: [a.value.user.id],
          betterAuth: [],
        });
        assert.equal(await issuerOf(stack, a.value.session!.access_token), "supabase");
        const aStatus = await stack.status.get(a.value.user.id);
        assert.deepEqual([aStatus?.supabaseMigrated, aStatus?.betterAuthMigrated], [true, false]);

        const betterAuthOnly = email("ba-only");
        const b = await stack.service({ mode: "better_auth_only" }, {
          supabase: brokenSupabase.supabase,
        })
          .signUp({ email: betterAuthOnly, password: PASSWORD });
        assert.ok(b.ok);
        assert.deepEqual(await presence(stack.db, betterAuthOnly), {
          supabase: [],
          betterAuth: [b.value.user.id],
        });
        assert.equal(await issuerOf(stack, b.value.session!.access_token), "better_auth");
        const bStatus = await stack.status.get(b.value.user.id);
        assert.deepEqual([bStatus?.supabaseMigrated, bStatus?.betterAuthMigrated], [false, true]);
      } finally {
        await brokenBetterAuth.close();
        await brokenSupabase.close();
      }
    },
  );
}

async function runLoginMatrix(t: Deno.TestContext, stack: Stack) {
  const dualUser = async () => {
    const address = email("dual");
    const created = await stack.service({ mode: "dual_write" }).signUp({
      email: address,
      password: PASSWORD,
    });
    assert.ok(created.ok);
    return { email: address, id: created.value.user.id };
  };

  for (const primary of ["supabase", "better_auth"] as const) {
    const settings = { mode: "dual_write" as const, useBetterAuth: primary === "better_auth" };

    await t.step(
      `login dual_write primary=${primary}: the primary answers, the other is not needed`,
      async () => {
        const user = await dualUser();
        const broken = down(stack, OTHER[primary]);
        try {
          const result = await stack.service(settings, broken).signIn({
            email: user.email,
            password: PASSWORD,
          });
          assert.ok(result.ok, JSON.stringify(!result.ok && result.error.toBody()));
          assert.equal(result.value.user.id, user.id);
          assert.equal(await issuerOf(stack, result.value.session!.access_token), primary);
        } finally {
          await broken.close();
        }
      },
    );

    await t.step(
      `login dual_write primary=${primary}: primary down → the other answers`,
      async () => {
        const user = await dualUser();
        const broken = down(stack, primary);
        try {
          const result = await stack.service(settings, broken).signIn({
            email: user.email,
            password: PASSWORD,
          });
          assert.ok(result.ok, JSON.stringify(!result.ok && result.error.toBody()));
          assert.equal(await issuerOf(stack, result.value.session!.access_token), OTHER[primary]);
          const login = stack.events.findLast((e) => e.type === "login" && e.success);
          assert.equal(login?.fallback, true);
        } finally {
          await broken.close();
        }
      },
    );

    await t.step(
      `login dual_write primary=${primary}: primary hangs → the other answers after the timeout`,
      async () => {
        const user = await dualUser();
        const broken = hanging(stack, primary);
        try {
          // The budget bounds each attempt: long enough for the answering system's own password
          // hash on 2 busy cores, far shorter than the hang.
          const result = await stack.service({ ...settings, fallbackTimeoutMs: 1200 }, broken)
            .signIn({ email: user.email, password: PASSWORD });
          assert.ok(result.ok, JSON.stringify(!result.ok && result.error.toBody()));
          assert.equal(await issuerOf(stack, result.value.session!.access_token), OTHER[primary]);
        } finally {
          await broken.close();
        }
      },
    );
  }

  await t.step(
    "lazy migration: a Supabase-only user is created in Better Auth at login",
    async () => {
      const eventsBefore = stack.events.length;
      const legacy = await legacySupabaseUser(stack, { full_name: "Lazy Larry" });
      const result = await stack.service({ mode: "dual_write", useBetterAuth: true })
        .signIn({ email: legacy.email, password: PASSWORD });
      assert.ok(result.ok, "Better Auth refuses, Supabase accepts");
      assert.equal(await issuerOf(stack, result.value.session!.access_token), "supabase");
      const copied = await stack.betterAuth.findUserById(legacy.id);
      assert.ok(copied, "created in Better Auth with the same id");
      assert.equal(copied.email, legacy.email);
      assert.equal(copied.userMetadata.full_name, "Lazy Larry");
      assert.equal(hashKind(copied.passwordHash!), "bcrypt", "Supabase's own bcrypt hash");
      const migrated = await stack.db.query(
        `SELECT migrated_via, new_auth_id::text AS id FROM migrated_users WHERE original_id = $1`,
        [legacy.id],
      );
      assert.deepEqual(migrated.rows, [{ migrated_via: "lazy", id: legacy.id }]);
      const status = await stack.status.get(legacy.id);
      assert.deepEqual([status?.supabaseMigrated, status?.betterAuthMigrated], [true, true]);
      assertNoBookkeepingFailure(stack, eventsBefore);

      // Next login: Better Auth alone (Supabase down). The bcrypt hash stays bcrypt until the
      // migration is declared complete (shared/sync/completion.ts): Supabase keeps a usable copy.
      const broken = down(stack, "supabase");
      try {
        const again = await stack.service({ mode: "better_auth_only" }, broken)
          .signIn({ email: legacy.email, password: PASSWORD });
        assert.ok(again.ok);
        assert.equal(again.value.user.id, legacy.id);
        assert.equal(await issuerOf(stack, again.value.session!.access_token), "better_auth");
        await stack.betterAuth.drain();
        assert.equal(
          hashKind((await stack.betterAuth.findUserById(legacy.id))!.passwordHash!),
          "bcrypt",
        );
      } finally {
        await broken.close();
      }
    },
  );

  await t.step(
    "a password changed on the Supabase side: the new one logs in, the old one is refused",
    async () => {
      const user = await dualUser();
      const admin = createClient(stack.standin.url, stack.keys.serviceRoleKey, {
        auth: { persistSession: false, autoRefreshToken: false },
      });
      const changed = await admin.auth.admin.updateUserById(user.id, {
        password: "a-brand-new-password",
      });
      assert.equal(changed.error, null);
      // The change is in flight toward Better Auth (the row change capture writes; written here
      // by hand until the sync helper's trigger exists): Supabase is the system of record.
      await stack.db.query(
        `INSERT INTO identity_change_outbox (direction, user_id, entity, op)
         VALUES ('to_better_auth', $1::uuid, 'password', 'update')`,
        [user.id],
      );
      const service = stack.service({ mode: "dual_write", useBetterAuth: true });
      const result = await service.signIn({ email: user.email, password: "a-brand-new-password" });
      assert.ok(result.ok, JSON.stringify(!result.ok && result.error.toBody()));
      const old = await service.signIn({ email: user.email, password: PASSWORD });
      assert.ok(!old.ok, "the old password is refused by the system of record");
      assert.equal(old.error.code, "invalid_credentials");
      const onlyBetterAuth = await stack.service({ mode: "better_auth_only" })
        .signIn({ email: user.email, password: "a-brand-new-password" });
      assert.ok(onlyBetterAuth.ok, "verified against Supabase, Better Auth took its new hash");
    },
  );

  await t.step(
    "supabase_only never consults Better Auth; better_auth_only migrates on first login",
    async () => {
      const legacy = await legacySupabaseUser(stack);
      const brokenBetterAuth = down(stack, "better_auth");
      const brokenSupabase = down(stack, "supabase");
      try {
        const a = await stack.service({ mode: "supabase_only" }, {
          betterAuth: brokenBetterAuth.betterAuth,
        })
          .signIn({ email: legacy.email, password: PASSWORD });
        assert.ok(a.ok);
        assert.equal(
          await stack.betterAuth.findUserById(legacy.id),
          null,
          "no lazy migration in supabase_only",
        );
        // better_auth_only: a user not copied yet is verified against Supabase and copied.
        const b = await stack.service({ mode: "better_auth_only" }, { supabase: stack.supabase })
          .signIn({ email: legacy.email, password: PASSWORD });
        assert.ok(b.ok, "lazy migration in better_auth_only");
        assert.equal(await issuerOf(stack, b.value.session!.access_token), "better_auth");
        assert.equal((await stack.betterAuth.findUserById(legacy.id))?.id, legacy.id);
        const user = await dualUser();
        const c = await stack.service({ mode: "better_auth_only" }, {
          supabase: brokenSupabase.supabase,
        })
          .signIn({ email: user.email, password: PASSWORD });
        assert.ok(c.ok);
      } finally {
        await brokenBetterAuth.close();
        await brokenSupabase.close();
      }
    },
  );

  await t.step(
    "a banned user is refused with user_banned on both systems, never as an outage",
    async () => {
      const user = await dualUser();
      // Better Auth's admin plugin fields, as the ban's applier sets them; Supabase banned too.
      await stack.db.query(`UPDATE "user" SET banned = true WHERE id = $1::uuid`, [user.id]);
      await stack.db.query(
        `UPDATE auth.users SET banned_until = now() + interval '1 day' WHERE id = $1::uuid`,
        [user.id],
      );
      const direct = await stack.betterAuth.signIn({ email: user.email, password: PASSWORD });
      assert.ok(!direct.ok);
      assert.equal(direct.error.code, "user_banned", "the admin plugin's refusal, typed");
      for (const useBetterAuth of [false, true]) {
        const outcome = await stack.service({ mode: "dual_write", useBetterAuth })
          .signIn({ email: user.email, password: PASSWORD });
        assert.ok(!outcome.ok);
        assert.deepEqual([outcome.error.code, outcome.error.status], ["user_banned", 400]);
      }
      // An expired ban is no ban on either side.
      await stack.db.query(
        `UPDATE "user" SET "banExpires" = now() - interval '1 minute' WHERE id = $1::uuid`,
        [user.id],
      );
      await stack.db.query(
        `UPDATE auth.users SET banned_until = now() - interval '1 minute' WHERE id = $1::uuid`,
        [user.id],
      );
      const lifted = await stack.service({ mode: "dual_write", useBetterAuth: true })
        .signIn({ email: user.email, password: PASSWORD });
      assert.ok(lifted.ok, "ban expired");
    },
  );

  await t.step("every system fails: the last error wins", async () => {
    const user = await dualUser();
    const brokenSupabase = down(stack, "supabase");
    const brokenBetterAuth = down(stack, "better_auth");
    try {
      const both = await stack.service({ mode: "dual_write" }, {
        supabase: brokenSupabase.supabase,
        betterAuth: brokenBetterAuth.betterAuth,
      }).signIn({ email: user.email, password: PASSWORD });
      assert.ok(!both.ok);
      assert.equal(both.error.code, "auth_unavailable");
      assert.equal(both.error.status, 503);

      // Better Auth (the cut-over user's system of record) refuses the password: final, even
      // though Supabase is down (a refusal is never turned into an outage or a fallback).
      const mixed = await stack.service({ mode: "dual_write", useBetterAuth: true }, {
        supabase: brokenSupabase.supabase,
      }).signIn({ email: user.email, password: "wrong-password" });
      assert.ok(!mixed.ok);
      assert.equal(mixed.error.code, "invalid_credentials");

      const wrong = await stack.service({ mode: "dual_write" }).signIn({
        email: user.email,
        password: "wrong-password",
      });
      assert.ok(!wrong.ok);
      assert.equal(wrong.error.code, "invalid_credentials");
      assert.equal(wrong.error.status, 400);
    } finally {
      await brokenSupabase.close();
      await brokenBetterAuth.close();
    }
  });

  await t.step(
    "no enumeration: unknown email = wrong password, both padded to the floor",
    async () => {
      const user = await dualUser();
      const service = stack.service({ mode: "dual_write", failureFloorMs: 600 });
      const timed = async (address: string) => {
        const started = performance.now();
        const result = await service.signIn({ email: address, password: "wrong-password" });
        return { result, ms: performance.now() - started };
      };
      const wrong = await timed(user.email);
      const unknown = await timed(email("nobody"));
      assert.ok(!wrong.result.ok && !unknown.result.ok);
      assert.deepEqual(wrong.result.error.toBody(), unknown.result.error.toBody());
      // A lower bound only (sleeping guarantees it); similarity is measured by bench/auth.ts.
      assert.ok(wrong.ms >= 590 && unknown.ms >= 590);
    },
  );

  await t.step(
    "rate limiting: 429 per (email, IP) and per IP, across service instances",
    async () => {
      const user = await dualUser();
      const rateLimits = {
        pair: { freeFailures: 2, baseDelaySeconds: 30, maxDelaySeconds: 60, windowSeconds: 60 },
        ip: { maxFailures: 5, windowSeconds: 60 },
      };
      const first = stack.service({ mode: "dual_write" }, { rateLimits });
      const second = stack.service({ mode: "dual_write" }, { rateLimits });
      const ip = `203.0.113.${Math.floor(Math.random() * 250)}`;
      // A success before the limit clears the email's count.
      assert.ok(!(await first.signIn({ email: user.email, password: "bad-1" }, { ip })).ok);
      assert.ok((await first.signIn({ email: user.email, password: PASSWORD }, { ip })).ok);
      for (let i = 0; i < 3; i++) {
        const failed = await (i % 2 ? second : first).signIn({
          email: user.email,
          password: `bad-${i}`,
        }, { ip });
        assert.equal(!failed.ok && failed.error.code, "invalid_credentials");
      }
      const limited = await second.signIn({ email: user.email, password: PASSWORD }, { ip });
      assert.ok(!limited.ok, "even the right password is refused while blocked");
      assert.equal(limited.error.code, "rate_limited");
      assert.equal(limited.error.status, 429);
      assert.ok((limited.error.retryAfterSeconds ?? 0) > 0);
      // The IP has 5 failures now (1 + 3 + this one): other emails from it are blocked too.
      await first.signIn({ email: email("other"), password: "bad" }, { ip });
      const ipLimited = await first.signIn({ email: email("third"), password: PASSWORD }, { ip });
      assert.equal(!ipLimited.ok && ipLimited.error.code, "rate_limited");
      const otherIp = await first.signIn({ email: email("third"), password: "bad" }, {
        ip: "198.51.100.7",
      });
      assert.equal(!otherIp.ok && otherIp.error.code, "invalid_credentials");
    },
  );

  await t.step(
    "canary: whitelisted users get dual write with Better Auth primary, sticky",
    async () => {
      const canaryEmail = email("canary");
      const settings = {
        mode: "supabase_only" as const,
        canary: {
          enabled: true,
          percentage: 0,
          selection: "whitelist" as const,
          whitelist: [canaryEmail],
          emailDomains: [],
        },
      };
      const service = stack.service(settings);
      const canary = await service.signUp({ email: canaryEmail, password: PASSWORD });
      assert.ok(canary.ok);
      assert.equal(await issuerOf(stack, canary.value.session!.access_token), "better_auth");
      const where = await presence(stack.db, canaryEmail);
      assert.deepEqual(where, {
        supabase: [canary.value.user.id],
        betterAuth: [canary.value.user.id],
      });
      const login = await service.signIn({ email: canaryEmail, password: PASSWORD });
      assert.ok(login.ok);
      assert.equal(await issuerOf(stack, login.value.session!.access_token), "better_auth");
      assert.ok(stack.events.some((e) => e.type === "login" && e.canary && e.success));

      const regular = email("regular");
      const plain = await service.signUp({ email: regular, password: PASSWORD });
      assert.ok(plain.ok);
      assert.deepEqual((await presence(stack.db, regular)).betterAuth, []);
      // The migrator's decision, when passed, wins over the service's own selection.
      const routed = await service.signIn({ email: regular, password: PASSWORD }, {
        canary: false,
      });
      assert.ok(routed.ok);
      assert.equal(await issuerOf(stack, routed.value.session!.access_token), "supabase");
    },
  );

  await t.step("getUserFromToken accepts tokens from either system", async () => {
    const user = await dualUser();
    const service = stack.service({ mode: "dual_write" });
    for (const system of [stack.supabase, stack.betterAuth]) {
      const login = await system.signIn({ email: user.email, password: PASSWORD });
      assert.ok(login.ok);
      const me = await service.getUserFromToken(login.value.session!.access_token);
      assert.ok(me.ok);
      assert.equal(me.value.id, user.id);
      assert.equal(me.value.email, user.email);
    }
    const bad = await service.getUserFromToken(stack.keys.anonKey);
    assert.ok(!bad.ok);
    assert.equal(bad.error.code, "invalid_token");
  });

  await t.step("events carry no email, password or token", () => {
    const serialized = JSON.stringify(stack.events);
    assert.ok(!serialized.includes("@example.com"));
    assert.ok(!serialized.includes(PASSWORD));
    assert.ok(!/eyJ[A-Za-z0-9_-]{10,}/.test(serialized));
    assert.ok(stack.events.some((e) => e.type === "signup" && e.system === "dual_write"));
    for (const event of stack.events) {
      assert.ok(typeof event.durationMs === "number" && typeof event.success === "boolean");
      assert.ok(["supabase_only", "dual_write", "better_auth_only"].includes(event.mode));
    }
  });
}

for (const provider of ["pglite", "postgres"] as Provider[]) {
  Deno.test({
    name: `DualWriteAuthService on ${provider} with the Supabase stand-in`,
    ignore: provider === "postgres" && !TEST_DATABASE_URL,
    async fn(t) {
      const stack = await openStack(provider);
      try {
        await runSignupMatrix(t, stack);
        await runLoginMatrix(t, stack);
      } finally {
        await stack.close();
      }
    },
  });
}
