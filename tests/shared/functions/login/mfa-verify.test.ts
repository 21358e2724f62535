/**
 * The login function's TOTP second step over HTTP: a Supabase user with a verified TOTP factor,
 * moved by the batch, signs in on the Better Auth path at POST /functions/v1/login/mfa/verify
 * with its password and the code of its existing authenticator app, and gets an aal2 token.
 */
import assert from "node:assert/strict";
import { BatchMigrationEngine } from "../../../../shared/batch/engine.ts";
import { SupabaseAuthSource } from "../../../../shared/batch/supabase-source.ts";
import { decodeJwt } from "../../../../shared/auth/jwt.ts";
import { DEV_BETTER_AUTH_SECRET } from "../../../../local/standin/dev-server.ts";
import {
  EVERY_KIND_PASSWORD,
  everyKindUser,
  insertEveryKind,
  KINDS,
} from "../../../../local/standin/seed-every-kind.ts";
import { totpCode } from "../../../helpers/totp.ts";
import { callFunction, startAuthServer } from "../auth-e2e-helpers.ts";

Deno.test("login over HTTP: TOTP second step on the Better Auth path gives an aal2 token", async () => {
  const auth = await startAuthServer({ MIGRATION_MODE: "dual_write" });
  try {
    const db = auth.server.sql;
    await insertEveryKind(db, { to: KINDS.length });
    const engine = new BatchMigrationEngine({
      db,
      source: new SupabaseAuthSource(db),
      betterAuthSecret: DEV_BETTER_AUTH_SECRET,
    });
    assert.equal((await engine.run({})).errors, 0);
    const n = KINDS.indexOf("totp_verified");
    const { rows } = await db.query<{ secret: string }>(
      `SELECT secret FROM auth.mfa_factors
       WHERE user_id = md5('kind-' || $1::text)::uuid AND status = 'verified'`,
      [String(n)],
    );
    const result = await callFunction(auth, "login/mfa/verify", {
      email: everyKindUser(n).email,
      password: EVERY_KIND_PASSWORD.password,
      code: await totpCode(rows[0]!.secret),
    });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(decodeJwt(result.body.session.access_token)?.claims.aal, "aal2");
  } finally {
    await auth.close();
  }
});
