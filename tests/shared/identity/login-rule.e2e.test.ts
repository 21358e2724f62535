/**
 * The login rule end to end (shared/identity/system-of-record.ts), as a user and an admin live it:
 * for every MIGRATION_MODE × USE_BETTER_AUTH × rollout {0, 100} × canary {off, on}, through the
 * real supabase-js client (functions.invoke → migrator → login), the Supabase Auth stand-in's
 * admin API and Better Auth, on PGlite and on PostgreSQL 15:
 *
 * - reset the password in Supabase → the old one is refused, the new one accepted, on whatever
 *   path the configuration routes to; with Supabase DOWN the Better Auth copy answers only where
 *   the rule lets it (in sync, and a path that may ask it) and never while a change is in flight;
 * - ban → refused (400 user_banned) everywhere, unban → accepted;
 * - unconfirmed email → refused (400 email_not_confirmed) as Supabase refuses it;
 * - email change → the new email logs in, the old one is refused;
 * - password changed on the Better Auth side (in flight toward Supabase) → Better Auth answers
 *   where the path can ask it, 503 where it cannot, never Supabase's stale password;
 * - delete → refused (400 invalid_credentials).
 *
 * Change capture and its appliers (issue 12 §2/§3) belong to the sync helper and are not on this
 * branch, so the test writes the state they produce through the real tables: an unapplied
 * `identity_change_outbox` row where their trigger would write one, and the Better Auth copy
 * updated plus the row marked applied where their applier would.
 */
import assert from "node:assert/strict";
import { FunctionsHttpError } from "@supabase/supabase-js";
import { hashBcrypt } from "../../../shared/auth/passwords.ts";
import { TEST_DATABASE_URL } from "../../helpers/db.ts";
import { type IdentityStack, type ModeApp, startIdentityStack } from "./stack.ts";

const P1 = "first-Password-1";
const P2 = "second-Password-2";
const P3 = "third-Password-3";

interface Answer {
  readonly status: number;
  readonly code: string | null;
  readonly path: string | null;
}

async function login(app: ModeApp, email: string, password: string): Promise<Answer> {
  const { data, error, response } = await app.client.functions.invoke("login", {
    body: { email, password },
  });
  const path = response?.headers.get("x-migration-path") ?? null;
  if (!error) {
    assert.ok(data?.session?.access_token, "a session");
    return { status: 200, code: null, path };
  }
  assert.ok(error instanceof FunctionsHttpError, String(error));
  const res = error.context as Response;
  const body = await res.json();
  return { status: res.status, code: body?.error?.code ?? null, path };
}

interface Config {
  readonly rollout: 0 | 100;
  readonly canary: boolean;
}

/**
 * What the rule says for this setup and configuration (see system-of-record.ts, rules 1 and 5).
 * MIGRATION_MODE × USE_BETTER_AUTH seed the login function's migration stage
 * (shared/cutover/stages.ts): supabase_only, dual_write, better_auth_primary, better_auth_only.
 */
function expectations(app: ModeApp, config: Config) {
  // better_auth_only pins every login to the new path; otherwise canary and rollout decide.
  const abstracted = app.mode === "better_auth_only" || config.canary || config.rollout === 100;
  // The stage decides the mode: a canary is Better Auth primary only in the dual-write stages
  // (in supabase_only, Supabase stays the only system whoever is routed).
  const routeMode = app.mode;
  const routedToBetterAuth = abstracted &&
    (app.mode === "better_auth_only" ||
      (app.mode === "dual_write" && (config.canary || app.useBetterAuth)));
  // With Supabase down: the Better Auth copy answers (in sync) only on an abstracted path that
  // may ask Better Auth — as the system of record, or as the other system.
  const answersWhileSupabaseDown = abstracted &&
    (routedToBetterAuth || routeMode === "dual_write" || routeMode === "better_auth_only");
  // better_auth_only verifies a user who is not cut over against auth.users itself.
  const verifiesStoredHash = abstracted && routeMode === "better_auth_only";
  return { abstracted, routedToBetterAuth, answersWhileSupabaseDown, verifiesStoredHash };
}

