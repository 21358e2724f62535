/**
 * "Confirm email" on (the hosted default), the user's story on every rollout path of the modes
 * that write Supabase — supabase_only, dual_write with either primary; original (0 %) and
 * abstracted (100 %):
 * - I sign up: 200, my user, no session; a confirmation mail is on its way; nothing of me is
 *   confirmed yet, in Supabase or in Better Auth. Signing up again before I confirm re-sends the
 *   mail (429 within the minute) and answers with my user — never a second one.
 * - I log in before clicking the link: GoTrue's 400 email_not_confirmed, on both login paths,
 *   and no session is left open anywhere.
 * - I click the link: from then on I log in on both paths, and Better Auth shows my email
 *   verified (the confirmation travelled through the sync outbox).
 * - Someone signs up with my (confirmed) address: 200 with a look-alike user and no session —
 *   the same shape as a new signup, so nobody learns I am registered — and nothing is written.
 * (supabase/auth internal/api/signup.go, verify.go, token.go; better_auth_only follows Better
 * Auth's own configuration, which has no confirmation step.)
 */
import assert from "node:assert/strict";
import { AuthServiceToken, BetterAuthServiceToken } from "../../../../shared/auth/tokens.ts";
import {
  applySync,
  assertAuthContract,
  assertAwaitingConfirmation,
  assertErrorCode,
  assertMigrationHeaders,
  type AuthServer,
  callFunction,
  clickConfirmationLink,
  GOOD_PASSWORD,
  idsByEmail,
  MODE_SETUPS,
  rowCounts,
  setRollout,
  setSignupStage,
  startAuthServer,
  uniqueEmail,
} from "../auth-e2e-helpers.ts";

interface Confirmation {
  readonly supabaseConfirmed: boolean | null;
  readonly betterAuthVerified: boolean | null;
  readonly supabaseSessions: number;
  readonly betterAuthSessions: number;
}

/** Where the user stands in each system (null: not there). */
async function confirmationOf(auth: AuthServer, email: string): Promise<Confirmation> {
  const { rows } = await auth.server.sql.query<{
    supabase_confirmed: boolean | null;
    better_auth_verified: boolean | null;
    supabase_sessions: number;
    better_auth_sessions: number;
  }>(
    `SELECT (SELECT email_confirmed_at IS NOT NULL FROM auth.users WHERE email = $1)
              AS supabase_confirmed,
            (SELECT "emailVerified" FROM "user" WHERE email = $1) AS better_auth_verified,
            (SELECT count(*) FROM auth.sessions s JOIN auth.users u ON u.id = s.user_id
              WHERE u.email = $1)::int AS supabase_sessions,
            (SELECT count(*) FROM "session" s JOIN "user" u ON u.id = s."userId"
              WHERE u.email = $1)::int AS better_auth_sessions`,
    [email],
  );
  const row = rows[0]!;
  return {
    supabaseConfirmed: row.supabase_confirmed,
    betterAuthVerified: row.better_auth_verified,
    supabaseSessions: Number(row.supabase_sessions),
    betterAuthSessions: Number(row.better_auth_sessions),
  };
}

const PATHS = [
  { rollout: 0, path: "original" },
  { rollout: 100, path: "abstracted" },
] as const;

