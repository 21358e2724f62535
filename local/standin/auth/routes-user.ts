/**
 * The user-facing GoTrue endpoints supabase-js v2 calls: signUp (POST /signup),
 * signInWithPassword and refreshSession (POST /token), getUser (GET /user), signOut
 * (POST /logout); the confirmation mail's /verify and /resend are in routes-confirm.ts. Checks run
 * in GoTrue's order so each failure yields GoTrue's status and code.
 */
import { Hono } from "hono";
import { tokenResponse } from "./access-tokens.ts";
import { type AuthDeps, clientInfo, uniqueViolation } from "./deps.ts";
import { sendConfirmation } from "./confirmation.ts";
import { badRequest, OAuthStyleError, unprocessable } from "./errors.ts";
import { authenticate } from "./guards.ts";
import { checkPasswordStrength, hashPassword, verifyPassword } from "./passwords.ts";
import { createSession, endSessions, exchangeRefreshToken, parseLogoutScope } from "./sessions.ts";
import {
  DEFAULT_ROLE,
  emailInUse,
  findUserByEmail,
  findUserById,
  insertIdentity,
  insertUser,
  isBanned,
  recordSignIn,
  userJson,
} from "./users.ts";
import { type JsonObject, Params, readJsonObject, validateEmail } from "./validation.ts";

const INVALID_LOGIN = "Invalid login credentials";

export function userRoutes(deps: AuthDeps): Hono {
  const app = new Hono();

  app.get("/health", (c) =>
    c.json({
      version: "standin",
      name: "GoTrue",
      description: "edge-migrator's local GoTrue-compatible stand-in",
    }));

  app.get("/settings", (c) =>
    c.json({
      external: { email: true, phone: false },
      disable_signup: false,
      mailer_autoconfirm: deps.autoconfirm,
      phone_autoconfirm: false,
      sms_provider: "",
      saml_enabled: false,
    }));

  app.post("/signup", async (c) => {
    const params = new Params(await readJsonObject(c.req.raw), "SignupParams");
    const email = params.string("email");
    const phone = params.string("phone");
    const password = params.string("password");
    const data = params.object("data") ?? {};

    if (password === "") throw badRequest("validation_failed", "Signup requires a valid password");
    const weak = checkPasswordStrength(password, deps.minPasswordLength);
    if (weak) throw weak;
    if (email !== "" && phone !== "") {
      throw badRequest(
        "validation_failed",
        "Only an email address or phone number should be provided on signup.",
      );
    }
    if (phone !== "") throw badRequest("phone_provider_disabled", "Phone signups are disabled");
    if (email === "") {
      throw badRequest("validation_failed", "Sign up only available with email provider");
    }
    const normalized = validateEmail(email);

    if (await emailInUse(deps.sql, normalized, deps.audience)) {
      // supabase/auth internal/api/signup.go: a confirmed address is UserExistsError, answered
      // 422 `user_already_exists` with autoconfirm and otherwise with sanitizeUser's look-alike
      // (200, random id, empty identities, never stored) so the endpoint does not reveal which
      // addresses are registered. An unconfirmed one is left untouched ("we can't be sure of
      // their claimed identity"), the confirmation mail is re-sent and the stored user is
      // answered as it is (200, its own id and identities, no session).
      // Unlike GoTrue we never confirm-and-log-in an existing unconfirmed account with
      // autoconfirm on: that would hand a session to whoever signs up with someone else's address.
      if (deps.autoconfirm) throw unprocessable("user_already_exists", "User already registered");
      const existing = await findUserByEmail(deps.sql, normalized, deps.audience);
      if (
        deps.profile === "hosted" && existing && !existing.deletedAt && !existing.emailConfirmedAt
      ) {
        // signup.go: sendConfirmation again (within SMTP MaxFrequency: 429).
        await deps.sql.transaction((tx) => sendConfirmation(deps.confirmation, tx, existing));
        return c.json(userJson((await findUserById(deps.sql, existing.id)) ?? existing));
      }
      return c.json(obfuscatedSignupUser(normalized, data, deps.audience));
    }

    // Hashing is slow (bcrypt cost 10): done before the transaction, as GoTrue does.
    const encryptedPassword = await hashPassword(password);
    const id = crypto.randomUUID();
    const identityData = {
      sub: id,
      email: normalized,
      email_verified: false,
      phone_verified: false,
    };
    // GoTrue copies the identity's data (plus the signup `data`) into user_metadata, then
    // Confirm() marks email_verified there.
    const userMetadata: JsonObject = {
      ...data,
      ...identityData,
      email_verified: deps.autoconfirm,
    };
    const result = await deps.sql.transaction(async (tx) => {
      await insertUser(tx, {
        id,
        email: normalized,
        encryptedPassword,
        aud: deps.audience,
        role: DEFAULT_ROLE,
        appMetadata: { provider: "email", providers: ["email"] },
        userMetadata,
        emailConfirmed: deps.autoconfirm,
      });
      await insertIdentity(tx, id, "email", { ...data, ...identityData });
      if (!deps.autoconfirm) {
        // signup.go → mail.go sendConfirmation: token stored, mail sent, inside the transaction.
        await sendConfirmation(deps.confirmation, tx, {
          id,
          email: normalized,
          confirmationSentAt: null,
        });
        return null;
      }
      const opened = await createSession(tx, id, clientInfo(c));
      await recordSignIn(tx, id);
      return opened;
    }).catch((error) => {
      if (uniqueViolation(error)) {
        throw unprocessable("user_already_exists", "User already registered");
      }
      throw error;
    });

    const user = await findUserById(deps.sql, id);
    if (!user) throw new Error("user vanished right after signup");
    if (!result) return c.json(userJson(user));
    return c.json(await tokenResponse(deps.tokens, user, result.session, result.refreshToken));
  });

  app.post("/token", async (c) => {
    const grantType = c.req.query("grant_type") ?? "";
    if (grantType === "password") {
      return c.json(await passwordGrant(deps, c.req.raw, clientInfo(c)));
    }
    if (grantType === "refresh_token") {
      const params = new Params(await readJsonObject(c.req.raw), "RefreshTokenGrantParams");
      const presented = params.string("refresh_token");
      if (presented === "") throw new OAuthStyleError("invalid_request", "refresh_token required");
      const exchanged = await exchangeRefreshToken(deps.sql, presented, {
        reuseIntervalSeconds: deps.refreshTokenReuseIntervalSeconds,
        client: clientInfo(c),
      });
      return c.json(
        await tokenResponse(deps.tokens, exchanged.user, exchanged.session, exchanged.refreshToken),
      );
    }
    throw badRequest("invalid_credentials", "unsupported_grant_type");
  });

  app.get("/user", async (c) => {
    const { user } = await authenticate(
      deps.sql,
      c.req.header("authorization"),
      deps.keySet,
    );
    return c.json(userJson(user));
  });

  app.post("/logout", async (c) => {
    const { user, session } = await authenticate(
      deps.sql,
      c.req.header("authorization"),
      deps.keySet,
    );
    const scope = parseLogoutScope(c.req.query("scope") ?? null);
    await endSessions(deps.sql, user.id, session?.id ?? null, scope);
    return c.body(null, 204);
  });

  return app;
}