async function setConfig(stack: IdentityStack, config: Config, email: string): Promise<void> {
  const stored = await stack.flags.upsert("login", {
    rolloutPercentage: config.rollout,
    canaryEnabled: config.canary,
    canarySelection: "whitelist",
    canaryWhitelist: config.canary ? [email] : [],
  }, { updatedBy: "login-rule e2e" });
  assert.ok(stored.ok, "flags stored");
}

/**
 * A confirmed Supabase user with password P1 — signed up and confirmed through the mail's token,
 * as a user does on hosted Supabase — copied to Better Auth as the batch copies it.
 */
async function createUser(stack: IdentityStack, email: string): Promise<string> {
  const { data, error } = await stack.anon.auth.signUp({ email, password: P1 });
  assert.equal(error, null);
  assert.equal(data.session, null, "Confirm email is on");
  const tokenHash = stack.mailbox.latest(email)?.tokenHash;
  assert.ok(tokenHash, "a confirmation mail");
  const confirmed = await stack.anon.auth.verifyOtp({ type: "signup", token_hash: tokenHash });
  assert.equal(confirmed.error, null);
  const id = data.user!.id;
  await copyToBetterAuth(stack.db, id);
  return id;
}

async function copyToBetterAuth(db: IdentityStack["db"], id: string): Promise<void> {
  await db.query(
    `INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt")
     SELECT id, '', lower(email), email_confirmed_at IS NOT NULL, created_at, now()
       FROM auth.users WHERE id = $1::uuid`,
    [id],
  );
  await db.query(
    `INSERT INTO account (id, "accountId", "providerId", "userId", password, "createdAt",
                          "updatedAt")
     SELECT gen_random_uuid(), id::text, 'credential', id, encrypted_password, now(), now()
       FROM auth.users WHERE id = $1::uuid`,
    [id],
  );
}

/** What change capture writes when Supabase changes a user (the sync helper's trigger). */
async function captured(stack: IdentityStack, id: string): Promise<void> {
  await stack.db.query(
    `INSERT INTO identity_change_outbox (direction, user_id, entity, op)
     VALUES ('to_better_auth', $1::uuid, 'user', 'update')`,
    [id],
  );
}

