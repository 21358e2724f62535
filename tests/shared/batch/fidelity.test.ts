/**
 * Every kind of Supabase Auth user arrives in Better Auth with what makes it that kind — and
 * signs in there: password, phone + password, and a TOTP second step with the code the user's
 * existing authenticator app computes from the Supabase secret. Bans hold, expired bans do not,
 * roles come from app_metadata / is_super_admin.
 */
import assert from "node:assert/strict";
import { createBetterAuth } from "../../../shared/auth/better-auth.ts";
import { DEFAULT_PASSWORD_POLICY } from "../../../shared/auth/password-policy.ts";
import { BatchMigrationEngine } from "../../../shared/batch/engine.ts";
import { SupabaseAuthSource } from "../../../shared/batch/supabase-source.ts";
import type { SqlClient } from "../../../shared/db/sql-client.ts";
import {
  EVERY_KIND_PASSWORD,
  everyKindUser,
  insertEveryKind,
  type Kind,
  KINDS,
} from "../../../local/standin/seed-every-kind.ts";
import { sqlProviders } from "../../helpers/db.ts";
import { totpCode } from "../../helpers/totp.ts";
import { AUTH_SCHEMA_SQL, resetTables } from "./helpers.ts";

const SECRET = "test-better-auth-secret-with-at-least-32-chars";
const N = KINDS.length * 2;
const numbersOf = (kind: Kind) =>
  Array.from({ length: N }, (_, i) => i + 1).filter((n) => KINDS[n % KINDS.length] === kind);

interface UserRow {
  id: string;
  email: string;
  name: string;
  emailVerified: boolean;
  image: string | null;
  role: string | null;
  banned: boolean | null;
  banExpires: Date | null;
  isAnonymous: boolean | null;
  phoneNumber: string | null;
  phoneNumberVerified: boolean | null;
  twoFactorEnabled: boolean | null;
  invitedAt: Date | null;
  lastSignInAt: Date | null;
  providers: string[];
}

async function targetUser(db: SqlClient, n: number): Promise<UserRow> {
  const { rows } = await db.query<UserRow>(
    `SELECT u.id, u.email, u.name, u."emailVerified", u.image, u.role, u.banned, u."banExpires",
            u."isAnonymous", u."phoneNumber", u."phoneNumberVerified", u."twoFactorEnabled",
            u."invitedAt", u."lastSignInAt",
            coalesce((SELECT array_agg(a."providerId" ORDER BY a."providerId") FROM account a
                      WHERE a."userId" = u.id), '{}') AS providers
     FROM "user" u WHERE u.id = md5('kind-' || $1::text)::uuid`,
    [String(n)],
  );
  assert.equal(rows.length, 1, `user ${n} (${KINDS[n % KINDS.length]}) arrived`);
  return rows[0]!;
}

function cookiesOf(response: Response): string {
  return response.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
}