for (const setup of MODE_SETUPS.filter((s) => s.mode !== "better_auth_only")) {
  Deno.test(`"Confirm email" on, ${setup.label}: signup, confirmation, login`, async (t) => {
    const auth = await startAuthServer(setup.env);
    try {
      for (const { rollout, path } of PATHS) {
        // The dual_write stage pins every signup to the abstracted path; the original serves
        // signups in the supabase_only stage (shared/cutover/stages.ts).
        await setSignupStage(auth, path === "original" ? "supabase_only" : null);
        const email = uniqueEmail(`confirm-${path}`);
        const metadata = { plan: "pro" };
        // The original writes Supabase only; the abstracted path writes where the mode says.
        const writesBetterAuth = rollout === 100 && setup.writes.betterAuth;
        let newSignupShape: unknown;

        await t.step(`${path}: signup answers without a session and mails a link`, async () => {
          await setRollout(auth, rollout);
          const result = await callFunction(auth, "signup", {
            email,
            password: GOOD_PASSWORD,
            metadata,
          });
          assert.equal(result.status, 200, JSON.stringify(result.body));
          assertMigrationHeaders(result.headers, path);
          const answer = assertAwaitingConfirmation(result.body, { email, metadata });
          newSignupShape = shapeOf(answer);
          assert.equal(auth.mailbox.to(email).length, 1, "one confirmation mail");
          const ids = await idsByEmail(auth, email);
          assert.deepEqual(ids.supabase, [answer.user.id]);
          assert.deepEqual(ids.betterAuth, writesBetterAuth ? [answer.user.id] : []);
          assert.deepEqual(await confirmationOf(auth, email), {
            supabaseConfirmed: false,
            betterAuthVerified: writesBetterAuth ? false : null,
            supabaseSessions: 0,
            betterAuthSessions: 0,
          });
        });

        await t.step(
          `${path}: signing up again before confirming re-sends, as GoTrue`,
          async () => {
            await setRollout(auth, rollout);
            const before = await idsByEmail(auth, email);
            // Within the minute: GoTrue's mail frequency limit (mail.go sendConfirmation).
            const soon = await callFunction(auth, "signup", { email, password: GOOD_PASSWORD });
            assertErrorCode(soon, 429, "rate_limited");
            await auth.server.sql.query(
              `UPDATE auth.users SET confirmation_sent_at = now() - interval '61 seconds'
              WHERE email = $1`,
              [email],
            );
            const again = await callFunction(auth, "signup", { email, password: GOOD_PASSWORD });
            assert.equal(again.status, 200, JSON.stringify(again.body));
            const answer = assertAwaitingConfirmation(again.body, { email });
            assert.deepEqual([answer.user.id], before.supabase, "the stored user, not a second");
            assert.deepEqual(await idsByEmail(auth, email), before);
            assert.equal(auth.mailbox.to(email).length, 2, "the mail went out again");
          },
        );

        await t.step(`${path}: logging in first is email_not_confirmed on both paths`, async () => {
          for (const login of PATHS) {
            await setRollout(auth, login.rollout, ["login"]);
            const refused = await callFunction(auth, "login", { email, password: GOOD_PASSWORD });
            assertErrorCode(refused, 400, "email_not_confirmed");
            assertMigrationHeaders(refused.headers, login.path);
          }
          const state = await confirmationOf(auth, email);
          assert.equal(state.supabaseSessions, 0, "no Supabase session");
          assert.equal(state.betterAuthSessions, 0, "no Better Auth session");
        });

        await t.step(`${path}: after the link, login works on both paths`, async () => {
          await clickConfirmationLink(auth, email);
          await applySync(auth);
          const state = await confirmationOf(auth, email);
          assert.equal(state.supabaseConfirmed, true);
          assert.equal(state.betterAuthVerified, writesBetterAuth ? true : null);
          for (const login of PATHS) {
            await setRollout(auth, login.rollout, ["login"]);
            const result = await callFunction(auth, "login", { email, password: GOOD_PASSWORD });
            assert.equal(result.status, 200, JSON.stringify(result.body));
            assertMigrationHeaders(result.headers, login.path);
            assertAuthContract(result.body, { email, metadata });
          }
          if (setup.mode === "dual_write") {
            // The abstracted login copies a user it finds only in Supabase (lazy migration): by
            // now Better Auth holds every user who logged in there, verified.
            assert.equal((await confirmationOf(auth, email)).betterAuthVerified, true);
          }
        });

        await t.step(`${path}: someone else's confirmed address gets a look-alike`, async () => {
          await setRollout(auth, rollout);
          const before = await rowCounts(auth);
          const idsBefore = await idsByEmail(auth, email);
          const mailsBefore = auth.mailbox.to(email).length;
          const result = await callFunction(auth, "signup", {
            email,
            password: "Another-Horse-77",
            metadata,
          });
          assert.equal(result.status, 200, JSON.stringify(result.body));
          assertMigrationHeaders(result.headers, path);
          const answer = assertAwaitingConfirmation(result.body, { email, metadata });
          assert.ok(!idsBefore.supabase.includes(answer.user.id), "not the real id");
          assert.deepEqual(await idsByEmail(auth, email), idsBefore, "no second identity");
          assert.deepEqual(await rowCounts(auth), before, "nothing written anywhere");
          assert.equal(auth.mailbox.to(email).length, mailsBefore, "no mail to the owner");
          const old = await callFunction(auth, "login", {
            email,
            password: "Another-Horse-77",
          });
          assertErrorCode(old, 400, "invalid_credentials");
          if (writesBetterAuth) {
            // The dual-write answer has exactly the new signup's shape. (Wherever GoTrue's own
            // /signup answers — the original, supabase_only — its new user also carries the
            // identity's claims in user_metadata and sanitizeUser's look-alike does not: GoTrue's
            // behaviour, passed on unchanged.)
            assert.deepEqual(shapeOf(answer), newSignupShape);
          }
        });
      }

      if (setup.betterAuthPrimary) {
        await t.step(
          "a Better Auth copy whose Supabase write failed cannot log in unconfirmed",
          async () => {
            // What a dual-write signup leaves when Supabase's write fails: the Better Auth copy
            // alone, unverified, no session (a missing_user divergence for reconciliation).
            const betterAuth = await auth.server.container.get(BetterAuthServiceToken);
            const email = uniqueEmail("ba-alone");
            const created = await betterAuth.signUp({ email, password: GOOD_PASSWORD }, {
              emailConfirmationRequired: true,
            });
            assert.ok(created.ok);
            assert.equal(created.value.session, null);
            assert.deepEqual(await idsByEmail(auth, email), {
              supabase: [],
              betterAuth: [created.value.user.id],
            });
            await setRollout(auth, 100, ["login"]);
            const refused = await callFunction(auth, "login", { email, password: GOOD_PASSWORD });
            assertErrorCode(refused, 400, "email_not_confirmed");
            assert.equal((await confirmationOf(auth, email)).betterAuthSessions, 0);
          },
        );
      }

      await t.step(
        "the shadow plan answers as the original now does, writing nothing",
        async () => {
          // What the migrator's plan runs call (shared/auth/handlers.ts, ctx.mode === "plan").
          const service = await auth.server.container.get(AuthServiceToken);
          const before = await rowCounts(auth);
          const fresh = uniqueEmail("plan-new");
          const planned = await service.planSignUp({ email: fresh, password: GOOD_PASSWORD });
          assert.ok(planned.ok);
          assertAwaitingConfirmation(planned.value, { email: fresh });
          const confirmed = await callFunction(auth, "signup", {
            email: uniqueEmail("plan-owner"),
            password: GOOD_PASSWORD,
          });
          const owner = confirmed.body.user.email as string;
          await clickConfirmationLink(auth, owner);
          const afterOwner = await rowCounts(auth);
          const taken = await service.planSignUp({
            email: owner,
            password: GOOD_PASSWORD,
            metadata: { plan: "free" },
          });
          assert.ok(taken.ok, "200 as GoTrue, not 422");
          const lookAlike = assertAwaitingConfirmation(taken.value, {
            email: owner,
            metadata: { plan: "free" },
          });
          assert.ok(!(await idsByEmail(auth, owner)).supabase.includes(lookAlike.user.id));
          assert.deepEqual(await rowCounts(auth), afterOwner, "a plan writes nothing");
          assert.equal(before["auth.users"]! + 1, afterOwner["auth.users"], "only the owner");
        },
      );
    } finally {
      await auth.close();
    }
  });
}

/** The keys and value types of a signup answer, recursively: what a client could tell apart. */
function shapeOf(value: unknown): unknown {
  if (value === null) return null;
  if (Array.isArray(value)) return value.map(shapeOf);
  if (typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))
        .map(([key, inner]) => [key, shapeOf(inner)]),
    );
  }
  return typeof value;
}