/** What the applier does: the Better Auth copy takes Supabase's state, the rows are applied. */
async function applied(stack: IdentityStack, id: string): Promise<void> {
  const { rows } = await stack.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM auth.users WHERE id = $1::uuid`,
    [id],
  );
  if (Number(rows[0]!.n) === 0) {
    await stack.db.query(`DELETE FROM "user" WHERE id = $1::uuid`, [id]);
  } else {
    await stack.db.query(
      `UPDATE "user" u SET email = lower(s.email), "emailVerified" = s.email_confirmed_at IS NOT NULL,
              banned = (s.banned_until IS NOT NULL AND s.banned_until > now()),
              "banExpires" = CASE WHEN s.banned_until > now() THEN s.banned_until END
         FROM auth.users s WHERE s.id = u.id AND u.id = $1::uuid`,
      [id],
    );
    await stack.db.query(
      `UPDATE account a SET password = s.encrypted_password
         FROM auth.users s WHERE s.id = a."userId" AND a."providerId" = 'credential'
          AND a."userId" = $1::uuid`,
      [id],
    );
  }
  await stack.db.query(
    `UPDATE identity_change_outbox SET applied_at = now()
      WHERE user_id = $1::uuid AND applied_at IS NULL`,
    [id],
  );
}

/** Failed logins in this story are deliberate: keep the per-email limiter out of the way. */
async function forgetFailures(stack: IdentityStack): Promise<void> {
  await stack.db.query(`DELETE FROM auth_rate_limits`);
}

function expectOk(answer: Answer, what: string): void {
  assert.equal(answer.status, 200, `${what}: ${JSON.stringify(answer)}`);
}

function expectRefused(answer: Answer, code: string, what: string): void {
  assert.deepEqual([answer.status, answer.code], [400, code], `${what}: ${JSON.stringify(answer)}`);
}

async function story(stack: IdentityStack, app: ModeApp, config: Config): Promise<void> {
  const tag = `${app.mode}-${app.useBetterAuth}-${config.rollout}-${config.canary}`;
  const email = `rule-${tag}-${crypto.randomUUID().slice(0, 6)}@example.com`.toLowerCase();
  await setConfig(stack, config, email);
  const expected = expectations(app, config);
  const id = await createUser(stack, email);
  const admin = stack.admin.auth.admin;
  const path = expected.abstracted ? "abstracted" : "original";

  const first = await login(app, email, P1);
  expectOk(first, "before any change");
  assert.equal(first.path, path, "routed as configured");

  // 1. Password reset in Supabase: in flight, then applied.
  assert.equal((await admin.updateUserById(id, { password: P2 })).error, null);
  await captured(stack, id);
  expectRefused(await login(app, email, P1), "invalid_credentials", "old password, in flight");
  expectOk(await login(app, email, P2), "new password, in flight");
  await applied(stack, id);
  await forgetFailures(stack);
  expectRefused(await login(app, email, P1), "invalid_credentials", "old password, applied");
  expectOk(await login(app, email, P2), "new password, applied");

  // 2. Supabase down: the in-sync copy answers only where the rule lets it.
  stack.setAuthDown(true);
  try {
    const down = await login(app, email, P2);
    if (expected.answersWhileSupabaseDown) expectOk(down, "Supabase down, in sync");
    else {assert.equal(
        down.status,
        503,
        `Supabase down, nobody may answer: ${JSON.stringify(down)}`,
      );}
    const old = await login(app, email, P1);
    assert.notEqual(old.status, 200, "old password never, even with Supabase down");
    // A change in flight toward Better Auth (a password set in Supabase's own table while its
    // API is down, not applied yet): the copy may not answer any more. Only better_auth_only's
    // lazy path still answers, from Supabase's own stored state (auth.users), which needs no
    // GoTrue. A pending row alone, whose effect both copies already show, would not block.
    const { rows: before } = await stack.db.query<{ hash: string }>(
      `SELECT encrypted_password AS hash FROM auth.users WHERE id = $1::uuid`,
      [id],
    );
    await stack.db.query(`UPDATE auth.users SET encrypted_password = $2 WHERE id = $1::uuid`, [
      id,
      await hashBcrypt(P3),
    ]);
    await captured(stack, id);
    const inFlight = await login(app, email, P3);
    if (expected.verifiesStoredHash) expectOk(inFlight, "in flight, checked against auth.users");
    else {assert.equal(
        inFlight.status,
        503,
        `in flight, Supabase down: ${JSON.stringify(inFlight)}`,
      );}
    const oldInFlight = await login(app, email, P2);
    assert.notEqual(oldInFlight.status, 200, "old password, in flight, Supabase down");
    // Back to P2 on both sides for the rest of the story.
    await stack.db.query(`UPDATE auth.users SET encrypted_password = $2 WHERE id = $1::uuid`, [
      id,
      before[0]!.hash,
    ]);
    await stack.db.query(
      `UPDATE account SET password = $2 WHERE "userId" = $1::uuid AND "providerId" = 'credential'`,
      [id, before[0]!.hash],
    );
    await applied(stack, id);
  } finally {
    stack.setAuthDown(false);
  }
  await forgetFailures(stack);

  // 3. Ban, in flight and applied (Better Auth's copy banned too), then unban.
  assert.equal((await admin.updateUserById(id, { ban_duration: "876000h" })).error, null);
  await captured(stack, id);
  expectRefused(await login(app, email, P2), "user_banned", "banned, in flight");
  await applied(stack, id);
  expectRefused(await login(app, email, P2), "user_banned", "banned, applied");
  assert.equal((await admin.updateUserById(id, { ban_duration: "none" })).error, null);
  await captured(stack, id);
  await applied(stack, id);
  expectOk(await login(app, email, P2), "unbanned");

  // 4. Unconfirmed email (no admin call un-confirms: as GoTrue stores it).
  await stack.db.query(`UPDATE auth.users SET email_confirmed_at = NULL WHERE id = $1::uuid`, [id]);
  await captured(stack, id);
  await applied(stack, id);
  expectRefused(await login(app, email, P2), "email_not_confirmed", "unconfirmed");
  expectRefused(await login(app, email, P1), "invalid_credentials", "unconfirmed, wrong password");
  await stack.db.query(`UPDATE auth.users SET email_confirmed_at = now() WHERE id = $1::uuid`, [
    id,
  ]);
  await captured(stack, id);
  await applied(stack, id);
  await forgetFailures(stack);

  // 5. Email change: the new address logs in, in flight and applied; the old one no more.
  const renamed = `new-${email}`;
  if (config.canary) await setConfig(stack, config, renamed);
  assert.equal(
    (await admin.updateUserById(id, { email: renamed, email_confirm: true })).error,
    null,
  );
  await captured(stack, id);
  expectOk(await login(app, renamed, P2), "new email, in flight");
  expectRefused(await login(app, email, P2), "invalid_credentials", "old email, in flight");
  await applied(stack, id);
  expectOk(await login(app, renamed, P2), "new email, applied");
  expectRefused(await login(app, email, P2), "invalid_credentials", "old email, applied");
  await forgetFailures(stack);

  // 6. Password changed on the Better Auth side (a cut-over user's own change), in flight toward
  //    Supabase: Better Auth is the truth; a path that cannot ask it answers 503, never the old
  //    password. Applied to Supabase: the new password everywhere.
  const p3Hash = await hashBcrypt(P3);
  await stack.db.query(
    `UPDATE account SET password = $2 WHERE "userId" = $1::uuid AND "providerId" = 'credential'`,
    [id, p3Hash],
  );
  await stack.db.query(
    `INSERT INTO identity_change_outbox (direction, user_id, entity, op)
     VALUES ('to_supabase', $1::uuid, 'password', 'update')`,
    [id],
  );
  const changed = await login(app, renamed, P3);
  if (expected.answersWhileSupabaseDown) expectOk(changed, "Better Auth-side password, in flight");
  else assert.equal(changed.status, 503, `no path to Better Auth: ${JSON.stringify(changed)}`);
  const stale = await login(app, renamed, P2);
  assert.notEqual(stale.status, 200, `Supabase's stale password: ${JSON.stringify(stale)}`);
  await stack.db.query(`UPDATE auth.users SET encrypted_password = $2 WHERE id = $1::uuid`, [
    id,
    p3Hash,
  ]);
  await stack.db.query(
    `UPDATE identity_change_outbox SET applied_at = now()
      WHERE user_id = $1::uuid AND applied_at IS NULL`,
    [id],
  );
  await forgetFailures(stack);
  expectOk(await login(app, renamed, P3), "Better Auth-side password, applied");
  expectRefused(await login(app, renamed, P2), "invalid_credentials", "old password, applied");

  // 7. Delete in Supabase: refused, in flight and applied.
  assert.equal((await admin.deleteUser(id)).error, null);
  await captured(stack, id);
  expectRefused(await login(app, renamed, P2), "invalid_credentials", "deleted, in flight");
  await applied(stack, id);
  expectRefused(await login(app, renamed, P2), "invalid_credentials", "deleted, applied");
}

const PROVIDERS = TEST_DATABASE_URL ? ["pglite", "postgres"] as const : ["pglite"] as const;
const CONFIGS: Config[] = [
  { rollout: 0, canary: false },
  { rollout: 100, canary: false },
  { rollout: 0, canary: true },
  { rollout: 100, canary: true },
];

for (const provider of PROVIDERS) {
  Deno.test(`login rule matrix on ${provider}`, async (t) => {
    const stack = await startIdentityStack(provider);
    try {
      const only = Deno.env.get("LOGIN_RULE_SETUP"); // run one setup while debugging
      for (const app of stack.apps.filter((a) => !only || a.label === only)) {
        for (const config of CONFIGS) {
          await t.step(
            `${app.label}, rollout ${config.rollout}, canary ${config.canary ? "on" : "off"}`,
            () => story(stack, app, config),
          );
        }
      }
    } finally {
      await stack.close();
    }
  });
}