async function passwordGrant(
  deps: AuthDeps,
  request: Request,
  client: ReturnType<typeof clientInfo>,
): Promise<JsonObject> {
  const params = new Params(await readJsonObject(request), "PasswordGrantParams");
  const email = params.string("email");
  const phone = params.string("phone");
  const password = params.string("password");
  if (email !== "" && phone !== "") {
    throw badRequest(
      "validation_failed",
      "Only an email address or phone number should be provided on login.",
    );
  }
  if (phone !== "") throw unprocessable("phone_provider_disabled", "Phone logins are disabled");
  if (email === "") throw badRequest("validation_failed", "missing email or phone");

  const user = await findUserByEmail(deps.sql, email, deps.audience);
  // Unknown, soft-deleted and password-less accounts all look the same from outside.
  if (!user || user.deletedAt || !user.encryptedPassword) {
    throw badRequest("invalid_credentials", INVALID_LOGIN);
  }
  if (isBanned(user)) throw badRequest("user_banned", "User is banned");
  if (!(await verifyPassword(password, user.encryptedPassword))) {
    throw badRequest("invalid_credentials", INVALID_LOGIN);
  }
  if (!user.emailConfirmedAt) throw badRequest("email_not_confirmed", "Email not confirmed");

  const opened = await deps.sql.transaction(async (tx) => {
    const session = await createSession(tx, user.id, client);
    await recordSignIn(tx, user.id);
    return session;
  });
  const signedIn = (await findUserById(deps.sql, user.id)) ?? user;
  // GoTrue lets a password that predates the current policy in, but says so.
  const weak = checkPasswordStrength(password, deps.minPasswordLength);
  const extra = weak?.errorCode === "weak_password"
    ? { weak_password: { message: weak.message, reasons: ["length"] } }
    : {};
  return await tokenResponse(deps.tokens, signedIn, opened.session, opened.refreshToken, extra);
}

/** GoTrue's sanitizeUser: a plausible, unconfirmed, never-stored user. */
function obfuscatedSignupUser(email: string, data: JsonObject, aud: string): JsonObject {
  const now = new Date().toISOString();
  return {
    id: crypto.randomUUID(),
    aud,
    role: "",
    email,
    phone: "",
    confirmation_sent_at: now,
    app_metadata: { provider: "email", providers: ["email"] },
    user_metadata: data,
    identities: [],
    created_at: now,
    updated_at: now,
    is_anonymous: false,
  };
}
