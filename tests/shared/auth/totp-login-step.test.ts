/**
 * A migrated user with a Supabase TOTP factor logs in on the Better Auth path with its password
 * and the code its existing authenticator app shows, and gets an aal2 access token; a wrong
 * code, a wrong password and a user without a factor are refused with GoTrue's words.
 */
import { RefreshTokenStore } from "../../../shared/sessions/refresh-tokens.ts";
import assert from "node:assert/strict";
import {
  DEFAULT_BETTER_AUTH_ISSUER,
  verifyAccessToken,
} from "../../../shared/auth/access-tokens.ts";
import { createBetterAuth } from "../../../shared/auth/better-auth.ts";
import { DEFAULT_PASSWORD_POLICY } from "../../../shared/auth/password-policy.ts";
import { LoginRateLimiter } from "../../../shared/auth/rate-limiter.ts";
import { totpLoginStep, type TotpLoginStepDeps } from "../../../shared/auth/totp-login-step.ts";
import { BatchMigrationEngine } from "../../../shared/batch/engine.ts";
import { SupabaseAuthSource } from "../../../shared/batch/supabase-source.ts";
import {
  EVERY_KIND_PASSWORD,
  everyKindUser,
  insertEveryKind,
  KINDS,
} from "../../../local/standin/seed-every-kind.ts";
import { sqlProviders } from "../../helpers/db.ts";
import { totpCode } from "../../helpers/totp.ts";
import { AUTH_SCHEMA_SQL } from "../batch/helpers.ts";

const SECRET = "test-better-auth-secret-with-at-least-32-chars";
const TOKEN_SECRET = "test-access-token-secret-0123456789abcdef";
const TOTP_USER = KINDS.indexOf("totp_verified");
const PLAIN_USER = KINDS.indexOf("email_password") + KINDS.length;

const post = (body: unknown) =>
  new Request("http://localhost/login/mfa/verify", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

for (const provider of sqlProviders()) {
  Deno.test(`TOTP second step on the Better Auth path on ${provider.name}`, async (t) => {
    const db = await provider.open();
    await db.exec(AUTH_SCHEMA_SQL);
    try {
      await insertEveryKind(db, { to: KINDS.length * 2 });
      const engine = new BatchMigrationEngine({
        db,
        source: new SupabaseAuthSource(db),
        betterAuthSecret: SECRET,
      });
      assert.equal((await engine.run({})).errors, 0);
      const deps: TotpLoginStepDeps = {
        auth: createBetterAuth({ db, secret: SECRET, passwordPolicy: DEFAULT_PASSWORD_POLICY }),
        db,
        signing: { secret: TOKEN_SECRET, issuer: DEFAULT_BETTER_AUTH_ISSUER, ttlSeconds: 3600 },
        rateLimiter: new LoginRateLimiter(db),
      };
      const { email } = everyKindUser(TOTP_USER);
      const { rows } = await db.query<{ secret: string }>(
        `SELECT secret FROM auth.mfa_factors
         WHERE user_id = md5('kind-' || $1::text)::uuid AND status = 'verified'`,
        [String(TOTP_USER)],
      );
      const secret = rows[0]!.secret;

      await t.step("password + the authenticator's code → aal2 token", async () => {
        const response = await totpLoginStep(
          deps,
          post({ email, password: EVERY_KIND_PASSWORD.password, code: await totpCode(secret) }),
        );
        assert.equal(response.status, 200);
        const body = await response.json();
        assert.equal(body.user.email, email);
        const verified = await verifyAccessToken(body.session.access_token, {
          betterAuth: { secret: TOKEN_SECRET, issuer: DEFAULT_BETTER_AUTH_ISSUER },
          supabase: {},
        });
        assert.equal(verified.claims.aal, "aal2");
        assert.deepEqual(
          (verified.claims.amr as { method: string }[]).map((entry) => entry.method),
          ["totp", "password"],
        );
        // The refresh token is of that session and keeps aal2 when it rotates.
        const store = new RefreshTokenStore({ db, secret: (await deps.auth.$context).secret });
        const rotated = await store.rotate(body.session.refresh_token);
        assert.ok(rotated.ok);
        assert.equal(rotated.sessionId, verified.sessionId);
        assert.equal(rotated.secondFactor, "totp");
      });

      await t.step("a wrong code is 422 mfa_verification_failed", async () => {
        const wrong = String((Number(await totpCode(secret)) + 500_000) % 1_000_000).padStart(
          6,
          "0",
        );
        const response = await totpLoginStep(
          deps,
          post({ email, password: EVERY_KIND_PASSWORD.password, code: wrong }),
        );
        assert.equal(response.status, 422);
        assert.equal((await response.json()).error.code, "mfa_verification_failed");
      });

      await t.step(
        "a wrong password is invalid_credentials; bad input names the field",
        async () => {
          const response = await totpLoginStep(
            deps,
            post({ email, password: "not-the-password", code: await totpCode(secret) }),
          );
          assert.equal(response.status, 400);
          assert.equal((await response.json()).error.code, "invalid_credentials");
          const bad = await totpLoginStep(deps, post({ email, password: "x", code: "12ab" }));
          assert.equal(bad.status, 400);
          assert.equal((await bad.json()).error.details[0].path, "code");
        },
      );

      await t.step("a user without a TOTP factor gets no session from this step", async () => {
        const before = await db.query<{ n: number }>(`SELECT count(*) AS n FROM session`);
        const response = await totpLoginStep(
          deps,
          post({
            email: everyKindUser(PLAIN_USER).email,
            password: EVERY_KIND_PASSWORD.password,
            code: "123456",
          }),
        );
        assert.equal(response.status, 404);
        assert.equal((await response.json()).error.code, "mfa_factor_not_found");
        const after = await db.query<{ n: number }>(`SELECT count(*) AS n FROM session`);
        assert.deepEqual(after.rows, before.rows);
      });
    } finally {
      await db.close();
    }
  });
}
