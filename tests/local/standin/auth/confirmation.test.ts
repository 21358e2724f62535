/**
 * "Confirm email" on the stand-in's hosted profile, through supabase-js as a user meets it:
 * signUp sends a confirmation mail (token stored in auth.users.confirmation_token as GoTrue
 * stores it: hex sha224 of email + code); logging in first is 400 email_not_confirmed; the link
 * (GET /verify) confirms and redirects with a session in the fragment, a second click is refused
 * (otp_expired); verifyOtp with the token hash or the typed code confirms; /resend re-sends only
 * to an unconfirmed address and at most once a minute (supabase/auth internal/api/verify.go,
 * resend.go, mail.go sendConfirmation). On PGlite and PostgreSQL 15.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createClient } from "@supabase/supabase-js";
import { Hono } from "hono";
import { createAuthApi } from "../../../../local/standin/auth/app.ts";
import { Mailbox } from "../../../../local/standin/auth/confirmation.ts";
import { AUTH_SCHEMA_URL } from "../../../../local/standin/database.ts";
import { createStandinKeys } from "../../../../local/standin/keys.ts";
import type { SqlClient } from "../../../../shared/db/sql-client.ts";
import { sqlProviders } from "../../../helpers/db.ts";

const keys = await createStandinKeys();
const PASSWORD = "Correct-Horse-42";
const SITE = "http://app.local:3000";
let counter = 0;
const address = (tag: string) => `${tag}-${++counter}-${crypto.randomUUID().slice(0, 6)}@x.io`;

function standin(db: SqlClient) {
  const mailbox = new Mailbox();
  const app = new Hono().route(
    "/auth/v1",
    createAuthApi({
      sql: db,
      keys,
      profile: "hosted",
      rateLimits: null,
      mailbox,
      siteUrl: SITE,
      issuer: "http://standin.local/auth/v1",
    }),
  );
  const fetchApp = async (input: RequestInfo | URL, init?: RequestInit) =>
    await app.fetch(new Request(input, init));
  const client = createClient("http://standin.local", keys.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: { fetch: fetchApp },
  });
  return { mailbox, client, fetchApp };
}

async function stored(db: SqlClient, email: string) {
  const { rows } = await db.query<{
    confirmation_token: string;
    confirmed: boolean;
    sent: boolean;
    meta_verified: boolean | null;
    identity_verified: boolean | null;
  }>(
    `SELECT u.confirmation_token, u.email_confirmed_at IS NOT NULL AS confirmed,
            u.confirmation_sent_at IS NOT NULL AS sent,
            (u.raw_user_meta_data ->> 'email_verified')::boolean AS meta_verified,
            (i.identity_data ->> 'email_verified')::boolean AS identity_verified
       FROM auth.users u LEFT JOIN auth.identities i ON i.user_id = u.id
      WHERE u.email = $1`,
    [email],
  );
  return rows[0];
}

for (const provider of sqlProviders()) {
  Deno.test(`Auth stand-in: signup confirmation on ${provider.name}`, async (t) => {
    const db = await provider.open();
    try {
      await db.exec(await Deno.readTextFile(AUTH_SCHEMA_URL));
      const { mailbox, client, fetchApp } = standin(db);

      await t.step("signUp: no session, one mail, its token stored as GoTrue does", async () => {
        const email = address("link");
        const { data, error } = await client.auth.signUp({ email, password: PASSWORD });
        assert.equal(error, null);
        assert.equal(data.session, null);
        const mails = mailbox.to(email);
        assert.equal(mails.length, 1);
        const mail = mails[0]!;
        assert.match(mail.otp, /^\d{6}$/);
        assert.equal(mail.tokenHash, createHash("sha224").update(email + mail.otp).digest("hex"));
        const row = await stored(db, email);
        assert.equal(row?.confirmation_token, mail.tokenHash);
        assert.equal(row?.confirmed, false);
        assert.equal(row?.sent, true);
        const link = new URL(mail.link);
        assert.equal(link.pathname, "/auth/v1/verify");
        assert.equal(link.searchParams.get("type"), "signup");
        assert.equal(link.searchParams.get("token"), mail.tokenHash);

        const early = await client.auth.signInWithPassword({ email, password: PASSWORD });
        assert.equal(early.error?.status, 400);
        assert.equal(early.error?.code, "email_not_confirmed");

        // The user clicks the link: 303 to the site with the session in the fragment.
        const clicked = await fetchApp(mail.link, { redirect: "manual" });
        assert.equal(clicked.status, 303);
        const landing = new URL(clicked.headers.get("location")!);
        assert.equal(landing.origin, SITE);
        const fragment = new URLSearchParams(landing.hash.slice(1));
        assert.equal(fragment.get("type"), "signup");
        assert.equal(fragment.get("token_type"), "bearer");
        const { data: me } = await client.auth.getUser(fragment.get("access_token")!);
        assert.equal(me.user?.email, email);
        assert.ok(me.user?.email_confirmed_at);
        const after = await stored(db, email);
        assert.deepEqual(
          [after?.confirmation_token, after?.confirmed, after?.meta_verified],
          ["", true, true],
        );
        assert.equal(after?.identity_verified, true);

        const login = await client.auth.signInWithPassword({ email, password: PASSWORD });
        assert.equal(login.error, null);
        assert.ok(login.data.session);

        // The link again: used up, GoTrue's error redirect.
        const again = await fetchApp(mail.link, { redirect: "manual" });
        assert.equal(again.status, 303);
        const refused = new URLSearchParams(new URL(again.headers.get("location")!).hash.slice(1));
        assert.equal(refused.get("error"), "access_denied");
        assert.equal(refused.get("error_code"), "otp_expired");
        assert.equal(refused.get("error_description"), "Email link is invalid or has expired");
      });

      await t.step("verifyOtp with the token hash, or with the typed code", async () => {
        const byHash = address("hash");
        await client.auth.signUp({ email: byHash, password: PASSWORD });
        const hashed = await client.auth.verifyOtp({
          type: "signup",
          token_hash: mailbox.latest(byHash)!.tokenHash,
        });
        assert.equal(hashed.error, null);
        assert.equal(hashed.data.user?.email, byHash);
        assert.ok(hashed.data.session?.access_token);

        const byCode = address("code");
        await client.auth.signUp({ email: byCode, password: PASSWORD });
        const wrong = await client.auth.verifyOtp({
          type: "email",
          email: byCode,
          token: "000000",
        });
        // A wrong code is refused unless it happens to be the real one (1 in a million).
        if (mailbox.latest(byCode)!.otp !== "000000") {
          assert.equal(wrong.error?.status, 403);
          assert.equal(wrong.error?.code, "otp_expired");
          assert.equal(wrong.error?.message, "Token has expired or is invalid");
        }
        const typed = await client.auth.verifyOtp({
          type: "email",
          email: byCode,
          token: mailbox.latest(byCode)!.otp,
        });
        assert.equal(typed.error, null);
        assert.ok(typed.data.session);
        assert.equal((await stored(db, byCode))?.confirmed, true);
      });

      await t.step("a token that was never sent: 403 otp_expired", async () => {
        const { error } = await client.auth.verifyOtp({
          type: "signup",
          token_hash: "f".repeat(56),
        });
        assert.equal(error?.status, 403);
        assert.equal(error?.code, "otp_expired");
      });

      await t.step("resend: once a minute, never to a confirmed or unknown address", async () => {
        const email = address("resend");
        await client.auth.signUp({ email, password: PASSWORD });
        const soon = await client.auth.resend({ type: "signup", email });
        assert.equal(soon.error?.status, 429);
        assert.equal(soon.error?.code, "over_email_send_rate_limit");
        assert.match(soon.error?.message ?? "", /only request this after \d+ seconds/);
        assert.equal(mailbox.to(email).length, 1);
        // A minute later (the stored sent-at moved back), the mail goes out with a new token.
        await db.query(
          `UPDATE auth.users SET confirmation_sent_at = now() - interval '61 seconds'
            WHERE email = $1`,
          [email],
        );
        const later = await client.auth.resend({ type: "signup", email });
        assert.equal(later.error, null);
        const mails = mailbox.to(email);
        assert.equal(mails.length, 2);
        assert.notEqual(mails[1]!.tokenHash, mails[0]!.tokenHash);
        assert.equal((await stored(db, email))?.confirmation_token, mails[1]!.tokenHash);
        // The first link no longer works.
        const old = await client.auth.verifyOtp({
          type: "signup",
          token_hash: mails[0]!.tokenHash,
        });
        assert.equal(old.error?.code, "otp_expired");

        const unknown = address("nobody");
        assert.equal((await client.auth.resend({ type: "signup", email: unknown })).error, null);
        assert.equal(mailbox.to(unknown).length, 0);
        await client.auth.verifyOtp({ type: "signup", token_hash: mails[1]!.tokenHash });
        assert.equal((await client.auth.resend({ type: "signup", email })).error, null);
        assert.equal(mailbox.to(email).length, 2, "no mail to a confirmed address");
      });

      await t.step("signing up again unconfirmed re-sends (429 within the minute)", async () => {
        const email = address("again");
        const first = await client.auth.signUp({ email, password: PASSWORD });
        const within = await client.auth.signUp({ email, password: PASSWORD });
        assert.equal(within.error?.status, 429);
        assert.equal(within.error?.code, "over_email_send_rate_limit");
        await db.query(
          `UPDATE auth.users SET confirmation_sent_at = now() - interval '61 seconds'
            WHERE email = $1`,
          [email],
        );
        const later = await client.auth.signUp({ email, password: PASSWORD });
        assert.equal(later.error, null);
        assert.equal(later.data.user?.id, first.data.user?.id, "the stored user, not a copy");
        assert.equal(later.data.session, null);
        assert.equal(mailbox.to(email).length, 2);
      });
    } finally {
      await db.close();
    }
  });
}
