/**
 * registerAuth on the app container: every token resolves from config + the shared database,
 * and the resolved service works end to end against the stand-in.
 */
import assert from "node:assert/strict";
import { verifyAccessToken } from "../../../shared/auth/access-tokens.ts";
import type { AuthEvent } from "../../../shared/auth/events.ts";
import { registerAuth } from "../../../shared/auth/register.ts";
import {
  AccessTokenVerifierToken,
  AuthServiceToken,
  MigrationStatusToken,
  ReconcileToken,
} from "../../../shared/auth/tokens.ts";
import { loadConfig } from "../../../shared/config/env.ts";
import { createAppContainer } from "../../../shared/di/app-container.ts";
import { createStandinKeys } from "../../../local/standin/keys.ts";
import { BETTER_AUTH_SECRET, email, openDatabase, PASSWORD, serveStandin } from "./harness.ts";

Deno.test("registerAuth wires the dual-write service, token verification and reconciliation", async () => {
  const db = await openDatabase("pglite");
  const keys = await createStandinKeys();
  const standin = serveStandin(db, keys);
  const events: AuthEvent[] = [];
  const config = loadConfig({
    SUPABASE_URL: standin.url,
    SUPABASE_ANON_KEY: keys.anonKey,
    SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey,
    BETTER_AUTH_SECRET,
    MIGRATION_MODE: "dual_write",
    USE_BETTER_AUTH: "true",
    MIGRATION_VALIDATION: "true",
    // The seeded stage is better_auth_primary; within it the rollout decides who is on Better
    // Auth, and a signup's primary is where that user's logins go (shared/cutover/stages.ts).
    MIGRATION_ROLLOUT_PERCENTAGE: "100",
  });
  const container = registerAuth(createAppContainer(config, { sql: db }), {
    supabaseJwtSecret: keys.jwtSecret,
    events: (event) => events.push(event),
    failureFloorMs: 0,
  });
  try {
    const service = await container.get(AuthServiceToken);
    const address = email("wired");
    const signup = await service.signUp({ email: address, password: PASSWORD });
    assert.ok(signup.ok, JSON.stringify(!signup.ok && signup.error.toBody()));
    const verifier = await container.get(AccessTokenVerifierToken);
    const verified = await verifyAccessToken(signup.value.session!.access_token, verifier);
    assert.equal(
      verified.system,
      "better_auth",
      "better_auth_primary at 100 %: Better Auth answered",
    );
    assert.equal(verified.userId, signup.value.user.id);

    const login = await service.signIn({ email: address, password: PASSWORD });
    assert.ok(login.ok);
    const me = await service.getUserFromToken(login.value.session!.access_token);
    assert.ok(me.ok);
    assert.equal(me.value.email, address);

    const status = await (await container.get(MigrationStatusToken)).get(signup.value.user.id);
    assert.equal(status?.dataValidated, true);
    const report = await (await container.get(ReconcileToken))();
    assert.equal(report.examined, 0);
    assert.ok(events.some((e) => e.type === "signup" && e.success));
  } finally {
    await container.dispose();
    await standin.close();
    await db.close();
  }
});
