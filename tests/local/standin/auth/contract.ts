/**
 * The Auth API contract, exercised through the real supabase-js client over real HTTP. Run by
 * app.test.ts against the dev server (PGlite) and against createAuthApi on PostgreSQL 15.
 */
import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import { createClient, isAuthApiError, type SupabaseClient } from "@supabase/supabase-js";
import { sign } from "hono/jwt";
import type { SqlClient } from "../../../../shared/db/sql-client.ts";
import { type StandinKeys, verifyJwt } from "../../../../local/standin/keys.ts";
import { demoPasswordFor } from "../../../../local/standin/seed-legacy-users.ts";

export interface AuthStack {
  /** The project URL; the Auth API is at `${url}/auth/v1`. */
  readonly url: string;
  readonly keys: StandinKeys;
  readonly sql: SqlClient;
}

const clientOptions = {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
};

export function anonClient(stack: AuthStack, key = stack.keys.anonKey): SupabaseClient {
  return createClient(stack.url, key, clientOptions);
}

export function adminClient(stack: AuthStack): SupabaseClient {
  return createClient(stack.url, stack.keys.serviceRoleKey, clientOptions);
}

let counter = 0;
/** A fresh address per call, in mixed case to prove GoTrue's lower-casing. */
export function uniqueEmail(prefix = "user"): string {
  return `${prefix}.${Date.now().toString(36)}${++counter}@Example.com`;
}

function expectApiError(
  error: unknown,
  status: number,
  code: string,
  message?: string | RegExp,
): void {
  assert.ok(error, `expected an error ${status} ${code}`);
  const e = error as { status?: number; code?: string; message?: string; name?: string };
  assert.equal(e.status, status, `status of ${JSON.stringify(e)}`);
  assert.equal(e.code, code, `code of ${JSON.stringify(e)}`);
  if (typeof message === "string") assert.equal(e.message, message);
  else if (message) assert.match(e.message ?? "", message);
}

async function rawFetch(
  stack: AuthStack,
  path: string,
  init: RequestInit & { headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> | null }> {
  const response = await fetch(`${stack.url}/auth/v1${path}`, init);
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : null,
  };
}

async function signedUpUser(stack: AuthStack, password = "Sup3r-Secret!") {
  const email = uniqueEmail();
  const client = anonClient(stack);
  const { data, error } = await client.auth.signUp({
    email,
    password,
    options: { data: { plan: "pro" } },
  });
  assert.equal(error, null);
  return { email, password, client, session: data.session!, user: data.user! };
}

async function seededUser(
  stack: AuthStack,
  where: string,
): Promise<{ email: string; password: string }> {
  const { rows } = await stack.sql.query<{ email: string }>(
    `SELECT email FROM auth.users WHERE ${where} ORDER BY created_at LIMIT 1`,
  );
  assert.ok(rows[0], `a seeded user where ${where}`);
  const n = Number(/(\d+)@/.exec(rows[0].email)?.[1] ?? "1");
  return { email: rows[0].email, password: demoPasswordFor(n) };
}