for (const provider of sqlProviders()) {
  Deno.test(`every kind of user carries over and signs in on ${provider.name}`, async (t) => {
    const db = await provider.open();
    await db.exec(AUTH_SCHEMA_SQL);
    const auth = createBetterAuth({ db, secret: SECRET, passwordPolicy: DEFAULT_PASSWORD_POLICY });
    try {
      await t.step("without BETTER_AUTH_SECRET, verified-TOTP users are refused", async () => {
        await resetTables(db);
        await insertEveryKind(db, { to: N });
        const engine = new BatchMigrationEngine({ db, source: new SupabaseAuthSource(db) });
        const result = await engine.run({});
        assert.equal(result.errors, numbersOf("totp_verified").length);
        const { rows } = await db.query<{ error_code: string }>(
          "SELECT DISTINCT error_code FROM migration_errors",
        );
        assert.deepEqual(rows, [{ error_code: "totp_not_carried" }]);
      });

      await t.step("validate, dry run and plan report field coverage", async () => {
        await resetTables(db);
        await insertEveryKind(db, { to: N });
        const refusing = new BatchMigrationEngine({ db, source: new SupabaseAuthSource(db) });
        const withoutKey = await refusing.validate({});
        assert.deepEqual(withoutKey.coverage.totp, {
          source: 2,
          carried: 0,
          dropped: 2,
          dropped_because: { totp_not_carried: 2 },
          note: withoutKey.coverage.totp!.note,
        });
        const engine = new BatchMigrationEngine({
          db,
          source: new SupabaseAuthSource(db),
          betterAuthSecret: SECRET,
          options: { batchSize: 5 },
        });
        const validated = await engine.validate({});
        const dry = await engine.run({ dry_run: true });
        const plan = await engine.planNextBatch({ batch_size: N });
        for (const coverage of [validated.coverage, dry.coverage!, plan.coverage!]) {
          const c = (field: string) => {
            const { source, carried, dropped, dropped_because } = coverage[field]!;
            return { source, carried, dropped, dropped_because };
          };
          const all = (n: number) => ({ source: n, carried: n, dropped: 0, dropped_because: {} });
          assert.deepEqual(c("phone"), all(4));
          assert.deepEqual(c("anonymous"), all(2));
          assert.deepEqual(c("role"), all(4));
          assert.deepEqual(c("ban"), all(4));
          assert.deepEqual(c("totp"), all(2));
          assert.deepEqual(c("sso_identities"), all(2));
          assert.deepEqual(c("identities"), all(6));
          assert.deepEqual(c("invited_at"), all(2));
          assert.deepEqual(c("totp_additional_factors"), all(0), "fields nobody has are listed");
          assert.deepEqual(c("mfa_unverified_factors"), {
            source: 2,
            carried: 0,
            dropped: 2,
            dropped_because: { unverified_factor_re_enrol: 2 },
          });
          assert.deepEqual(coverage.mfa_unverified_factors!.user_ids!.length, 2);
          assert.deepEqual(c("mfa_webauthn_factors").dropped_because, {
            webauthn_factor_re_enrol: 2,
          });
          assert.deepEqual(c("mfa_phone_factors").dropped_because, { phone_factor_re_enrol: 2 });
          assert.equal(c("email").source, N - 6);
        }
      });

      await t.step("with it, every user of every kind migrates", async () => {
        await resetTables(db);
        await insertEveryKind(db, { to: N });
        const engine = new BatchMigrationEngine({
          db,
          source: new SupabaseAuthSource(db),
          betterAuthSecret: SECRET,
          options: { batchSize: 7 },
        });
        const result = await engine.run({});
        assert.deepEqual([result.migrated, result.errors, result.skipped], [N, 0, 0]);
        const verify = await engine.verify({ migration_id: result.migration_id });
        assert.equal(verify.equal, true);
        assert.equal(verify.matching, N);
      });

      await t.step("fields per kind", async () => {
        const phoneOnly = await targetUser(db, numbersOf("phone_only")[0]!);
        const n = numbersOf("phone_only")[0]!;
        assert.equal(phoneOnly.phoneNumber, `+${everyKindUser(n).phone}`);
        assert.equal(phoneOnly.phoneNumberVerified, true);
        assert.equal(phoneOnly.email, `${phoneOnly.id}@phone.placeholder.invalid`);
        assert.equal(phoneOnly.emailVerified, false);
        assert.deepEqual(phoneOnly.providers, []);

        const phonePassword = await targetUser(db, numbersOf("phone_password")[0]!);
        assert.deepEqual(phonePassword.providers, ["credential"]);

        const anonymous = await targetUser(db, numbersOf("anonymous")[0]!);
        assert.equal(anonymous.isAnonymous, true);
        assert.equal(anonymous.email, `${anonymous.id}@anonymous.placeholder.invalid`);
        assert.equal(anonymous.name, "Anonymous");

        assert.equal((await targetUser(db, numbersOf("admin_app_metadata")[0]!)).role, "admin");
        assert.equal((await targetUser(db, numbersOf("super_admin")[0]!)).role, "admin");
        assert.equal((await targetUser(db, numbersOf("email_password")[0]!)).role, null);

        const withExpiry = await targetUser(db, numbersOf("banned_with_expiry")[0]!);
        assert.equal(withExpiry.banned, true);
        assert.ok(withExpiry.banExpires && withExpiry.banExpires > new Date());
        const forever = await targetUser(db, numbersOf("banned_without_expiry")[0]!);
        assert.deepEqual([forever.banned, forever.banExpires], [true, null]);
        const expired = await targetUser(db, numbersOf("ban_expired")[0]!);
        assert.deepEqual([expired.banned, expired.banExpires], [false, null]);

        const google = await targetUser(db, numbersOf("google")[0]!);
        assert.deepEqual(google.providers, ["google"]);
        assert.match(google.name, /^Social User \d+$/, "name from the identity");
        assert.match(google.image ?? "", /^https:\/\/avatars\.example\.com\//);
        assert.deepEqual(
          (await targetUser(db, numbersOf("github_and_password")[0]!)).providers,
          ["credential", "github"],
        );
        assert.deepEqual(
          (await targetUser(db, numbersOf("unconfigured_provider")[0]!)).providers,
          ["keycloak"],
        );
        assert.deepEqual(
          (await targetUser(db, numbersOf("sso")[0]!)).providers,
          ["sso:6d2c7c6e-4a44-4b5e-9d7e-1d2f3a4b5c6d"],
        );
        const invited = await targetUser(db, numbersOf("invited")[0]!);
        assert.ok(invited.invitedAt);
        assert.equal(invited.lastSignInAt, null);
        assert.ok((await targetUser(db, numbersOf("email_password")[0]!)).lastSignInAt);

        assert.equal((await targetUser(db, numbersOf("totp_verified")[0]!)).twoFactorEnabled, true);
        for (const kind of ["totp_unverified", "phone_and_webauthn_factors"] as const) {
          assert.equal((await targetUser(db, numbersOf(kind)[0]!)).twoFactorEnabled, false, kind);
        }
      });

      await t.step("password users sign in with their Supabase password", async () => {
        for (const kind of ["email_password", "github_and_password", "ban_expired"] as const) {
          const n = numbersOf(kind)[0]!;
          const result = await auth.api.signInEmail({
            body: { email: everyKindUser(n).email, password: EVERY_KIND_PASSWORD.password },
          });
          assert.ok("token" in result && result.token, kind);
        }
        // The expired ban was lifted by the admin plugin at sign-in.
        assert.equal((await targetUser(db, numbersOf("ban_expired")[0]!)).banned, false);
      });

      await t.step("phone + password users sign in with their phone number", async () => {
        const n = numbersOf("phone_password")[0]!;
        const result = await auth.api.signInPhoneNumber({
          body: {
            phoneNumber: `+${everyKindUser(n).phone}`,
            password: EVERY_KIND_PASSWORD.password,
          },
        });
        assert.ok(result.token);
        await assert.rejects(
          auth.api.signInPhoneNumber({
            body: { phoneNumber: `+${everyKindUser(n).phone}`, password: "wrong-password" },
          }),
        );
      });

      await t.step("banned users are refused, with and without expiry", async () => {
        for (const kind of ["banned_with_expiry", "banned_without_expiry"] as const) {
          const n = numbersOf(kind)[0]!;
          await assert.rejects(
            auth.api.signInEmail({
              body: { email: everyKindUser(n).email, password: EVERY_KIND_PASSWORD.password },
            }),
            (error: { body?: { code?: string } }) => error.body?.code === "BANNED_USER",
            kind,
          );
        }
      });

      await t.step("TOTP users need the code of their existing authenticator app", async () => {
        const n = numbersOf("totp_verified")[0]!;
        const first = await auth.api.signInEmail({
          body: { email: everyKindUser(n).email, password: EVERY_KIND_PASSWORD.password },
          asResponse: true,
        });
        assert.equal(first.status, 200);
        assert.deepEqual(await first.json(), {
          twoFactorRedirect: true,
          twoFactorMethods: ["totp"],
        });
        const cookie = cookiesOf(first);
        const { rows } = await db.query<{ secret: string }>(
          `SELECT secret FROM auth.mfa_factors
           WHERE user_id = md5('kind-' || $1::text)::uuid AND status = 'verified'`,
          [String(n)],
        );
        const wrong = await auth.api.verifyTOTP({
          body: {
            code: (Number(await totpCode(rows[0]!.secret)) + 1).toString().padStart(6, "0").slice(
              -6,
            ),
          },
          headers: new Headers({ cookie }),
          asResponse: true,
        });
        assert.equal(wrong.status, 401);
        const verified = await auth.api.verifyTOTP({
          body: { code: await totpCode(rows[0]!.secret) },
          headers: new Headers({ cookie }),
          asResponse: true,
        });
        assert.equal(verified.status, 200);
        const body = await verified.json() as { token?: string; user?: { id: string } };
        assert.ok(body.token);
        assert.equal(body.user?.id, (await targetUser(db, n)).id);
      });

      await t.step("a second run creates no duplicate of anything", async () => {
        const before = await db.query<{ users: number; accounts: number; tf: number }>(
          `SELECT (SELECT count(*) FROM "user") AS users, (SELECT count(*) FROM account) AS accounts,
                  (SELECT count(*) FROM "twoFactor") AS tf`,
        );
        const engine = new BatchMigrationEngine({
          db,
          source: new SupabaseAuthSource(db),
          betterAuthSecret: SECRET,
        });
        const again = await engine.run({ migration_id: "again" });
        assert.equal(again.migrated, 0);
        const after = await db.query<{ users: number; accounts: number; tf: number }>(
          `SELECT (SELECT count(*) FROM "user") AS users, (SELECT count(*) FROM account) AS accounts,
                  (SELECT count(*) FROM "twoFactor") AS tf`,
        );
        assert.deepEqual(after.rows, before.rows);
      });
    } finally {
      await db.close();
    }
  });
}