/** Registers every contract case as a step of `t`. */
export async function runAuthContract(t: Deno.TestContext, stack: AuthStack): Promise<void> {
  await t.step(
    "signUp creates a confirmed user with a bcrypt $2a$10$ hash and a verifiable session",
    async () => {
      const { email, password, session, user } = await signedUpUser(stack);
      assert.equal(user.email, email.toLowerCase());
      assert.equal(user.aud, "authenticated");
      assert.equal(user.role, "authenticated");
      assert.ok(user.email_confirmed_at);
      assert.deepEqual(user.app_metadata, { provider: "email", providers: ["email"] });
      assert.equal(user.user_metadata.plan, "pro");
      assert.equal(user.user_metadata.email_verified, true);
      assert.equal(user.identities?.length, 1);
      assert.equal(user.identities![0]!.provider, "email");
      assert.equal(user.identities![0]!.id, user.id);

      const claims = await verifyJwt(session.access_token, stack.keys.jwtSecret);
      assert.ok(claims, "the access token verifies (HS256, project secret)");
      assert.equal(claims.sub, user.id);
      assert.equal(claims.role, "authenticated");
      assert.equal(claims.aud, "authenticated");
      assert.equal(claims.email, email.toLowerCase());
      assert.equal(claims.phone, "");
      assert.equal(claims.aal, "aal1");
      assert.equal(claims.is_anonymous, false);
      assert.equal(claims.iss, `${stack.url}/auth/v1`);
      assert.equal(claims.exp! - claims.iat!, 3600);
      assert.equal(typeof claims.session_id, "string");
      assert.deepEqual(claims.app_metadata, { provider: "email", providers: ["email"] });
      assert.equal((claims.user_metadata as Record<string, unknown>).plan, "pro");
      assert.equal((claims.amr as Array<{ method: string }>)[0]!.method, "password");
      assert.equal(session.token_type, "bearer");
      assert.equal(session.expires_in, 3600);

      const { rows } = await stack.sql.query<
        { encrypted_password: string; provider: string; provider_id: string }
      >(
        `SELECT u.encrypted_password, i.provider, i.provider_id
         FROM auth.users u JOIN auth.identities i ON i.user_id = u.id WHERE u.id = $1::uuid`,
        [user.id],
      );
      assert.match(rows[0]!.encrypted_password, /^\$2a\$10\$[./A-Za-z0-9]{53}$/);
      assert.equal(await bcrypt.compare(password, rows[0]!.encrypted_password), true);
      assert.equal(await bcrypt.compare("wrong", rows[0]!.encrypted_password), false);
      assert.equal(rows[0]!.provider, "email");
      assert.equal(rows[0]!.provider_id, user.id);
    },
  );

  await t.step(
    "signUp refuses a registered address (any case), weak passwords and bad addresses",
    async () => {
      const { email } = await signedUpUser(stack);
      const client = anonClient(stack);
      const duplicate = await client.auth.signUp({
        email: email.toUpperCase(),
        password: "Another-Pass1",
      });
      expectApiError(duplicate.error, 422, "user_already_exists", "User already registered");

      const weak = await client.auth.signUp({ email: uniqueEmail(), password: "abc" });
      expectApiError(weak.error, 422, "weak_password", "Password should be at least 6 characters.");
      assert.equal(weak.error!.name, "AuthWeakPasswordError");
      assert.deepEqual((weak.error as unknown as { reasons: string[] }).reasons, ["length"]);

      const badEmail = await client.auth.signUp({
        email: "not-an-email",
        password: "Sup3r-Secret!",
      });
      expectApiError(
        badEmail.error,
        400,
        "validation_failed",
        "Unable to validate email address: invalid format",
      );

      const tooLong = await client.auth.signUp({ email: uniqueEmail(), password: "x".repeat(73) });
      expectApiError(
        tooLong.error,
        400,
        "validation_failed",
        "Password cannot be longer than 72 characters",
      );

      const noPassword = await rawFetch(stack, "/signup", {
        method: "POST",
        headers: { apikey: stack.keys.anonKey, "X-Supabase-Api-Version": "2024-01-01" },
        body: JSON.stringify({ email: uniqueEmail() }),
      });
      assert.equal(noPassword.status, 400);
      assert.deepEqual(noPassword.body, {
        code: "validation_failed",
        message: "Signup requires a valid password",
      });
    },
  );

  await t.step("bad JSON and wrong field types are 400 bad_json naming the field", async () => {
    const headers = { apikey: stack.keys.anonKey, "X-Supabase-Api-Version": "2024-01-01" };
    const broken = await rawFetch(stack, "/signup", { method: "POST", headers, body: "{not json" });
    assert.equal(broken.status, 400);
    assert.equal(broken.body!.code, "bad_json");
    const wrongType = await rawFetch(stack, "/token?grant_type=password", {
      method: "POST",
      headers,
      body: JSON.stringify({ email: 42, password: "x" }),
    });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.body!.code, "bad_json");
    assert.match(String(wrongType.body!.message), /PasswordGrantParams\.email of type string/);
  });

  await t.step(
    "signInWithPassword returns a session; wrong or unknown credentials are 400 invalid_credentials",
    async () => {
      const { email, password } = await signedUpUser(stack);
      const client = anonClient(stack);
      const { data, error } = await client.auth.signInWithPassword({
        email: email.toLowerCase(),
        password,
      });
      assert.equal(error, null);
      assert.ok(data.session?.access_token && data.session.refresh_token);
      assert.ok(data.user?.last_sign_in_at);
      assert.ok(await verifyJwt(data.session.access_token, stack.keys.jwtSecret));

      const wrong = await client.auth.signInWithPassword({ email, password: "Wrong-Passw0rd" });
      expectApiError(wrong.error, 400, "invalid_credentials", "Invalid login credentials");
      assert.ok(isAuthApiError(wrong.error));
      const unknown = await client.auth.signInWithPassword({
        email: uniqueEmail("nobody"),
        password,
      });
      expectApiError(unknown.error, 400, "invalid_credentials", "Invalid login credentials");
    },
  );

  await t.step("the legacy (no API version) error body is { code, error_code, msg }", async () => {
    const response = await rawFetch(stack, "/token?grant_type=password", {
      method: "POST",
      headers: { apikey: stack.keys.anonKey },
      body: JSON.stringify({ email: "nobody@example.com", password: "whatever1" }),
    });
    assert.equal(response.status, 400);
    assert.deepEqual(response.body, {
      code: 400,
      error_code: "invalid_credentials",
      msg: "Invalid login credentials",
    });
    assert.equal(response.headers.get("x-supabase-api-version"), null);
    const unsupported = await rawFetch(stack, "/token?grant_type=magic", {
      method: "POST",
      headers: { apikey: stack.keys.anonKey },
      body: "{}",
    });
    assert.equal(unsupported.status, 400);
    assert.equal(unsupported.body!.error_code, "invalid_credentials");
  });

  await t.step(
    "seeded legacy users: demo passwords work, banned and deleted rows are refused",
    async () => {
      const client = anonClient(stack);
      const valid = await seededUser(
        stack,
        "banned_until IS NULL AND deleted_at IS NULL AND email_confirmed_at IS NOT NULL AND encrypted_password <> '' AND email LIKE '%@%.%'",
      );
      const ok = await client.auth.signInWithPassword(valid);
      assert.equal(ok.error, null, `seeded ${valid.email} signs in`);

      const banned = await seededUser(stack, "banned_until > now()");
      const bannedResult = await client.auth.signInWithPassword(banned);
      expectApiError(bannedResult.error, 400, "user_banned", "User is banned");

      const deleted = await seededUser(stack, "deleted_at IS NOT NULL");
      const deletedResult = await client.auth.signInWithPassword(deleted);
      expectApiError(deletedResult.error, 400, "invalid_credentials");

      const { rows } = await stack.sql.query<{ original: string; variant: string }>(
        `SELECT a.email AS original, b.email AS variant FROM auth.users a JOIN auth.users b
          ON lower(a.email) = lower(b.email) AND a.email <> b.email
        WHERE a.email = lower(a.email) LIMIT 1`,
      );
      assert.ok(rows[0], "the seed holds an address duplicated in a different case");
      const variantN = Number(/(\d+)@/i.exec(rows[0].variant)?.[1] ?? "1");
      const variant = await client.auth.signInWithPassword({
        email: rows[0].variant,
        password: demoPasswordFor(variantN),
      });
      // The exact spelling picks its own row (and its own password).
      assert.equal(variant.error, null);
      assert.equal(variant.data.user!.email, rows[0].variant);
    },
  );

  await t.step("unconfirmed users get 400 email_not_confirmed", async () => {
    const email = uniqueEmail("unconfirmed");
    const created = await adminClient(stack).auth.admin.createUser({
      email,
      password: "Sup3r-Secret!",
    });
    assert.equal(created.error, null);
    const result = await anonClient(stack).auth.signInWithPassword({
      email,
      password: "Sup3r-Secret!",
    });
    expectApiError(result.error, 400, "email_not_confirmed", "Email not confirmed");
  });

  await t.step(
    "getUser accepts a valid token and refuses expired, forged and user-less tokens",
    async () => {
      const { client, session, user } = await signedUpUser(stack);
      const current = await client.auth.getUser(session.access_token);
      assert.equal(current.error, null);
      assert.equal(current.data.user!.id, user.id);

      const now = Math.floor(Date.now() / 1000);
      const claims = { sub: user.id, role: "authenticated", aud: "authenticated", session_id: "" };
      const expired = await sign(
        { ...claims, iat: now - 7200, exp: now - 3600 },
        stack.keys.jwtSecret,
        "HS256",
      );
      const expiredResult = await client.auth.getUser(expired);
      expectApiError(expiredResult.error, 403, "bad_jwt", /token is expired/);

      const forged = await sign(
        { ...claims, iat: now, exp: now + 3600 },
        "another-secret-of-at-least-32-chars!!",
        "HS256",
      );
      const forgedResult = await client.auth.getUser(forged);
      expectApiError(forgedResult.error, 403, "bad_jwt", /signature is invalid/);

      const anonResult = await client.auth.getUser(stack.keys.anonKey);
      expectApiError(anonResult.error, 403, "bad_jwt", "invalid claim: missing sub claim");

      const noBearer = await rawFetch(stack, "/user", {
        headers: { apikey: stack.keys.anonKey, "X-Supabase-Api-Version": "2024-01-01" },
      });
      assert.equal(noBearer.status, 401);
      assert.equal(noBearer.body!.code, "no_authorization");

      const ghost = await sign(
        { ...claims, sub: crypto.randomUUID(), iat: now, exp: now + 3600 },
        stack.keys.jwtSecret,
        "HS256",
      );
      const ghostResult = await client.auth.getUser(ghost);
      expectApiError(ghostResult.error, 403, "user_not_found");
    },
  );

  await t.step(
    "refreshSession rotates the refresh token; reuse of an old one revokes the family",
    async () => {
      const { client, session } = await signedUpUser(stack);
      const first = await client.auth.refreshSession({ refresh_token: session.refresh_token });
      assert.equal(first.error, null);
      const second = first.data.session!;
      assert.notEqual(second.refresh_token, session.refresh_token);
      // (The access token may equal the old one: same claims within the same second, as on GoTrue.)
      const secondClaims = await verifyJwt(second.access_token, stack.keys.jwtSecret);
      assert.equal(
        secondClaims!.session_id,
        (await verifyJwt(session.access_token, stack.keys.jwtSecret))!.session_id,
      );

      // A client that lost the response retries with the parent: it gets the same active token.
      const retried = await anonClient(stack).auth.refreshSession({
        refresh_token: session.refresh_token,
      });
      assert.equal(retried.error, null);
      assert.equal(retried.data.session!.refresh_token, second.refresh_token);

      const third = await anonClient(stack).auth.refreshSession({
        refresh_token: second.refresh_token,
      });
      assert.equal(third.error, null);
      const thirdToken = third.data.session!.refresh_token;

      // The first token is now two generations old: replaying it is treated as theft.
      const replay = await anonClient(stack).auth.refreshSession({
        refresh_token: session.refresh_token,
      });
      expectApiError(
        replay.error,
        400,
        "refresh_token_already_used",
        "Invalid Refresh Token: Already Used",
      );
      const afterRevocation = await anonClient(stack).auth.refreshSession({
        refresh_token: thirdToken,
      });
      expectApiError(afterRevocation.error, 400, "refresh_token_already_used");

      const { rows } = await stack.sql.query<
        { revoked: boolean; parent: string | null; token: string }
      >(
        `SELECT revoked, parent, token FROM auth.refresh_tokens
        WHERE session_id = $1::uuid ORDER BY id`,
        [secondClaims!.session_id],
      );
      assert.deepEqual(rows.map((r) => r.revoked), [true, true, true]);
      assert.equal(rows[1]!.parent, rows[0]!.token);
      assert.equal(rows[2]!.parent, rows[1]!.token);

      const unknown = await anonClient(stack).auth.refreshSession({
        refresh_token: "not-a-real-token",
      });
      expectApiError(
        unknown.error,
        400,
        "refresh_token_not_found",
        "Invalid Refresh Token: Refresh Token Not Found",
      );
      const missing = await rawFetch(stack, "/token?grant_type=refresh_token", {
        method: "POST",
        headers: { apikey: stack.keys.anonKey },
        body: "{}",
      });
      assert.equal(missing.status, 400);
      assert.deepEqual(missing.body, {
        error: "invalid_request",
        error_description: "refresh_token required",
      });
    },
  );

  await t.step("concurrent refreshes of one token all receive the same next token", async () => {
    const { session } = await signedUpUser(stack);
    const results = await Promise.all(
      Array.from(
        { length: 4 },
        () => anonClient(stack).auth.refreshSession({ refresh_token: session.refresh_token }),
      ),
    );
    for (const result of results) assert.equal(result.error, null);
    assert.equal(new Set(results.map((r) => r.data.session!.refresh_token)).size, 1);
    const { rows } = await stack.sql.query<{ active: number }>(
      `SELECT count(*) FILTER (WHERE NOT revoked) AS active FROM auth.refresh_tokens
        WHERE session_id = (SELECT session_id FROM auth.refresh_tokens WHERE token = $1)`,
      [session.refresh_token],
    );
    assert.equal(rows[0]!.active, 1, "exactly one live refresh token per session");
  });

  await t.step("a banned user's refresh token stops working", async () => {
    const { session, user } = await signedUpUser(stack);
    const ban = await adminClient(stack).auth.admin.updateUserById(user.id, {
      ban_duration: "24h",
    });
    assert.equal(ban.error, null);
    assert.ok(ban.data.user!.banned_until);
    const refreshed = await anonClient(stack).auth.refreshSession({
      refresh_token: session.refresh_token,
    });
    expectApiError(refreshed.error, 400, "user_banned", "Invalid Refresh Token: User Banned");
  });

  await t.step("signOut ends the session: its token and refresh token stop working", async () => {
    const { client, session, email, password } = await signedUpUser(stack);
    const other = await anonClient(stack).auth.signInWithPassword({ email, password });
    assert.equal(other.error, null);

    const local = await anonClient(stack).auth.admin.signOut(
      other.data.session!.access_token,
      "local",
    );
    assert.equal(local.error, null);
    const stillValid = await client.auth.getUser(session.access_token);
    assert.equal(stillValid.error, null, "scope=local leaves other sessions alone");

    const { error } = await client.auth.signOut();
    assert.equal(error, null);
    const afterwards = await anonClient(stack).auth.getUser(session.access_token);
    assert.equal(afterwards.error?.name, "AuthSessionMissingError");
    const refresh = await anonClient(stack).auth.refreshSession({
      refresh_token: session.refresh_token,
    });
    expectApiError(refresh.error, 400, "refresh_token_not_found");

    const badScope = await rawFetch(stack, "/logout?scope=everyone", {
      method: "POST",
      headers: {
        apikey: stack.keys.anonKey,
        Authorization: `Bearer ${(await signedUpUser(stack)).session.access_token}`,
      },
    });
    assert.equal(badScope.status, 400);
  });

  await t.step("the apikey is required (401) and must be one of the project's keys", async () => {
    const missing = await rawFetch(stack, "/user");
    assert.equal(missing.status, 401);
    assert.equal(missing.body!.message, "No API key found in request");
    const invalid = await rawFetch(stack, "/user", { headers: { apikey: "sb_not_a_key" } });
    assert.equal(invalid.status, 401);
    assert.equal(invalid.body!.message, "Invalid API key");
    const viaQuery = await rawFetch(stack, `/health?apikey=${stack.keys.anonKey}`);
    assert.equal(viaQuery.status, 200);

    const forged = await sign({ role: "anon", iat: 1 }, stack.keys.jwtSecret, "HS256");
    const { error } = await anonClient(stack, forged).auth.signInWithPassword({
      email: "demo@example.com",
      password: "password123",
    });
    assert.equal(error?.status, 401);
    assert.equal(error?.message, "Invalid API key");
  });

  await t.step("admin endpoints need the service-role key", async () => {
    const asAnon = await anonClient(stack).auth.admin.listUsers();
    expectApiError(asAnon.error, 403, "not_admin", "User not allowed");
    const { session } = await signedUpUser(stack);
    const asUser = await rawFetch(stack, "/admin/users", {
      headers: { apikey: stack.keys.anonKey, Authorization: `Bearer ${session.access_token}` },
    });
    assert.equal(asUser.status, 403);
    assert.equal(asUser.body!.error_code, "not_admin");
    const noBearer = await rawFetch(stack, "/admin/users", {
      headers: { apikey: stack.keys.serviceRoleKey },
    });
    assert.equal(noBearer.status, 401);
    assert.equal(noBearer.body!.error_code, "no_authorization");
  });

  await t.step(
    "admin.createUser: confirmed users with metadata; duplicates and bad input refused",
    async () => {
      const admin = adminClient(stack).auth.admin;
      const email = uniqueEmail("admin");
      const { data, error } = await admin.createUser({
        email,
        password: "Sup3r-Secret!",
        email_confirm: true,
        user_metadata: { full_name: "Ada Lovelace" },
        app_metadata: { roles: ["editor"] },
      });
      assert.equal(error, null);
      assert.equal(data.user!.email, email.toLowerCase());
      assert.ok(data.user!.email_confirmed_at);
      assert.deepEqual(data.user!.app_metadata, {
        provider: "email",
        providers: ["email"],
        roles: ["editor"],
      });
      assert.deepEqual(data.user!.user_metadata, {
        full_name: "Ada Lovelace",
        email_verified: true,
      });
      const signIn = await anonClient(stack).auth.signInWithPassword({
        email,
        password: "Sup3r-Secret!",
      });
      assert.equal(signIn.error, null);

      const duplicate = await admin.createUser({
        email: email.toUpperCase(),
        password: "Sup3r-Secret!",
      });
      expectApiError(
        duplicate.error,
        422,
        "email_exists",
        "A user with this email address has already been registered",
      );
      const weak = await admin.createUser({ email: uniqueEmail(), password: "123" });
      expectApiError(weak.error, 422, "weak_password");
      const bad = await admin.createUser({ email: "nope", password: "Sup3r-Secret!" });
      expectApiError(bad.error, 400, "validation_failed");
      const nothing = await admin.createUser({ password: "Sup3r-Secret!" });
      expectApiError(
        nothing.error,
        400,
        "validation_failed",
        "Cannot create a user without either an email or phone",
      );
      const badBan = await admin.createUser({ email: uniqueEmail(), ban_duration: "forever" });
      expectApiError(badBan.error, 400, "validation_failed", /invalid format for ban duration/);
    },
  );

  await t.step("admin.getUserById / updateUserById / deleteUser", async () => {
    const admin = adminClient(stack).auth.admin;
    const { user, email, session } = await signedUpUser(stack);

    const fetched = await admin.getUserById(user.id);
    assert.equal(fetched.error, null);
    assert.equal(fetched.data.user!.email, email.toLowerCase());
    expectApiError(
      (await admin.getUserById(crypto.randomUUID())).error,
      404,
      "user_not_found",
      "User not found",
    );
    // supabase-js refuses a non-UUID before sending; GoTrue's own answer:
    const notUuid = await rawFetch(stack, "/admin/users/not-a-uuid", {
      headers: {
        apikey: stack.keys.serviceRoleKey,
        Authorization: `Bearer ${stack.keys.serviceRoleKey}`,
      },
    });
    assert.equal(notUuid.status, 404);
    assert.equal(notUuid.body!.error_code, "validation_failed");
    assert.equal(notUuid.body!.msg, "user_id must be an UUID");

    const newEmail = uniqueEmail("renamed");
    const updated = await admin.updateUserById(user.id, {
      email: newEmail,
      password: "N3w-Passw0rd!",
      user_metadata: { plan: null, nickname: "ada" },
      app_metadata: { tier: "gold" },
    });
    assert.equal(updated.error, null);
    assert.equal(updated.data.user!.email, newEmail.toLowerCase());
    assert.equal(updated.data.user!.user_metadata.nickname, "ada");
    assert.equal("plan" in updated.data.user!.user_metadata, false, "null removes a metadata key");
    assert.equal(updated.data.user!.app_metadata.tier, "gold");
    assert.equal(updated.data.user!.identities![0]!.identity_data!.email, newEmail.toLowerCase());
    // A new password ends every session.
    const oldRefresh = await anonClient(stack).auth.refreshSession({
      refresh_token: session.refresh_token,
    });
    assert.ok(oldRefresh.error);
    const relogin = await anonClient(stack).auth.signInWithPassword({
      email: newEmail,
      password: "N3w-Passw0rd!",
    });
    assert.equal(relogin.error, null);
    expectApiError(
      (await admin.updateUserById(crypto.randomUUID(), { user_metadata: {} })).error,
      404,
      "user_not_found",
    );

    const soft = await admin.deleteUser(user.id, true);
    assert.equal(soft.error, null);
    const softDeleted = await admin.getUserById(user.id);
    assert.ok(softDeleted.data.user!.deleted_at);
    const refused = await anonClient(stack).auth.signInWithPassword({
      email: newEmail,
      password: "N3w-Passw0rd!",
    });
    expectApiError(refused.error, 400, "invalid_credentials");
    const tokenAfterDelete = await anonClient(stack).auth.getUser(
      relogin.data.session!.access_token,
    );
    assert.ok(tokenAfterDelete.error, "a deleted user's access token no longer reads the user");

    const hard = await signedUpUser(stack);
    assert.equal((await admin.deleteUser(hard.user.id)).error, null);
    expectApiError((await admin.getUserById(hard.user.id)).error, 404, "user_not_found");
    const gone = await anonClient(stack).auth.signInWithPassword({
      email: hard.email,
      password: hard.password,
    });
    expectApiError(gone.error, 400, "invalid_credentials");
  });

  await t.step("admin.listUsers pages with GoTrue's Link and X-Total-Count headers", async () => {
    const admin = adminClient(stack).auth.admin;
    const { rows } = await stack.sql.query<{ total: number }>(
      "SELECT count(*) AS total FROM auth.users WHERE aud = 'authenticated'",
    );
    const total = rows[0]!.total;
    const perPage = Math.max(5, Math.ceil(total / 8)); // keep the last page a single digit
    const lastPage = Math.ceil(total / perPage);

    const seen = new Set<string>();
    for (let page = 1; page <= lastPage; page++) {
      const { data, error } = await admin.listUsers({ page, perPage });
      assert.equal(error, null);
      assert.equal(data.total, total);
      assert.equal(data.lastPage, lastPage);
      assert.equal(data.nextPage, page < lastPage ? page + 1 : null);
      assert.equal(data.users.length, page < lastPage ? perPage : total - perPage * (lastPage - 1));
      for (const user of data.users) seen.add(user.id);
    }
    assert.equal(seen.size, total, "pages neither overlap nor skip");

    const raw = await rawFetch(stack, `/admin/users?per_page=${perPage}&page=1`, {
      headers: {
        apikey: stack.keys.serviceRoleKey,
        Authorization: `Bearer ${stack.keys.serviceRoleKey}`,
      },
    });
    assert.equal(raw.status, 200);
    assert.equal(raw.body!.aud, "authenticated");
    assert.equal(raw.headers.get("x-total-count"), String(total));
    assert.equal(
      raw.headers.get("link"),
      `</auth/v1/admin/users?page=2&per_page=${perPage}>; rel="next", </auth/v1/admin/users?page=${lastPage}&per_page=${perPage}>; rel="last"`,
    );
    const badPage = await rawFetch(stack, "/admin/users?per_page=0", {
      headers: {
        apikey: stack.keys.serviceRoleKey,
        Authorization: `Bearer ${stack.keys.serviceRoleKey}`,
      },
    });
    assert.equal(badPage.status, 400);
    assert.equal(badPage.body!.error_code, "validation_failed");
  });
}
